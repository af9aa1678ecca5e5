
format=csv&from=2026-03-01T08:00:00.250Z
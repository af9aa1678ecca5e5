// Builders of edits and batches for tests: realistic enough, deterministic from a seed.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "sync/record.hpp"
#include "sync/wire.hpp"

namespace akt::test {

// A deterministic UUID (v4 layout) from a number, readable in failures: 00000000-0000-4000-8000-<n>.
std::string uuid_n(std::uint64_t n);
// A UUIDv7 from a time and a counter.
std::string uuid7(std::uint64_t ms, std::uint64_t counter);

// An edit of `record` by `actor` with counter `n`, seen context `ctx`, setting `body` (a JSON object text).
sync::Edit make_edit(const std::string& record, const std::string& actor, std::int64_t n,
                     const sync::VectorClock& ctx, const std::string& body,
                     std::vector<std::string> changed = {});

}  // namespace akt::test

// `aktsyncd migrate-to-postgres` (README "Moving to PostgreSQL"): copies a stopped SQLite server's
// database into an empty PostgreSQL database, verifies the copy, and says what to change in the config.
// The attachment files are copied into the database too (docs/STORE.md §12); the pseudonym key stays in
// the data folder, which the server on PostgreSQL keeps using (docs/STORE.md §10). And the PostgreSQL
// part of `aktsyncd --check-config`.
#pragma once

#include <string>
#include <vector>

#include "sync/status.hpp"

namespace akt::server {

struct Config;

// Exit codes: 0 copied and verified; 1 PostgreSQL unreachable, an I/O or database failure, or the copy did
// not verify (rolled back: the target stays empty); 2 bad arguments, config, url or SQLite database;
// 3 the server is running on the data folder; 4 the target database is not empty.
// `args` are the words after "migrate-to-postgres": [--url URL] plus the server's config flags (--config
// FILE, --data-dir DIR); without --url, the config's store.url.
int run_migrate_to_postgres(const std::vector<std::string>& args);

// For --check-config on a PostgreSQL store: connects, reads PostgreSQL's version and the schema version;
// OK with a one-line summary (never the password) when the server could start on it.
Result<std::string> check_postgres_store(const Config& config);

}  // namespace akt::server

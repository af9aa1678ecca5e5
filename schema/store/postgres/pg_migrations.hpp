// The PostgreSQL engine's schema: its own numbered migrations (not SQLite's: the types and DDL differ),
// recorded in the table schema_migrations. Released migrations are never edited.
#pragma once

#include <cstdint>

#include "schema/store/postgres/pg_conn.hpp"

namespace akt::store::pg {

std::int64_t latest_schema_version();
// The highest migration applied (0 on an empty database).
Result<std::int64_t> schema_version(PgConn& conn);
// Applies every missing migration, each in its own transaction under an advisory lock, so several
// servers starting at once on one database apply each migration once. kCorruption when the database is
// newer than this build.
Status migrate(PgConn& conn);

}  // namespace akt::store::pg

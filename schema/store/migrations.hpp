// Schema migrations of the server store, tracked in PRAGMA user_version. Released migrations are
// never edited; a change is a new migration appended to the list.
#pragma once

#include "schema/store/db.hpp"

namespace akt::store {

struct Migration {
  int version;
  const char* sql;
};

// Applies every migration newer than the database's user_version, each in its own transaction.
// kCorruption when the database is newer than this binary knows.
Status migrate(Db& db);
int latest_schema_version();
// The schema version the database is at (PRAGMA user_version).
Result<std::int64_t> schema_version(Db& db);

}  // namespace akt::store

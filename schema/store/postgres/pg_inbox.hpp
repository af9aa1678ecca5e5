// The conflict inbox's reads on PostgreSQL: the same contract as inbox_store.hpp (the SQLite engine's).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "schema/store/postgres/pg_conn.hpp"
#include "schema/store/store_types.hpp"

namespace akt::store::pg {

// Entries matching `f`, newest first (by id), at most f.limit; the scope is the record's current one.
Result<std::vector<InboxEntry>> list_inbox(PgConn& c, const InboxFilter& f);
Result<std::optional<InboxEntry>> get_inbox_entry(PgConn& c, std::int64_t id);
// Closes the open entry `id` with the choice made (resolved_by `by`), refreshes its record's flags and
// gives the record the next feed number (stamped as a push's, docs/STORE.md §7). Takes the record's lock
// first, as a push does. kConflict when the entry is not open (also: another server closed it first).
Status close_inbox_entry(PgConn& c, std::int64_t id, const std::string& by, const std::string& resolution_json,
                         std::int64_t now);

}  // namespace akt::store::pg

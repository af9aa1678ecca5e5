// The conflict inbox's reads on PostgreSQL: the same contract as inbox_store.hpp (the SQLite engine's).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "schema/store/postgres/pg_conn.hpp"
#include "schema/store/store_types.hpp"

namespace akt::store::pg {

// Entries matching `f`, newest first (by id), at most f.limit; the scope is the record's current one.
Result<std::vector<InboxEntry>> list_inbox(PgConn& c, const InboxFilter& f);
Result<std::optional<InboxEntry>> get_inbox_entry(PgConn& c, std::int64_t id);

}  // namespace akt::store::pg

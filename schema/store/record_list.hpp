// The submissions list (PROTOCOL §11.9): live records, newest first, filtered and paged by record id.
// Functions over a Db inside the caller's read transaction (ServerStore::read). Who may see which row
// (scope, redaction) is the caller's decision, through `keep`.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "schema/store/db.hpp"
#include "schema/store/store_types.hpp"
#include "sync/access.hpp"

namespace akt::store {



// Up to `limit` rows that match `filter` and that `keep` accepts, ordered by record id descending
// (UUIDv7: the time the tablet created the record). Deleted records are left out. `*more` is set when
// rows beyond the page may match (pass the last row's id as `before` for the next page).
Result<std::vector<RecordListRow>> list_records(Db& db, const RecordListFilter& filter, std::size_t limit,
                                                const std::function<bool(const RecordListRow&)>& keep,
                                                bool* more);

}  // namespace akt::store

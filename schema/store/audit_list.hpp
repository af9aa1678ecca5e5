// The audit log filtered in the store (PROTOCOL §9.9): by who, what and when, newest first, paged by id.
// Functions over a Db inside the caller's read transaction (ServerStore::read).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "schema/store/accounts_store.hpp"
#include "schema/store/db.hpp"
#include "schema/store/store_types.hpp"

namespace akt::store {


// Up to `limit` entries matching `filter` with an id below `before_id` (0 = from the newest), newest first.
Result<std::vector<AuditRow>> list_audit(Db& db, const AuditFilter& filter, std::int64_t before_id, std::size_t limit);

}  // namespace akt::store

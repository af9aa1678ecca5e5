// The audit log filtered in the store (PROTOCOL §9.9): by who, what and when, newest first, paged by id.
// Functions over a Db inside the caller's read transaction (ServerStore::read).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "schema/store/accounts_store.hpp"
#include "schema/store/db.hpp"

namespace akt::store {

struct AuditFilter {
  std::optional<std::string> username;  // exactly this actor ("" = anonymous); nullopt = anyone
  std::string action;                   // "" = any
  std::int64_t from_ms = 0, to_ms = 0;  // `at` in [from_ms, to_ms); 0 = open end
};

// Up to `limit` entries matching `filter` with an id below `before_id` (0 = from the newest), newest first.
Result<std::vector<AuditRow>> list_audit(Db& db, const AuditFilter& filter, std::int64_t before_id, std::size_t limit);

}  // namespace akt::store

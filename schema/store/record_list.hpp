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
#include "sync/access.hpp"

namespace akt::store {

struct RecordListFilter {
  std::string form, municipality, component;  // "" = any
  std::string review;                         // "" = any; a record without review_status is "submitted"
  std::string submitted_by;                   // "" = any; the username of the first version's device
  std::int64_t from_ms = 0, to_ms = 0;        // created_at in [from_ms, to_ms); 0 = open end
  std::optional<bool> conflicted;             // nullopt = any
  std::string before;                         // canonical UUID: only records whose id sorts below it
};

struct RecordListRow {
  std::string record_id, form_id;
  std::int64_t form_version = 0;
  sync::Scope scope;
  std::int64_t seq = 0, created_at = 0, updated_at = 0;
  std::string review;        // review_status of the live version ("submitted" when unset)
  std::string clock;         // the live version's clock, canonical JSON (a review's `seen`)
  std::string submitted_by;  // username of the device that sent the first version ("" = none known)
  std::string device;        // that device's name
  bool conflicted = false;   // open conflicted paths
};

// Up to `limit` rows that match `filter` and that `keep` accepts, ordered by record id descending
// (UUIDv7: the time the tablet created the record). Deleted records are left out. `*more` is set when
// rows beyond the page may match (pass the last row's id as `before` for the next page).
Result<std::vector<RecordListRow>> list_records(Db& db, const RecordListFilter& filter, std::size_t limit,
                                                const std::function<bool(const RecordListRow&)>& keep,
                                                bool* more);

}  // namespace akt::store

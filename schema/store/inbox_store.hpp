// The conflict inbox (migration 4): listing, reading and closing entries. Functions over a Db inside
// the caller's transaction (ServerStore::read / write); entries are opened by the merge (merge_apply).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "schema/store/db.hpp"
#include "sync/record.hpp"

namespace akt::store {

struct InboxEntry {
  std::int64_t id = 0;
  std::string record_id, kind, path, status;
  std::string ancestor_json;    // "" when absent
  std::string candidates_json;  // JSON array
  std::string form_id;
  sync::Scope scope;
  std::int64_t opened_at = 0, updated_at = 0, resolved_at = 0;
  std::string resolved_by, resolution_json;
  std::string detail_json = "{}";  // kind-specific (semantic: rules broken, provisional values)
};

struct InboxFilter {
  std::string status = "open";  // open, resolved, or "" for both
  std::string kind, form_id, municipality;
  std::int64_t opened_before = 0;  // ms; 0 = any age
  std::int64_t before_id = 0;      // paging: entries with a smaller id
  std::size_t limit = 100;
};

Result<std::vector<InboxEntry>> list_inbox(Db& db, const InboxFilter& filter);
Result<std::optional<InboxEntry>> get_inbox_entry(Db& db, std::int64_t id);
// Marks the entry resolved with the choice made, recomputes the record's open conflicted paths, and
// gives the record the next feed position so that devices see the flag go.
Status close_inbox_entry(Db& db, std::int64_t id, const std::string& by, const std::string& resolution_json,
                         std::int64_t now, std::int64_t& next_seq);
// Recomputes the record row's flags from its open entries: `conflicted` = the paths of open field entries
// and the fields of open semantic entries (sorted, unique), `deletion_pending` = an open delete_edit.
Status refresh_record_flags(Db& db, const std::string& id_blob);

// Device and user behind an actor id ("" when unknown), for showing candidates.
Result<std::pair<std::string, std::string>> device_of(Db& db, const std::string& actor);

}  // namespace akt::store

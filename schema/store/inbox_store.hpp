// The conflict inbox (migration 4): listing, reading and closing entries. Functions over a Db inside
// the caller's transaction (ServerStore::read / write); entries are opened by the merge (merge_apply).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "schema/store/db.hpp"
#include "schema/store/store_types.hpp"
#include "sync/record.hpp"

namespace akt::store {



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

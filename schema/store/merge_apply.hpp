// Merging a record's live siblings into one server version inside the writer's transaction (DESIGN §3
// step 3, §4), and keeping the conflict inbox in step. Internal to akt_store.
#pragma once

#include <cstdint>
#include <string>

#include "schema/store/db.hpp"
#include "schema/store/server_store.hpp"

namespace akt::store {

// Merges the live versions of the record `id_blob` (there are several) with sync::merge: plans the
// ancestor and side histories from the stored versions, writes the merged version by `server_actor`,
// retires the siblings, opens or extends inbox entries, and updates the record row with the next feed
// sequence number. Fills r.outcome (kMerged), r.seq, r.live and r.conflicts.
Status merge_record(Db& db, const PushInput& in, const std::string& id_blob, const std::string& record_id,
                    const std::string& server_actor, std::int64_t& next_seq, sync::EditResult& r);

// A device edit that fast-forwarded a record with open entries (it saw the flags) joins them (DESIGN §4):
// a `field` entry whose path it set gets its value as a candidate, an open `delete_edit` gets it as a
// deletion or a keep; one candidate per device line (its own earlier candidate goes). Tablets do not
// close entries while a disagreement remains; an entry whose candidates then all agree is settled by
// agreement (closed, `closed_by: agreement`). Refreshes the record's flags.
Status join_open_entries(Db& db, const PushInput& in, const std::string& id_blob, const sync::Edit& edit,
                         const std::string& server_actor);

// The live body of a record with exactly one live, non-deleted version (nullopt otherwise, or when the
// record does not exist): what a device edit is compared with by hold_edit().
Result<std::optional<std::string>> single_live_body(Db& db, const std::string& id_blob);

// After a device edit was applied or merged (DESIGN §4, conflicts.md scenarios 2 and 8): when the record
// was approved (`before` has review_status "approved"), every field the edit changed goes back to its
// approved value and a `locked_change` entry holds the change; otherwise fields with the admin-only policy
// that the edit changed go back and a `permission` entry holds them. Going back is a new version by the
// server replica that dominates the edit, so every device converges on it; the edit stays in the history
// and in the entry. Fills r.held / r.held_kind, r.seq.
Status hold_edit(Db& db, const PushInput& in, const std::string& id_blob, const std::string& before,
                 const sync::Edit& edit, const std::string& server_actor, std::int64_t& next_seq,
                 sync::EditResult& r);

// After a device edit was applied: records the record's uniqueness key `key` (see PushInput::unique_keys)
// and, when other live records of the form have the same key, opens (or extends) a `duplicate_candidate`
// entry on this record listing them all (conflicts.md scenario 7: never merged, both kept). A deletion
// removes the key.
Status track_unique_key(Db& db, const PushInput& in, const std::string& id_blob, const sync::Edit& edit,
                        const std::string& key, const sync::EditResult& r);

}  // namespace akt::store

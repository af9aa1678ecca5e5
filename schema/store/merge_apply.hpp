// Merging a record's live siblings into one server version (DESIGN §3 step 3, §4), holding device edits
// an admin must see, tracking uniqueness keys, and keeping the conflict inbox in step. Part of the push
// engine: runs over the push port (push_port.hpp) inside the writer's transaction; no SQL here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "schema/store/push_engine.hpp"

namespace akt::store {

// Merges the live versions of the record (there are several) with sync::merge: plans the ancestor and
// side histories from the stored versions, writes the merged version by the server actor, retires the
// siblings, opens or extends inbox entries, and moves the record to the next feed sequence number.
// Fills r.outcome (kMerged), r.seq, r.live and r.conflicts.
Status merge_record(PushPort& port, const PushInput& in, const PushContext& ctx, const std::string& record_id,
                    std::int64_t& next_seq, sync::EditResult& r);

// A device edit that fast-forwarded a record with open entries (it saw the flags) joins them (DESIGN §4):
// a `field` entry whose path it set gets its value as a candidate, an open `delete_edit` gets it as a
// deletion or a keep; one candidate per device line (its own earlier candidate goes). Tablets do not
// close entries while a disagreement remains; an entry whose candidates then all agree is settled by
// agreement (closed, `closed_by: agreement`). Refreshes the record's flags.
Status join_open_entries(PushPort& port, const PushInput& in, const PushContext& ctx, const std::string& record_id,
                         const sync::Edit& edit);

// The live body of a record with exactly one live, non-deleted version (nullopt otherwise, or when the
// record does not exist): what a device edit is compared with by hold_edit().
Result<std::optional<std::string>> single_live_body(PushPort& port, const std::string& record_id);

// After a device edit was applied or merged (DESIGN §4, conflicts.md scenarios 2 and 8): when the record
// was approved (`before` has review_status "approved"), every field the edit changed goes back to its
// approved value and a `locked_change` entry holds the change; otherwise fields with the admin-only policy
// that the edit changed go back and a `permission` entry holds them. Going back is a new version by the
// server replica that dominates the edit, so every device converges on it; the edit stays in the history
// and in the entry. Fills r.held / r.held_kind, r.seq.
Status hold_edit(PushPort& port, const PushInput& in, const PushContext& ctx, const std::string& before,
                 const sync::Edit& edit, std::int64_t& next_seq, sync::EditResult& r);

// After a device edit was applied: records the record's uniqueness key `key` (see PushInput::unique_keys)
// and, when other live records of the form have the same key, opens (or extends) a `duplicate_candidate`
// entry on this record listing them all (conflicts.md scenario 7: never merged, both kept). A deletion
// removes the key.
Status track_unique_key(PushPort& port, const PushInput& in, const sync::Edit& edit, const std::string& key,
                        const sync::EditResult& r);

// Recomputes the record's flags from its open entries: `conflicted` = the paths of open field entries
// and the fields of open semantic entries (sorted, unique), `deletion_pending` = an open delete_edit.
Status refresh_flags(PushPort& port, const std::string& record_id);

}  // namespace akt::store

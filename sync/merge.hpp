// The three-way field merge of DESIGN §4 as pure functions: siblings + ancestor + side histories ->
// one merged version (body, field conflicts, deletion pending, clock, parents). No I/O, no clock, no
// randomness; the store loads rows, calls plan_merge() then merge(), and writes what comes back.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sync/record.hpp"
#include "sync/status.hpp"
#include "sync/vector_clock.hpp"

namespace akt::sync {

// ---- Schema: what the merge needs to know of the form (filled from forms::FormDef by the caller) ----

// kDefault: field-level rules. kSetUnion: a select_multiple (JSON array of codes); concurrent additions
// and removals relative to the ancestor combine (see merge()). kAdminOnly: merged like kDefault; the
// role check is the push path's job (a `permission` entry before the version is stored), because the
// merge sees versions, not roles. kComputed: a `calculate` field; never a conflict (differing values
// keep the provisional one), because the caller recomputes it from the merged answers afterwards.
enum class FieldPolicy { kDefault, kSetUnion, kAdminOnly, kComputed };

// A top-level key holding a repeat group: a JSON array of objects, each with a stable id under `item_id`.
struct RepeatGroup {
  std::string item_id;                          // e.g. "visit_id"
  std::map<std::string, FieldPolicy> policies;  // item field key -> policy; absent = kDefault
};

struct MergeSchema {
  std::map<std::string, FieldPolicy> policies;  // top-level key -> policy; absent = kDefault
  std::map<std::string, RepeatGroup> repeats;   // top-level key -> group, e.g. "visit"
};

// ---- Planning: pick the ancestor and each side's history from the record's version graph ----

// Pointwise minimum: what every clock has seen. Empty input -> empty clock.
VectorClock meet(const VectorClock& a, const VectorClock& b);
VectorClock meet(const std::vector<VectorClock>& clocks);

struct VersionRef {
  Dot dot;
  VectorClock clock;
};

struct MergePlan {
  std::vector<Dot> siblings;                // sorted by dot, duplicates removed
  std::optional<Dot> ancestor;              // absent: no common ancestor
  std::vector<std::vector<Dot>> histories;  // parallel to `siblings`; each sorted by dot, sibling included
};

// Given every stored version of one record and the dots of its live siblings, picks:
// - the ancestor: among versions whose clock <= meet(sibling clocks), one not dominated by another
//   (several such, a criss-cross: the greatest dot); none when no version is <= the meet;
// - sibling s's history: versions v with v.clock <= s.clock and NOT v.clock <= ancestor.clock (all
//   versions <= s.clock when there is no ancestor). This equals ancestor.clock < v.clock <= s.clock when
//   every version is comparable with the ancestor, and also counts criss-cross versions the ancestor missed.
// Fails (kInvalidArgument) when a sibling dot is not among `versions` or `siblings` is empty.
Result<MergePlan> plan_merge(const std::vector<VersionRef>& versions, const std::vector<Dot>& siblings);

// ---- Merge ----

struct MergeSide {
  Version sibling;               // the live version
  std::vector<Version> history;  // the plan's history for it (the sibling may be omitted; it is added)
};

// One candidate of a field conflict: the value a version's own edit set.
struct Candidate {
  std::optional<std::string> value;  // canonical JSON text; nullopt = absent (removed)
  Dot dot;                           // the version whose edit set it
  std::vector<Dot> sides;            // sibling dots whose history holds that version (sorted)
  friend bool operator==(const Candidate&, const Candidate&) = default;
};

// The path of the `_deleted` candidates (a `delete_edit` entry) in MergeInput::open and
// MergeResult::settled; candidate values are "true" (the version deletes) or "false" (it keeps).
inline const std::string kDeletedPath = "";

struct MergeInput {
  std::vector<MergeSide> sides;     // the live siblings, in any order; equal duplicates are ignored
  std::optional<Version> ancestor;  // the plan's ancestor (body needed), or none
  std::string provisional;          // body of the record's single live version before the concurrent
                                    // edit arrived: a conflicted field keeps its value
  std::string server_actor;         // the server replica's actor id
  std::int64_t server_counter = 0;  // its next counter: the merged version's dot
  // The record's open entries (field paths, and kDeletedPath for delete_edit) with the candidates they
  // hold: when the sides bring candidates for such a path, the entry's candidates join them, so an open
  // entry keeps every side that ever reached it whatever the arrival order (DESIGN §4, §7.2).
  std::map<std::string, std::vector<Candidate>> open;
  std::map<Dot, VectorClock> clocks;  // clocks of the record's versions (open candidates are looked up)
  std::set<std::string> deciders;     // actors whose versions decide what they saw (an admin's resolution)
};

// A `field` entry: a path set to different values on several sides (or inside one side that already
// held an unresolved conflict). Paths: "key", "group[item id]" (the item itself: removed on one side,
// kept or edited on another; candidate values are whole items), "group[item id].field".
struct FieldConflict {
  std::string path;
  std::optional<std::string> ancestor;  // canonical JSON text; nullopt = absent or no ancestor
  std::vector<Candidate> candidates;    // >= 2, sorted by dot
  friend bool operator==(const FieldConflict&, const FieldConflict&) = default;
};

// A `delete_edit` entry: the device versions since the ancestor that delete, and those that keep, one
// per device line (narrow_candidates), joined with the open entry's; both groups non-empty.
struct DeleteEdit {
  std::vector<Candidate> candidates;  // value "true" (deletes) or "false" (keeps); sorted by dot
  friend bool operator==(const DeleteEdit&, const DeleteEdit&) = default;
};

struct MergeResult {
  std::string body;                      // canonical minified JSON object ("{}" when deleted)
  std::vector<FieldConflict> conflicts;  // sorted by path
  std::optional<DeleteEdit> delete_edit; // set <=> the record is kept but deletion-pending
  bool deleted = false;                  // every sibling is a tombstone: the merge is a tombstone
  Dot dot;                               // {server_actor, server_counter}
  VectorClock clock;                     // join of the siblings' clocks plus the server dot
  std::vector<Dot> parents;              // the siblings' dots, sorted
  std::vector<std::string> changed;      // paths whose value the merge itself made (set unions that
                                         // no single edit set); never a conflicted path. Auto-merged
                                         // values stay attributed to the edits that set them.
  std::vector<std::string> settled;      // paths of MergeInput::open whose candidates now all agree
                                         // (kDeletedPath included): settled by agreement, sorted
  std::map<std::string, std::vector<Candidate>> agreed;  // settled path -> its candidates, narrowed
                                                         // (narrow_candidates): every one holds one value
  bool deletion_pending() const { return delete_edit.has_value(); }
  friend bool operator==(const MergeResult&, const MergeResult&) = default;
};

// Merges the siblings field by field against the ancestor (DESIGN §4; rules and invariants in the notes
// at the top of merge.cpp). A side changed a path if a non-deleted version of its history lists in
// `changed` that path, a path above it ("visit" covers "visit[V-a].x") or below it; its value is what its
// latest such versions set. Per path: no side changed it -> the ancestor's value; all candidates agree
// -> that value; otherwise a FieldConflict and the provisional value (kSetUnion with an ancestor never
// conflicts: it combines). No ancestor -> each side without a setter offers its sibling's value, so every
// differing path conflicts. Never decided by any time. The result does not depend on the order of
// `sides` or of histories, except through `provisional` (only conflicted paths read it).
// Fails (kInvalidArgument) without sides, with an empty server actor, a counter <= 0 or already covered
// by a sibling clock, or two different versions with one dot; (kCorruption) when a body is not a JSON
// object. Never throws.
Result<MergeResult> merge(const MergeInput& input, const MergeSchema& schema);

// One candidate per device line (DESIGN §4), in place: candidates with one dot collapse (their sides
// united); of a device line's candidates (one actor other than `server_actor`: a device's edits of a
// record are causally ordered) only the latest stays, so a later edit replaces its line's earlier one
// and an earlier one arriving late adds nothing; a candidate whose version a decider's candidate has
// seen (clock <=) goes: the admin decided against it. Server versions are never replaced by their line.
// Result sorted by dot. Clocks missing from `clocks` never dominate.
void narrow_candidates(std::vector<Candidate>& cands, const std::map<Dot, VectorClock>& clocks,
                       const std::string& server_actor, const std::set<std::string>& deciders);

// The value at `path` ("key", "group[item id]", "group[item id].field") of a JSON object body, as
// canonical JSON text; nullopt when absent or the body is not an object. Repeat groups per `schema`.
std::optional<std::string> value_at_path(const std::string& body, const std::string& path, const MergeSchema& schema);

}  // namespace akt::sync

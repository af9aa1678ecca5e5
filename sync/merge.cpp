// The three-way field merge of DESIGN §4: input checks, deletion, clock and parents. Pure: no I/O, no
// clock, no randomness; the field engine is merge_fields.cpp. nlohmann stays inside merge*.cpp.
/*
** Design notes
**
** Inputs (merge.hpp): the live siblings, each with its side history (versions since the ancestor that
** the sibling has seen), the ancestor (or none), the provisional body (what the server already had) and
** the server's next dot. Output: one new version by the server; conflicts are data, not errors.
**
**   siblings s1..sk ──plan_merge──> ancestor A, histories H(si) ──merge──> body, conflicts,
**                                                                          delete_edit, clock, parents
**
** Invariants (cited as [Mn] in merge_fields.cpp):
**  M1 Determinism. Sides are sorted by sibling dot, histories by dot, candidates by dot, conflicts by
**     path, keys by name (nlohmann's sorted objects); nothing reads a time. The result is a function of
**     the SET of sides, the ancestor, the provisional body and the server dot. Only conflicted paths read
**     the provisional body, so only their values may depend on arrival order.
**  M2 "Changed" means listed: a side changed path p iff a non-deleted version in its history lists p, a
**     path above p or a path below p in `changed`. Changed-and-changed-back is a change; a value that
**     differs from the ancestor without being listed is not.
**  M3 A side's value for p is what its latest setters of p set (setters not dominated within the side),
**     never its sibling's current body: a sibling that is itself an earlier merge with p conflicted offers
**     that merge's candidates again, not the provisional value. Candidates are versions, deduplicated by
**     dot across sides, each naming every side that holds it.
**  M4 Per path: no candidate -> the ancestor's value; one distinct value (one side, or several sides
**     agreeing) -> that value; several -> one FieldConflict listing every candidate, and the provisional
**     value. No same-path divergence is ever settled without a conflict (no false merge), and a path one
**     side changed always takes that side's value (no lost edit). Never last-writer-wins.
**  M5 kSetUnion with an ancestor never conflicts: result = (ancestor - every side's removals) + every
**     side's additions, removal/addition relative to the ancestor. A code one side removed is gone even if
**     another side kept it; a code one side added is in even if another side never had it. Without an
**     ancestor, or when a value is not an array, the default rule (M4) applies.
**  M6 Repeat groups (schema.repeats) merge per item id, when every body holds null or an array of
**     objects with distinct string ids (otherwise the group is one plain field). Item presence is its own
**     path "key[id]": removed on one side and kept or edited on another -> one conflict whose candidate
**     values are whole items, and the provisional item is kept whole. Items are ordered by item id, so
**     the order never depends on which siblings met first. Nested repeats inside an item merge as one
**     field value.
**  M7 An item the ancestor lacks is set whole by the versions that touched any path of it; a side that
**     never held it cannot remove it.
**  M8 No ancestor: each side without a setter of p offers its sibling's value, so every differing path
**     conflicts (DESIGN §4) and equal values merge.
**  M9 Deletion: all siblings tombstones -> the merge is a tombstone ("{}"). Some -> the record is kept,
**     fields merge from every non-deleted version, and a DeleteEdit names both groups (deletion pending).
**  M10 Clock = join of the siblings' clocks + the server dot; parents = the sibling dots. The server
**     counter must exceed what the join already holds for the server actor, so the new dot is fresh.
**  M11 `changed` of the merged version lists only paths the merge made up (set unions). Auto-merged values
**     stay attributed to the edits that set them; listing a conflicted path would let the merge version
**     shadow the candidates in later merges (M3), so it never is.
**  M12 No exception escapes: bodies are parsed with allow_exceptions=false, dumps replace bad UTF-8.
**  M13 Open entries and device lines. A path's candidates from the sides join the candidates of the
**     record's open entry for that path (MergeInput::open), then narrow_candidates() keeps one per device
**     line and drops what a decider (an admin's resolution) has seen. The entry then holds every side
**     that reached it, whatever the order. All remaining candidates agree -> the path takes that value
**     and, if an entry was open, is `settled` (closed by agreement); else a conflict listing them all.
**  M14 `_deleted` is a path like the others: every device version in a side's history sets it (a
**     tombstone to true, any other version to false); per side the latest such versions are candidates
**     (server versions never are: a merge decides nothing). All true -> the merge is a tombstone; mixed ->
**     a DeleteEdit listing them all (the record is kept, deletion pending).
*/
#include "sync/merge.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "sync/merge_fields.hpp"

namespace akt::sync {
namespace {

using json = nlohmann::json;

std::string dot_text(const Dot& d) { return d.actor + ":" + std::to_string(d.n); }

// Parses a body; tombstones and an empty provisional may be "" (an empty object).
Result<json> parse_body(const std::string& text, bool may_be_empty, const std::string& what) {
  if (may_be_empty && text.empty()) return json::object();
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::corruption("merge: " + what + ": body is not a JSON object");
  return j;
}

bool same_content(const Version& a, const Version& b) {
  return a.clock == b.clock && a.changed == b.changed && a.body == b.body && a.deleted == b.deleted;
}

// Registers a version under its dot; two different versions with one dot are refused.
Status add_version(std::map<Dot, const Version*>& all, const Version& v) {
  auto [it, inserted] = all.try_emplace(v.dot, &v);
  if (!inserted && !same_content(*it->second, v))
    return Status::invalid_argument("merge: two different versions share dot " + dot_text(v.dot));
  return {};
}

}  // namespace

void narrow_candidates(std::vector<Candidate>& cands, const std::map<Dot, VectorClock>& clocks,
                       const std::string& server_actor, const std::set<std::string>& deciders) {
  std::map<Dot, Candidate> by_dot;
  for (Candidate& c : cands) {
    auto [it, inserted] = by_dot.try_emplace(c.dot, c);
    if (!inserted) {
      std::vector<Dot>& s = it->second.sides;
      s.insert(s.end(), c.sides.begin(), c.sides.end());
    }
  }
  std::map<std::string, std::int64_t> latest;  // device actor -> its greatest candidate counter
  for (const auto& [dot, c] : by_dot)
    if (dot.actor != server_actor) latest[dot.actor] = std::max(latest[dot.actor], dot.n);
  auto seen_by_decider = [&](const Dot& d) {
    auto mine = clocks.find(d);
    if (mine == clocks.end()) return false;
    for (const auto& [o, oc] : by_dot) {
      if (o == d || !deciders.count(o.actor)) continue;
      auto theirs = clocks.find(o);
      if (theirs != clocks.end() && mine->second.leq(theirs->second)) return true;
    }
    return false;
  };
  cands.clear();
  for (auto& [dot, c] : by_dot) {
    if (dot.actor != server_actor && latest[dot.actor] != dot.n) continue;
    if (seen_by_decider(dot)) continue;
    std::sort(c.sides.begin(), c.sides.end());
    c.sides.erase(std::unique(c.sides.begin(), c.sides.end()), c.sides.end());
    cands.push_back(std::move(c));
  }
}

Result<MergeResult> merge(const MergeInput& in, const MergeSchema& schema) {
  if (in.sides.empty()) return Status::invalid_argument("merge: no siblings");
  if (in.server_actor.empty()) return Status::invalid_argument("merge: empty server actor");
  if (in.server_counter <= 0) return Status::invalid_argument("merge: server counter must be positive");

  // Every version once, by dot; each side's history as a sorted set of dots, sibling included ([M1]).
  std::map<Dot, const Version*> all;
  std::map<Dot, std::set<Dot>> history_of;  // sibling dot -> history dots
  for (const MergeSide& s : in.sides) {
    if (Status st = add_version(all, s.sibling); !st.ok()) return st;
    std::set<Dot>& h = history_of[s.sibling.dot];
    h.insert(s.sibling.dot);
    for (const Version& v : s.history) {
      if (Status st = add_version(all, v); !st.ok()) return st;
      if (!in.ancestor || v.dot != in.ancestor->dot) h.insert(v.dot);
    }
  }

  MergeResult out;
  out.dot = Dot{in.server_actor, in.server_counter};
  for (const auto& [dot, hist] : history_of) {
    out.parents.push_back(dot);
    out.clock = out.clock.join(all.at(dot)->clock);
  }
  if (out.clock.get(in.server_actor) >= in.server_counter)  // [M10]
    return Status::invalid_argument("merge: server dot " + dot_text(out.dot) + " is already covered");
  out.clock.advance(in.server_actor, in.server_counter);

  // Clocks of every version the merge knows of, for narrowing candidates ([M13]).
  std::map<Dot, VectorClock> clocks = in.clocks;
  for (const auto& [dot, v] : all) clocks[dot] = v->clock;

  // [M9] [M14] Deletion: the `_deleted` candidates of every side, joined with an open delete_edit entry.
  bool any_edit = false, any_deleted = false;
  for (const Dot& d : out.parents) (all.at(d)->deleted ? any_deleted : any_edit) = true;
  for (const auto& [dot, v] : all) any_deleted = any_deleted || v->deleted;
  auto open_del = in.open.find(kDeletedPath);
  if (any_deleted || open_del != in.open.end()) {
    std::vector<Candidate> del;
    for (const auto& [tip, hist] : history_of) {
      std::vector<const Version*> mine;
      for (const Dot& d : hist)
        if (d.actor != in.server_actor) mine.push_back(all.at(d));
      for (const Version* v : mine) {
        const bool dominated = std::any_of(mine.begin(), mine.end(), [&](const Version* o) {
          return v->clock.compare(o->clock) == Order::kBefore;
        });
        if (!dominated) del.push_back({std::string(v->deleted ? "true" : "false"), v->dot, {tip}});
      }
    }
    const bool had_open = open_del != in.open.end();
    if (had_open && !del.empty()) del.insert(del.end(), open_del->second.begin(), open_del->second.end());
    narrow_candidates(del, clocks, in.server_actor, in.deciders);
    bool keeps = false, deletes = false;
    for (const Candidate& c : del) (c.value == "true" ? deletes : keeps) = true;
    if (!del.empty() && !keeps) any_edit = false;  // every side deletes: the merge is a tombstone
    // Mixed: deletion pending (if no sibling keeps a body, the record stays deleted and the entry open).
    if (keeps && deletes) out.delete_edit = DeleteEdit{del};
    else if (had_open && !del.empty()) {
      out.settled.push_back(kDeletedPath);
      out.agreed[kDeletedPath] = del;
    }
  }
  if (!any_edit) {  // [M9]
    out.deleted = true;
    out.body = "{}";
    return out;
  }

  // Parse every body once; the engine works on pointers into `bodies`.
  std::map<Dot, detail::Body> bodies;
  for (const auto& [dot, v] : all) {
    if (v->deleted) {  // a tombstone's body is never read
      bodies.emplace(dot, detail::Body{v, json::object()});
      continue;
    }
    auto doc = parse_body(v->body, false, "version " + dot_text(dot));
    if (!doc.ok()) return doc.status();
    bodies.emplace(dot, detail::Body{v, std::move(*doc)});
  }
  std::optional<json> anc;
  if (in.ancestor) {
    auto doc = parse_body(in.ancestor->body, in.ancestor->deleted, "ancestor");
    if (!doc.ok()) return doc.status();
    anc = std::move(*doc);
  }
  auto prov = parse_body(in.provisional, true, "provisional");
  if (!prov.ok()) return prov.status();

  std::vector<detail::Side> sides;
  for (const auto& [dot, hist] : history_of) {
    detail::Side s{&bodies.at(dot), {}};
    for (const Dot& d : hist) s.history.push_back(&bodies.at(d));
    sides.push_back(std::move(s));
  }
  detail::FieldMerge fm = detail::merge_fields(schema, sides, anc ? &*anc : nullptr, *prov, in, clocks);
  out.body = fm.body.dump(-1, ' ', false, json::error_handler_t::replace);
  out.conflicts = std::move(fm.conflicts);
  out.changed = std::move(fm.changed);
  out.settled.insert(out.settled.end(), fm.settled.begin(), fm.settled.end());
  out.agreed.merge(fm.agreed);
  std::sort(out.settled.begin(), out.settled.end());
  return out;
}

}  // namespace akt::sync

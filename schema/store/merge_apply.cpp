// Merging siblings in the store: load versions, plan, merge (pure, sync/merge.hpp), write back; all
// through the push port.
#include "schema/store/merge_apply.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "schema/store/record_scope.hpp"
#include "sync/counter.hpp"
#include "sync/merge.hpp"
#include "sync/scope_json.hpp"
#include "sync/wire_json.hpp"

namespace akt::store {

namespace {

using Row = StoredVersion;

std::string dot_key(const sync::Dot& d) { return d.actor + ":" + std::to_string(d.n); }

// Opens an entry, or extends the open one for the same (record, kind, path) with the new candidates;
// with `replace`, the candidates given are the entry's whole list (the merge joined and narrowed them).
Status upsert_entry(PushPort& port, const std::string& record_id, sync::InboxKind kind, const std::string& path,
                    const std::optional<std::string>& ancestor, const nlohmann::json& candidates,
                    const std::string& form_id, const std::string& municipality, std::int64_t now,
                    const std::string& detail = "{}", bool replace = false) {
  nlohmann::json merged = candidates;
  if (!replace) {
    auto stored = port.open_entry_candidates(record_id, kind, path);
    if (!stored.ok()) return stored.status();
    if (*stored) {
      // Never drop a candidate an admin may already have looked at: union by dot.
      auto old = nlohmann::json::parse(**stored, nullptr, false);
      if (old.is_array())
        for (const auto& c : old) {
          bool known = false;
          // Candidates are versions (by dot) or, for duplicate_candidate entries, records.
          auto id = [](const nlohmann::json& x) { return x.contains("dot") ? x["dot"] : x.value("record", nlohmann::json()); };
          for (const auto& m : merged) known = known || id(m) == id(c);
          if (!known) merged.push_back(c);
        }
    }
  }
  return port.put_open_entry(
      EntryWrite{record_id, kind, path, ancestor, merged.dump(), form_id, municipality, now, detail});
}

nlohmann::json dot_json(const sync::Dot& d) { return {{"actor", d.actor}, {"n", d.n}}; }

sync::Dot json_dot(const nlohmann::json& j) {
  if (!j.is_object()) return {};
  return {j.value("actor", std::string()), j.value("n", std::int64_t{0})};
}

// An entry's candidate as the inbox stores it. `deletion`: a delete_edit candidate (value "true"/"false").
nlohmann::json candidate_json(const sync::Candidate& c, const std::map<std::string, const sync::Version*>& by_dot,
                              bool deletion, std::int64_t now) {
  nlohmann::json sides = nlohmann::json::array();
  for (const auto& d : c.sides) sides.push_back(dot_json(d));
  auto it = by_dot.find(dot_key(c.dot));
  const sync::Version* v = it == by_dot.end() ? nullptr : it->second;
  nlohmann::json j{{"dot", dot_json(c.dot)}, {"sides", sides}, {"device_time", v ? v->device_time : 0},
                   {"server_time", v ? v->server_time : now}};
  if (deletion) {
    j["deleted"] = c.value == "true";
  } else {
    j["value"] = c.value ? nlohmann::json::parse(*c.value, nullptr, false) : nlohmann::json();
    j["absent"] = !c.value.has_value();
  }
  return j;
}

// The candidates of a stored entry (field or delete_edit), in the merge's terms.
std::vector<sync::Candidate> parse_candidates(std::string_view text, bool deletion) {
  std::vector<sync::Candidate> out;
  const auto arr = nlohmann::json::parse(text, nullptr, false);
  if (!arr.is_array()) return out;
  for (const auto& c : arr) {
    if (!c.is_object()) continue;
    sync::Candidate k;
    k.dot = json_dot(c.value("dot", nlohmann::json()));
    if (deletion) k.value = c.value("deleted", false) ? "true" : "false";
    else if (!c.value("absent", false)) k.value = c.value("value", nlohmann::json()).dump();
    if (c.contains("sides") && c["sides"].is_array())
      for (const auto& d : c["sides"]) k.sides.push_back(json_dot(d));
    out.push_back(std::move(k));
  }
  return out;
}

// The record's open field and delete_edit entries: path (kDeletedPath for delete_edit) -> candidates.
Status load_open_entries(PushPort& port, const std::string& record_id,
                         std::map<std::string, std::vector<sync::Candidate>>& out) {
  std::vector<OpenEntry> entries;
  AKT_TRY(port.open_entries(record_id, entries));
  for (const OpenEntry& e : entries) {
    if (e.kind != sync::InboxKind::kField && e.kind != sync::InboxKind::kDeleteEdit) continue;
    const bool deletion = e.kind == sync::InboxKind::kDeleteEdit;
    out[deletion ? sync::kDeletedPath : e.path] = parse_candidates(e.candidates_json, deletion);
  }
  return {};
}

// An entry's base (DESIGN §4): the path's value in the lowest common ancestor of its candidates' versions,
// whatever siblings met first; nullopt when absent or there is no common ancestor.
std::optional<std::string> entry_base(const std::vector<Row>& rows, const std::vector<sync::Candidate>& cands,
                                      const std::string& path, const sync::MergeSchema& schema) {
  std::vector<sync::VersionRef> refs;
  for (const Row& r : rows) refs.push_back({r.v.dot, r.v.clock});
  std::vector<sync::Dot> dots;
  for (const auto& c : cands) dots.push_back(c.dot);
  auto plan = sync::plan_merge(refs, dots);
  if (!plan.ok() || !plan->ancestor) return std::nullopt;
  for (const Row& r : rows)
    if (r.v.dot == *plan->ancestor) return r.v.deleted ? std::nullopt : sync::value_at_path(r.v.body, path, schema);
  return std::nullopt;
}

// Closes the open entry (record, kind, path) settled by agreement (DESIGN §4): every candidate holds one
// value, so no disagreement remains. `cands` are the entry's candidates as narrowed (one per device line):
// they replace the stored list, so the closed entry shows the sides that agree, not an answer its own
// author replaced. `dot` is the version that holds the agreed value.
Status close_by_agreement(PushPort& port, const std::string& record_id, sync::InboxKind kind, const std::string& path,
                          const sync::Dot& dot, const std::vector<sync::Candidate>& cands,
                          const std::map<std::string, const sync::Version*>& by_dot, std::int64_t now) {
  const bool deletion = kind == sync::InboxKind::kDeleteEdit;
  nlohmann::json resolution{{"closed_by", "agreement"}, {"dot", {{"actor", dot.actor}, {"n", dot.n}}}};
  nlohmann::json list = nlohmann::json::array();
  for (const sync::Candidate& c : cands) list.push_back(candidate_json(c, by_dot, deletion, now));
  if (!cands.empty()) {
    const auto& v = cands.front().value;
    if (deletion) resolution["action"] = v == "true" ? "confirm_delete" : "restore";
    else if (v) resolution["value"] = nlohmann::json::parse(*v, nullptr, false);
    else resolution["removed"] = true;
  }
  resolution["candidates"] = list;
  return port.close_open_entry(record_id, kind, path, list.dump(), resolution.dump(), now);
}

// Inserts a live version made by the server replica (a merge or a hold), with the scope it gives the record.
Status write_server_version(PushPort& port, const std::string& record_id, const sync::Dot& dot,
                            const sync::VectorClock& clock, const std::vector<sync::Dot>& parents,
                            const std::vector<std::string>& changed, const std::string& body, bool deleted,
                            std::int64_t form_version, std::int64_t now, const sync::Scope& scope) {
  sync::Version v;
  v.dot = dot;
  v.clock = clock;
  v.parents = parents;
  v.changed = changed;
  v.body = body;
  v.deleted = deleted;
  v.form_version = form_version;
  v.server_time = now;
  return port.insert_server_version(record_id, v, scope, sha256("merge:" + dot_key(dot) + ":" + body));
}

Result<std::int64_t> next_server_counter(PushPort& port, const std::string& server_actor) {
  auto made = port.max_counter(server_actor);
  if (!made.ok()) return made.status();
  // Device counters are bounded (sync::kMaxCounter), so this never fails on data the server accepted.
  if (*made >= sync::kMaxCounter) return Status::corruption("the server's merge counter is exhausted");
  return *made + 1;
}


std::string top_key(const std::string& path) { return path.substr(0, path.find_first_of("[.")); }

// Post-merge validation (DESIGN §4): the merged body, and the body with each candidate of a top-level
// flagged field, must keep the form's rules. The fields a broken rule involves are every key it reads (its
// own field included) that a side changed since the ancestor (`side_changed`), not already flagged by a
// field entry. Putting those back to one side's values may break a rule of another changed field (an end
// date whose relevance reads the status): that field is involved too, found by checking the merged body
// with the involved fields taken from each side in turn. So the set depends only on the sides, never on
// which arrived first (PROTOCOL §11.1). The involved fields then take the provisional values (the
// server's). Fills `involved` (the semantic entry's fields), `reverted` (those whose value went back) and
// `broken` (the rules found broken, in a fixed order); rewrites `merged.body` (computed fields recomputed).
// Each round involves a new key, so it ends.
void settle_rules(const PushInput& in, const FormRules& rules, const std::string& form_id, std::int64_t form_version,
                  const std::string& provisional, const std::vector<std::string>& side_bodies,
                  const std::set<std::string>& side_changed, sync::MergeResult& merged,
                  std::set<std::string>& involved, std::set<std::string>& reverted, std::vector<RuleBreak>& broken) {
  using nlohmann::json;
  const json prov = provisional.empty() ? json::object() : json::parse(provisional, nullptr, false);
  const json body = json::parse(merged.body, nullptr, false);
  if (!prov.is_object() || !body.is_object()) return;
  std::vector<json> sides;
  for (const std::string& t : side_bodies) {
    json j = json::parse(t, nullptr, false);
    if (j.is_object()) sides.push_back(std::move(j));
  }
  std::set<std::string> flagged;
  for (const auto& c : merged.conflicts) flagged.insert(top_key(c.path));
  // The merged body with the involved fields taken from `from`.
  auto with_involved_from = [&](const json& from) {
    json v = body;
    for (const std::string& k : involved) {
      if (from.contains(k)) v[k] = from[k];
      else v.erase(k);
    }
    return v;
  };
  std::set<std::string> seen_rules;
  // Adds the keys of the rules `text` breaks; true when a key is new.
  auto involve = [&](json variant) {
    std::string text = variant.dump();
    bool grew = false;
    for (const RuleBreak& e : rules.check_merged(form_id, form_version, text, in.now_ms)) {
      std::vector<std::string> keys = e.involved;
      keys.push_back(top_key(e.path));
      bool ours = false;
      for (const std::string& k : keys) {
        if (!side_changed.count(k) || flagged.count(k)) continue;
        ours = true;
        grew = involved.insert(k).second || grew;
      }
      if (ours && seen_rules.insert(e.path + "\n" + e.code + "\n" + e.message).second) broken.push_back(e);
    }
    return grew;
  };
  involve(body);
  for (const auto& c : merged.conflicts) {
    if (c.path.find_first_of("[.") != std::string::npos) continue;
    for (const auto& cand : c.candidates) {
      json variant = body;
      if (cand.value) variant[c.path] = json::parse(*cand.value, nullptr, false);
      else variant.erase(c.path);
      involve(std::move(variant));
    }
  }
  for (std::size_t round = 0; !involved.empty() && round <= side_changed.size(); ++round) {
    bool grew = false;
    for (const json& side : sides) grew = involve(with_involved_from(side)) || grew;
    if (!grew) break;
  }
  // The result: the involved fields at the server's values. Should that still break a rule (the
  // provisional body is not one of the sides), the fields it involves go back too.
  json out = with_involved_from(prov);
  for (std::size_t round = 0; round <= side_changed.size(); ++round) {
    if (!involve(out)) break;
    out = with_involved_from(prov);
  }
  std::string text = out.dump();
  rules.check_merged(form_id, form_version, text, in.now_ms);  // recomputes computed fields
  for (const std::string& k : involved) {
    const bool differs = body.contains(k) != prov.contains(k) || (body.contains(k) && body[k] != prov[k]);
    if (differs) reverted.insert(k);
  }
  merged.body = text;
}

}  // namespace

Status refresh_flags(PushPort& port, const std::string& record_id) {
  std::set<std::string> flagged;
  bool deletion_pending = false;
  std::vector<OpenEntry> entries;
  AKT_TRY(port.open_entries(record_id, entries));
  for (const OpenEntry& e : entries) sync::mark_entry(e.kind, e.path, flagged, deletion_pending);
  return port.set_record_flags(record_id, std::vector<std::string>(flagged.begin(), flagged.end()), deletion_pending);
}

Status join_open_entries(PushPort& port, const PushInput& in, const PushContext& ctx, const std::string& record_id,
                         const sync::Edit& edit) {
  std::map<std::string, std::vector<sync::Candidate>> open;
  AKT_TRY(load_open_entries(port, record_id, open));
  if (open.empty()) return {};
  std::vector<Row> rows;
  AKT_TRY(port.versions(record_id, rows));
  std::map<sync::Dot, sync::VectorClock> clocks;
  std::map<std::string, const sync::Version*> by_dot;
  for (const Row& row : rows) {
    clocks[row.v.dot] = row.v.clock;
    by_dot[dot_key(row.v.dot)] = &row.v;
  }
  const sync::MergeSchema schema = ctx.rules.schema_for(edit.form_id, edit.form_version);
  auto covers = [&](const std::string& path) {  // the edit set `path` (or a path above or below it)
    for (const std::string& c : edit.changed) {
      if (c == path) return true;
      const std::string& lo = c.size() > path.size() ? c : path;
      const std::string& hi = c.size() > path.size() ? path : c;
      if (lo.compare(0, hi.size(), hi) == 0 && (lo[hi.size()] == '.' || lo[hi.size()] == '[')) return true;
    }
    return false;
  };
  for (auto& [path, cands] : open) {
    const bool deletion = path == sync::kDeletedPath;
    sync::Candidate mine{std::nullopt, edit.dot, {edit.dot}};
    if (deletion) mine.value = edit.deleted ? "true" : "false";
    else if (edit.deleted || !covers(path)) continue;
    else mine.value = sync::value_at_path(edit.body, path, schema);
    cands.push_back(std::move(mine));
    sync::narrow_candidates(cands, clocks, ctx.server_actor, {});
    std::set<std::optional<std::string>> distinct;
    for (const auto& c : cands) distinct.insert(c.value);
    const sync::InboxKind kind = deletion ? sync::InboxKind::kDeleteEdit : sync::InboxKind::kField;
    if (distinct.size() == 1) {
      AKT_TRY(close_by_agreement(port, record_id, kind, path, edit.dot, cands, by_dot, in.now_ms));
      continue;
    }
    nlohmann::json list = nlohmann::json::array();
    for (const auto& c : cands) list.push_back(candidate_json(c, by_dot, deletion, in.now_ms));
    const std::optional<std::string> base = deletion ? std::nullopt : entry_base(rows, cands, path, schema);
    AKT_TRY(port.set_open_entry_candidates(record_id, kind, path, list.dump(), base, in.now_ms));
  }
  return refresh_flags(port, record_id);
}

Result<std::optional<std::string>> single_live_body(PushPort& port, const std::string& record_id) {
  std::vector<sync::Version> live;
  AKT_TRY(port.live_versions(record_id, live));
  if (live.size() != 1 || live.front().deleted) return std::optional<std::string>();
  return std::optional<std::string>(std::move(live.front().body));
}

Status hold_edit(PushPort& port, const PushInput& in, const PushContext& ctx, const std::string& before_text,
                 const sync::Edit& edit, std::int64_t& next_seq, sync::EditResult& r) {
  const std::string& record_id = edit.record_id;
  const std::string& server_actor = ctx.server_actor;
  using nlohmann::json;
  if (edit.deleted && before_text.empty()) return {};
  const json before = json::parse(before_text, nullptr, false);
  if (!before.is_object()) return {};
  const bool locked = before.contains("review_status") && before["review_status"] == "approved";
  std::set<std::string> admin_only;
  if (!locked) {
    const sync::MergeSchema schema = ctx.rules.schema_for(edit.form_id, edit.form_version);
    for (const std::string& path : edit.changed) {
      const std::string k = top_key(path);
      auto p = schema.policies.find(k);
      if (p != schema.policies.end() && p->second == sync::FieldPolicy::kAdminOnly) admin_only.insert(k);
    }
    if (admin_only.empty()) return {};
  }
  // The record as it stands after the edit (and any merge): its single live version.
  sync::Dot live_dot;
  sync::VectorClock live_clock;
  std::string after_text;
  bool after_deleted = false;
  std::int64_t form_version = 0;
  {
    std::vector<sync::Version> live;
    AKT_TRY(port.live_versions(record_id, live));
    if (live.empty()) return {};
    live_dot = live.front().dot;
    live_clock = std::move(live.front().clock);
    after_text = std::move(live.front().body);
    after_deleted = live.front().deleted;
    form_version = live.front().form_version;
  }
  json after = after_deleted ? json::object() : json::parse(after_text, nullptr, false);
  if (!after.is_object()) return {};
  std::set<std::string> fields;
  auto differs = [&](const std::string& k) {
    return before.contains(k) != after.contains(k) || (before.contains(k) && before[k] != after[k]);
  };
  if (locked) {
    for (const json* d : {&before, static_cast<const json*>(&after)})
      for (auto it = d->begin(); it != d->end(); ++it)
        if (differs(it.key())) fields.insert(it.key());
  } else {
    for (const std::string& k : admin_only)
      if (differs(k)) fields.insert(k);
  }
  if (fields.empty() && !(locked && after_deleted)) return {};
  // The held values: what the edit made of each field (the candidate), and what stays.
  json values = json::object(), absent = json::array(), kept = json::object();
  json held = after;
  for (const std::string& f : fields) {
    if (after.contains(f)) values[f] = after[f];
    else absent.push_back(f);
    if (before.contains(f)) held[f] = before[f], kept[f] = before[f];
    else held.erase(f);
  }
  auto counter = next_server_counter(port, server_actor);
  if (!counter.ok()) return counter.status();
  const sync::Dot dot{server_actor, *counter};
  sync::VectorClock clock = live_clock;
  clock.advance(server_actor, dot.n);
  std::string form_id, municipality;
  sync::Scope scope;  // the held version's: the record's, with the scope fields its body holds
  {
    auto head = port.read_record(record_id);
    if (!head.ok()) return head.status();
    if (*head) form_id = (*head)->form_id, scope = (*head)->scope;
  }
  const std::string held_text = held.dump();
  scope = sync::scope_of_body_text(held_text, scope);
  municipality = scope.municipality;
  AKT_TRY(port.retire_live(record_id));
  AKT_TRY(write_server_version(port, record_id, dot, clock, {live_dot}, std::vector<std::string>(fields.begin(), fields.end()),
                               held_text, false, form_version, in.now_ms, scope));
  const sync::InboxKind kind = locked ? sync::InboxKind::kLockedChange : sync::InboxKind::kPermission;
  std::string path;
  if (!locked)
    for (const std::string& f : fields) path += (path.empty() ? "" : ",") + f;
  json candidates = json::array({{{"dot", dot_json(edit.dot)},
                                  {"sides", json::array({dot_json(edit.dot)})},
                                  {"values", values},
                                  {"absent", absent},
                                  {"deleted", edit.deleted},
                                  {"device_time", edit.device_time},
                                  {"server_time", in.now_ms}}});
  json detail{{"fields", fields}, {"kept", kept},
              {"reason", locked ? "the record is approved: changes wait for an admin"
                                : "only admin and M&E roles may set these fields"}};
  AKT_TRY(upsert_entry(port, record_id, kind, path, std::nullopt, candidates, form_id, municipality, in.now_ms,
                       detail.dump()));
  const std::int64_t seq = next_seq++;
  AKT_TRY(port.advance_record(record_id, seq, 1, false, std::nullopt, in.now_ms));
  AKT_TRY(refresh_flags(port, record_id));
  r.seq = seq;
  r.live = 1;
  r.held_kind = std::string(sync::to_string(kind));
  r.held = std::vector<std::string>(fields.begin(), fields.end());
  return {};
}

Status track_unique_key(PushPort& port, const PushInput& in, const sync::Edit& edit, const std::string& key,
                        const sync::EditResult& r) {
  using nlohmann::json;
  const std::string& record_id = edit.record_id;
  if (r.outcome != sync::Outcome::kApplied || !r.held_kind.empty()) return {};
  if (edit.deleted || key.empty()) return port.delete_record_key(record_id);
  {
    auto old = port.record_key(record_id);
    if (!old.ok()) return old.status();
    if (*old && **old == key) return {};  // unchanged: checked when it was set
  }
  // Two records taking one key at once must see each other (an engine with concurrent writers locks it).
  AKT_TRY(port.lock_key(edit.form_id, key));
  AKT_TRY(port.put_record_key(record_id, edit.form_id, key));
  json candidates = json::array();
  {
    auto holders = port.key_holders(edit.form_id, key, 50);
    if (!holders.ok()) return holders.status();
    for (const KeyHolder& h : *holders) candidates.push_back({{"record", h.record_id}, {"server_time", h.updated_at}});
  }
  if (candidates.size() < 2) return {};
  std::string municipality;
  {
    auto head = port.read_record(record_id);
    if (!head.ok()) return head.status();
    if (*head) municipality = (*head)->scope.municipality;
  }
  json detail{{"key", json::parse(key, nullptr, false)}};
  return upsert_entry(port, record_id, sync::InboxKind::kDuplicateCandidate, key, std::nullopt, candidates, edit.form_id,
                      municipality, in.now_ms, detail.dump());
}

Status merge_record(PushPort& port, const PushInput& in, const PushContext& ctx, const std::string& record_id,
                    std::int64_t& next_seq, sync::EditResult& r) {
  const std::string& server_actor = ctx.server_actor;
  std::vector<Row> rows;
  AKT_TRY(port.versions(record_id, rows));
  std::map<std::string, const sync::Version*> by_dot;
  std::vector<sync::VersionRef> refs;
  std::vector<sync::Dot> siblings;
  for (const Row& row : rows) {
    by_dot[dot_key(row.v.dot)] = &row.v;
    refs.push_back({row.v.dot, row.v.clock});
    if (row.live) siblings.push_back(row.v.dot);
  }
  auto plan = sync::plan_merge(refs, siblings);
  if (!plan.ok()) return Status::corruption("merge plan: " + plan.status().message());

  sync::MergeInput input;
  input.server_actor = server_actor;
  AKT_TRY(load_open_entries(port, record_id, input.open));
  for (const Row& row : rows) input.clocks[row.v.dot] = row.v.clock;
  // An admin's resolution decides against every candidate its author saw ([M13]).
  if (in.resolution) input.deciders.insert(r.dot.actor);
  // The provisional body: the sibling that was live before this edit came (the greatest other dot).
  const sync::Version* before = nullptr;
  for (std::size_t i = 0; i < plan->siblings.size(); ++i) {
    const sync::Version* v = by_dot[dot_key(plan->siblings[i])];
    sync::MergeSide side;
    side.sibling = *v;
    for (const sync::Dot& d : plan->histories[i]) side.history.push_back(*by_dot[dot_key(d)]);
    input.sides.push_back(std::move(side));
    if (!(v->dot == r.dot) && (!before || before->dot < v->dot)) before = v;
  }
  // A tombstone holds no values: the provisional body is then the version it deleted (its greatest
  // parent, following deletions back), so a field in open conflict keeps a value the server had.
  while (before != nullptr && before->deleted) {
    const sync::Version* parent = nullptr;
    for (const sync::Dot& d : before->parents) {
      auto it = by_dot.find(dot_key(d));
      if (it != by_dot.end() && (parent == nullptr || parent->dot < it->second->dot)) parent = it->second;
    }
    before = parent;
  }
  input.provisional = before ? before->body : std::string();
  if (plan->ancestor) input.ancestor = *by_dot[dot_key(*plan->ancestor)];
  {
    auto counter = next_server_counter(port, server_actor);
    if (!counter.ok()) return counter.status();
    input.server_counter = *counter;
  }
  std::string form_id, municipality;
  std::int64_t form_version = 0;
  sync::Scope head_scope;  // as the last edit left the record row (the scope it carried)
  {
    auto head = port.read_record(record_id);
    if (!head.ok()) return head.status();
    if (*head) form_id = (*head)->form_id, head_scope = (*head)->scope;
  }
  for (const auto& side : input.sides) form_version = std::max(form_version, side.sibling.form_version);
  sync::MergeSchema schema;
  schema = ctx.rules.schema_for(form_id, form_version);
  auto merged = sync::merge(input, schema);
  if (!merged.ok()) return Status::corruption("merge: " + merged.status().message());
  std::set<std::string> involved, reverted;
  std::vector<RuleBreak> broken;
  if (ctx.rules.checks_merged() && !merged->deleted) {
    std::set<std::string> side_changed;  // top-level keys some side changed since the ancestor
    for (const auto& side : input.sides)
      for (const sync::Version& v : side.history)
        if (!v.deleted && (!input.ancestor || v.dot != input.ancestor->dot))
          for (const std::string& p : v.changed) side_changed.insert(top_key(p));
    std::vector<const sync::Version*> tips;
    for (const auto& side : input.sides) tips.push_back(&side.sibling);
    std::sort(tips.begin(), tips.end(), [](auto* a, auto* b) { return a->dot < b->dot; });
    std::vector<std::string> side_bodies;
    for (const sync::Version* v : tips)
      if (!v->deleted) side_bodies.push_back(v->body);
    settle_rules(in, ctx.rules, form_id, form_version, input.provisional, side_bodies, side_changed, *merged, involved, reverted,
                 broken);
  }

  // The merged version's scope (PROTOCOL §4.4): the members its body holds as scope fields follow the
  // body; the others are decided three-way from the scopes the siblings and their ancestor carried, so
  // that a move is never undone by a concurrent edit from the old scope, whichever arrived last.
  sync::Scope scope;
  {
    std::map<sync::Dot, const sync::Scope*> scope_of;
    for (const Row& row : rows) scope_of[row.v.dot] = &row.scope;
    std::vector<sync::Dot> tips = plan->siblings;
    std::sort(tips.begin(), tips.end());
    std::vector<sync::Scope> sides;
    for (const sync::Dot& d : tips) sides.push_back(*scope_of[d]);
    std::optional<sync::Scope> base;
    if (plan->ancestor) base = *scope_of[*plan->ancestor];
    scope = sides.empty() ? head_scope : merge_scope(sides, base);
    if (!merged->deleted) scope = sync::scope_of_body_text(merged->body, scope);
  }
  municipality = scope.municipality;
  // Write: siblings retire, the merged version becomes the record's single live version.
  AKT_TRY(port.retire_live(record_id));
  AKT_TRY(write_server_version(port, record_id, merged->dot, merged->clock, merged->parents, merged->changed,
                               merged->body, merged->deleted, form_version, in.now_ms, scope));
  if (!(scope == head_scope)) AKT_TRY(port.set_record_scope(record_id, scope));
  // The inbox: one entry per conflicted field, and one for an edit against a deletion. The merge joined
  // each open entry's candidates with its own, so the lists replace the stored ones ([M13]).
  for (const sync::FieldConflict& c : merged->conflicts) {
    nlohmann::json candidates = nlohmann::json::array();
    for (const sync::Candidate& cand : c.candidates) candidates.push_back(candidate_json(cand, by_dot, false, in.now_ms));
    AKT_TRY(upsert_entry(port, record_id, sync::InboxKind::kField, c.path, entry_base(rows, c.candidates, c.path, schema), candidates,
                         form_id, municipality, in.now_ms, "{}", true));
    r.conflicts.push_back(c.path);
  }
  if (merged->delete_edit) {
    nlohmann::json candidates = nlohmann::json::array();
    for (const auto& cand : merged->delete_edit->candidates)
      candidates.push_back(candidate_json(cand, by_dot, true, in.now_ms));
    AKT_TRY(upsert_entry(port, record_id, sync::InboxKind::kDeleteEdit, "", std::nullopt, candidates, form_id, municipality, in.now_ms,
                         "{}", true));
  }
  // Open entries whose candidates now all agree are settled by agreement, by the merged version. A
  // resolution's own paths are closed by the resolution itself (§11.5), not here.
  for (const std::string& path : merged->settled) {
    const bool deletion = path == sync::kDeletedPath;
    if (in.resolution) {
      const sync::Version* own = by_dot[dot_key(r.dot)];
      if (deletion || (own && std::find(own->changed.begin(), own->changed.end(), path) != own->changed.end()))
        continue;
    }
    // The narrowed candidates, which all hold the agreed value.
    auto agreed = merged->agreed.find(path);
    const std::vector<sync::Candidate> cands =
        agreed == merged->agreed.end() ? std::vector<sync::Candidate>() : agreed->second;
    AKT_TRY(close_by_agreement(port, record_id, deletion ? sync::InboxKind::kDeleteEdit : sync::InboxKind::kField, path, merged->dot, cands, by_dot,
                               in.now_ms));
  }
  if (!involved.empty()) {
    // One `semantic` entry: the fields involved, each side's values for them, the rules broken.
    const std::set<std::string>& fields = involved;
    std::string path;
    for (const std::string& f : fields) path += (path.empty() ? "" : ",") + f;
    const auto prov = nlohmann::json::parse(input.provisional.empty() ? "{}" : input.provisional, nullptr, false);
    nlohmann::json candidates = nlohmann::json::array(), provisional = nlohmann::json::object();
    for (const std::string& f : fields)
      if (prov.is_object() && prov.contains(f)) provisional[f] = prov[f];
    std::vector<const sync::Version*> sides;
    for (const auto& side : input.sides) sides.push_back(&side.sibling);
    std::sort(sides.begin(), sides.end(), [](auto* a, auto* b) { return a->dot < b->dot; });
    for (const sync::Version* v : sides) {
      const auto b = nlohmann::json::parse(v->body, nullptr, false);
      if (v->deleted || !b.is_object()) continue;
      nlohmann::json values = nlohmann::json::object(), absent = nlohmann::json::array();
      for (const std::string& f : fields) {
        if (b.contains(f)) values[f] = b[f];
        else absent.push_back(f);
      }
      candidates.push_back({{"dot", dot_json(v->dot)}, {"sides", nlohmann::json::array({dot_json(v->dot)})},
                            {"values", values}, {"absent", absent}, {"device_time", v->device_time},
                            {"server_time", v->server_time}});
    }
    nlohmann::json rules = nlohmann::json::array();
    for (const RuleBreak& b : broken) rules.push_back({{"path", b.path}, {"code", b.code}, {"message", b.message}});
    nlohmann::json detail{{"fields", fields}, {"rules", rules}, {"provisional", provisional},
                          {"reverted", reverted}};
    AKT_TRY(upsert_entry(port, record_id, sync::InboxKind::kSemantic, path, std::nullopt, candidates, form_id, municipality, in.now_ms,
                         detail.dump()));
    for (const std::string& f : fields) r.conflicts.push_back(f);
  }
  // The record row: one live version, the next feed position; then its flags from the open entries.
  const std::int64_t seq = next_seq++;
  AKT_TRY(port.advance_record(record_id, seq, 1, merged->deleted, form_version, in.now_ms));
  AKT_TRY(refresh_flags(port, record_id));
  r.outcome = sync::Outcome::kMerged;
  r.seq = seq;
  r.live = 1;
  std::sort(r.conflicts.begin(), r.conflicts.end());
  r.conflicts.erase(std::unique(r.conflicts.begin(), r.conflicts.end()), r.conflicts.end());
  return {};
}

}  // namespace akt::store

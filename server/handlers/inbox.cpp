// The conflict inbox (docs/PROTOCOL.md §11): admins and supervisors list entries, look at one with
// every candidate, and resolve it. A resolution is a new version by the resolver's own actor, its
// context the version they saw, pushed like any edit: it fast-forwards, or merges with a device edit
// that arrived meanwhile (a new entry only if the same field differs). Nothing is overwritten unseen.
#include "server/handlers/handlers.hpp"

#include <algorithm>
#include <charconv>

#include "schema/store/store_tx.hpp"
#include "server/handlers/json_io.hpp"
#include "server/problem.hpp"
#include "sync/uuid.hpp"
#include "sync/inbox_kind.hpp"
#include "sync/merge.hpp"
#include "sync/scope_json.hpp"
#include "sync/wire_json.hpp"

using nlohmann::json;

namespace akt::server {

namespace {

bool parse_id(std::string_view s, std::int64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out >= 1;
}

bool visible(const Principal& who, const store::InboxEntry& e) {
  return !who.scope || sync::in_scope(*who.scope, e.scope, e.form_id);
}

nlohmann::json entry_json(const store::InboxEntry& e) {
  json j{{"id", e.id},         {"record", e.record_id},   {"kind", std::string(sync::to_string(e.kind))},
         {"path", e.path},     {"status", e.status},      {"form", e.form_id},
         {"scope", {{"municipality", e.scope.municipality}, {"community", e.scope.community},
                    {"component", e.scope.component}}},
         {"opened_at", e.opened_at}, {"updated_at", e.updated_at}};
  j["ancestor"] = e.ancestor_json.empty() ? json() : json::parse(e.ancestor_json, nullptr, false);
  j["candidates"] = json::parse(e.candidates_json, nullptr, false);
  j["detail"] = json::parse(e.detail_json, nullptr, false);
  if (e.status == "resolved") {
    j["resolved_at"] = e.resolved_at;
    j["resolved_by"] = e.resolved_by;
    j["resolution"] = json::parse(e.resolution_json, nullptr, false);
  }
  return j;
}

}  // namespace

HttpResponse handle_list_conflicts(const Query& q, const Principal& who, AppState& app) {
  store::InboxFilter f;
  auto get = [&](const char* k) { auto it = q.find(k); return it == q.end() ? std::string() : it->second; };
  f.status = q.count("status") ? get("status") : "open";
  if (f.status == "all") f.status.clear();
  if (!f.status.empty() && f.status != "open" && f.status != "resolved")
    return problem(400, "invalid_filter", "status: open, resolved or all");
  if (const std::string kind = get("kind"); !kind.empty()) {
    f.kind = sync::inbox_kind_from(kind);
    if (!f.kind) {
      std::string names;
      for (const auto& k : sync::inbox_kinds()) names += (names.empty() ? "" : ", ") + std::string(k.name);
      return problem(400, "invalid_filter", "kind: one of " + names);
    }
  }
  f.form_id = get("form");
  f.municipality = get("municipality");
  std::int64_t limit = 100, before = 0, older = 0;
  if (q.count("limit") && !parse_id(get("limit"), limit)) return problem(400, "invalid_paging", "limit: an integer >= 1");
  if (q.count("before") && !parse_id(get("before"), before)) return problem(400, "invalid_paging", "before: an id");
  if (q.count("older_than_ms") && !parse_id(get("older_than_ms"), older))
    return problem(400, "invalid_filter", "older_than_ms: an integer >= 1");
  f.limit = static_cast<std::size_t>(std::min<std::int64_t>(limit, 500));
  f.before_id = before;
  f.opened_before = older ? app.now_ms() - older : 0;
  json out = json::array();
  std::int64_t last = 0;
  std::size_t scanned = 0;
  Status st = app.store->query([&](store::StoreReader& tx) {
    auto rows = tx.list_inbox(f);
    if (!rows.ok()) return rows.status();
    scanned = rows->size();
    for (const auto& e : *rows) {
      last = e.id;
      if (visible(who, e)) out.push_back(entry_json(e));
    }
    return Status();
  });
  if (!st.ok()) return problem_from(st, "internal");
  json page{{"v", 1}, {"entries", out}};
  if (scanned == f.limit) page["next_before"] = last;
  return json_response(200, page);
}

HttpResponse handle_get_conflict(std::string_view id_text, const Principal& who, AppState& app) {
  std::int64_t id = 0;
  if (!parse_id(id_text, id)) return problem(400, "invalid_id", "conflict id: an integer >= 1");
  json out;
  bool found = false;
  Status st = app.store->query([&](store::StoreReader& tx) {
    auto e = tx.get_inbox_entry(id);
    if (!e.ok()) return e.status();
    if (!*e || !visible(who, **e)) return Status();
    found = true;
    out = entry_json(**e);
    // Who made each candidate: the device and its user.
    for (auto& c : out["candidates"]) {
      if (!c.contains("dot")) continue;
      auto d = tx.device_of(c["dot"]["actor"].get<std::string>());
      if (!d.ok()) return d.status();
      c["device"] = d->first;
      c["user"] = d->second;
    }
    return Status();
  });
  if (!st.ok()) return problem_from(st, "internal");
  if (!found) return problem(404, "conflict_not_found", "no conflict entry " + std::to_string(id));
  auto rec = app.store->record(out["record"].get<std::string>());
  if (!rec.ok()) return problem_from(rec.status(), "internal");
  if (*rec) {
    std::string text;
    sync::append_record_state(text, **rec);
    out["record_state"] = json::parse(text, nullptr, false);
    const auto body = json::parse((*rec)->live.front().body, nullptr, false);
    const std::string path = out["path"];
    if (body.is_object() && body.contains(path)) out["provisional"] = body[path];
  }
  return json_response(200, {{"v", 1}, {"entry", out}});
}

namespace {

// The item of repeat group `group` with id `id` in `body`, or nullptr.
json* find_item(json& body, const std::string& group, const std::string& id_key, const std::string& id) {
  auto it = body.find(group);
  if (it == body.end() || !it->is_array()) return nullptr;
  for (json& item : *it)
    if (item.is_object() && item.contains(id_key) && item[id_key] == id) return &item;
  return nullptr;
}

// Sets (or removes, when `value` is null) the answer at `path` ("key", "group[id]", "group[id].field").
// Returns an error text when the path cannot be reached in `body`.
std::optional<std::string> set_path(json& body, const std::string& path, const json* value,
                                    const sync::MergeSchema& schema) {
  const std::size_t open = path.find('[');
  if (open == std::string::npos) {
    if (value) body[path] = *value;
    else body.erase(path);
    return std::nullopt;
  }
  const std::size_t close = path.find(']', open);
  if (close == std::string::npos) return "unreadable path " + path;
  const std::string group = path.substr(0, open), id = path.substr(open + 1, close - open - 1);
  auto g = schema.repeats.find(group);
  if (g == schema.repeats.end()) return "'" + group + "' is not a repeat group of this form version";
  const std::string& id_key = g->second.item_id;
  if (close + 1 == path.size()) {  // the item itself
    if (!body.contains(group) || !body[group].is_array()) body[group] = json::array();
    json& items = body[group];
    for (auto it = items.begin(); it != items.end(); ++it)
      if (it->is_object() && it->contains(id_key) && (*it)[id_key] == id) {
        items.erase(it);
        break;
      }
    if (value) {
      if (!value->is_object() || !value->contains(id_key) || (*value)[id_key] != id)
        return "the value of " + path + " is the whole item: an object whose " + id_key + " is \"" + id + "\"";
      items.push_back(*value);
    }
    return std::nullopt;
  }
  if (path[close + 1] != '.') return "unreadable path " + path;
  json* item = find_item(body, group, id_key, id);
  if (item == nullptr) return "the version you saw has no item " + group + "[" + id + "]";
  const std::string field = path.substr(close + 2);
  if (value) (*item)[field] = *value;
  else item->erase(field);
  return std::nullopt;
}

}  // namespace

namespace {

// A version written by an admin, supervisor or M&E officer (a resolution or a review): its context the
// version they saw, its values the ones they chose, pushed like an edit by their own replica id.
struct AdminEdit {
  std::string record_id;
  json seen;                                                      // the clock they saw
  std::vector<std::pair<std::string, std::optional<json>>> choices;  // path -> value (nullopt: remove)
  bool deleted = false;
  std::string batch_prefix;
  // The language of the field messages when the values break the form (Accept-Language, PROTOCOL §4.4).
  forms::Lang lang = forms::Lang::kEn;
};

struct AdminEditResult {
  std::optional<HttpResponse> error;
  sync::EditResult result;
  sync::Dot dot;
};

AdminEditResult push_admin_edit(AppState& app, const Principal& who, const AdminEdit& a) {
  AdminEditResult out;
  auto seen = sync::decode_clock(a.seen.dump());
  if (!a.seen.is_object() || !seen.ok()) {
    out.error = problem(400, "invalid_resolution", "seen: a vector clock {actor: counter}");
    return out;
  }
  // The version they saw must exist: a context covering versions they never saw is stale.
  auto rec = app.store->record(a.record_id);
  if (!rec.ok()) return out.error = problem_from(rec.status(), "internal"), out;
  if (!*rec) return out.error = problem(404, "record_not_found", "no record " + a.record_id), out;
  const sync::Version& live = (*rec)->live.front();
  std::optional<std::string> seen_body;
  std::int64_t seen_form_version = live.form_version;
  if (live.clock == *seen) {
    seen_body = live.body;
  } else {
    Status rs = app.store->query([&](store::StoreReader& tx) {
      auto found = tx.version_with_clock(a.record_id, *seen);
      if (!found.ok()) return found.status();
      if (*found) seen_body = std::move((*found)->body), seen_form_version = (*found)->form_version;
      return Status();
    });
    if (!rs.ok()) return out.error = problem_from(rs, "internal"), out;
    if (!seen_body)
      return out.error = problem(409, "stale_resolution", "seen is not the clock of any version of this record"), out;
  }
  json body = json::parse(*seen_body, nullptr, false);
  if (!body.is_object()) return out.error = problem(500, "internal", "unreadable record body"), out;
  sync::Edit e;
  e.record_id = a.record_id;
  e.form_id = (*rec)->form_id;
  e.form_version = std::max(seen_form_version, live.form_version);
  e.scope = (*rec)->scope;
  e.context = *seen;
  e.device_time = app.now_ms();
  const sync::MergeSchema schema = app.forms.schema_for(e.form_id, e.form_version);
  for (const auto& [path, value] : a.choices) {
    if (auto err = set_path(body, path, value ? &*value : nullptr, schema))
      return out.error = problem(422, "unsupported_resolution", *err), out;
    e.changed.push_back(path);
  }
  if (a.deleted) {
    e.deleted = true;
    body = json::object();
  }
  // The version carries the scope its body states (PROTOCOL §4.4): accepting a held move moves the
  // record, and only a resolver whose scope covers where it goes may do so (SECURITY.md §2).
  e.scope = sync::scope_of_body(body, e.scope);
  if (who.scope && !sync::in_scope(*who.scope, e.scope, e.form_id))
    return out.error = problem(403, "out_of_scope",
                               "the chosen values put the record in " + e.scope.municipality + "/" + e.scope.community +
                                   "/" + e.scope.component + ", outside your scope"),
           out;
  std::string actor;
  Status as = app.store->query([&](store::StoreReader& tx) {
    auto found = resolver_actor_of(tx, app, who.username);
    if (!found.ok()) return found.status();
    actor = std::move(*found);
    return Status();
  });
  if (!as.ok()) return out.error = problem_from(as, "internal"), out;
  if (actor.empty()) return out.error = problem(403, "forbidden", "only a user's session resolves or reviews"), out;
  e.dot = {actor, std::max(seen->get(actor), live.clock.get(actor)) + 1};
  std::int64_t own_latest = 0;  // the resolver's latest version of this record
  {
    // The replica's counter must be beyond every dot of theirs, on any record.
    Status cs = app.store->query([&](store::StoreReader& tx) {
      auto counters = tx.actor_counters(actor, a.record_id);
      if (!counters.ok()) return counters.status();
      e.dot.n = std::max(e.dot.n, counters->any_record + 1);
      own_latest = counters->this_record;
      return Status();
    });
    if (!cs.ok()) return out.error = problem_from(cs, "internal"), out;
  }
  // A view older than the resolver's own earlier resolution (or review) of this record is as stale as
  // any other: answered before anything is pushed, so nothing is stored or quarantined.
  const std::string stale_own = "seen is older than your own earlier resolution of this record: look again";
  if (seen->get(actor) < own_latest) return out.error = problem(409, "stale_resolution", stale_own), out;
  // Canonical body text, as a push would store it.
  sync::PushRequest batch{a.batch_prefix + "-" + std::to_string(app.now_ms()), {}};
  e.body = body.dump();
  batch.edits.push_back(e);
  auto decoded = sync::decode_push_request(sync::encode_push_request(batch), sync::WireLimits{});
  if (!decoded.ok()) return out.error = problem(400, "invalid_resolution", decoded.status().message()), out;
  const auto prechecks = validate_edits(decoded->edits, app, nullptr, a.lang);
  if (prechecks[0]) {
    HttpResponse r = problem(422, "invalid_resolution", "the chosen values break the form: " + prechecks[0]->detail);
    json pb = json::parse(r.body);
    pb["fields"] = json::parse(prechecks[0]->fields_json.empty() ? "[]" : prechecks[0]->fields_json, nullptr, false);
    r.body = pb.dump();
    return out.error = std::move(r), out;
  }
  store::PushInput in{actor, &*decoded, app.now_ms(), nullptr, nullptr};
  use_forms(in, app, a.lang);
  in.resolution = true;
  auto pushed = app.store->push(in);
  if (!pushed.ok()) return out.error = problem_from(pushed.status(), "internal"), out;
  if (!pushed->replayed) {
    // Applied now: the store's own results (one edit, one result).
    if (pushed->results.size() != 1) return out.error = problem(500, "internal", "no result for the admin edit"), out;
    out.result = std::move(pushed->results.front());
  } else {
    // A batch id used before (two resolutions of one entry in the same millisecond): its stored answer.
    auto result = sync::decode_push_response(pushed->response);
    if (!result.ok() || result->results.empty())
      return out.error = problem(500, "internal", "unreadable answer to the admin edit"), out;
    out.result = result->results.front();
  }
  out.dot = e.dot;
  // stale_context: another resolution of theirs committed between the check above and this push.
  if (out.result.outcome == sync::Outcome::kRejected && out.result.error_code == "stale_context")
    out.error = problem(409, "stale_resolution", stale_own);
  else if (out.result.outcome == sync::Outcome::kRejected)
    out.error = problem(409, "resolution_rejected", out.result.error_code + ": " + out.result.error_detail);
  return out;
}

std::vector<std::string> split_fields(const std::string& path) {
  std::vector<std::string> fields;
  for (std::size_t at = 0; at <= path.size();) {
    const std::size_t end = std::min(path.find(',', at), path.size());
    if (end > at) fields.push_back(path.substr(at, end - at));
    at = end + 1;
  }
  return fields;
}

}  // namespace

namespace {

// What a resolver chose for one inbox entry, parsed and checked against the entry's kind: the values to
// write (edit) and, for the kinds decided by an action, the action. Answers `error` when the body is not
// a resolution of this entry.
struct Resolution {
  AdminEdit edit;
  std::string action;  // delete_edit: confirm_delete | restore; locked_change, permission: accept | reject;
                       // duplicate_candidate: keep_both | exclude; "" for field and semantic entries
  std::optional<HttpResponse> error;
  // Whether the resolution writes a version (reject and keep_both only close the entry).
  bool writes() const { return action != "reject" && action != "keep_both"; }
};

HttpResponse bad_resolution(const std::string& detail) { return problem(400, "invalid_resolution", detail); }

// field: {"value": v} or {"remove": true}.
std::optional<HttpResponse> parse_field(const store::InboxEntry& entry, const json& j, Resolution& r) {
  const bool remove = j.value("remove", false) == true;
  if (!j.contains("value") && !remove)
    return bad_resolution("value (the chosen value) or \"remove\": true is required");
  r.edit.choices.emplace_back(entry.path, remove ? std::nullopt : std::optional<json>(j["value"]));
  return std::nullopt;
}

// semantic: each field of the entry once, in "values" or in "remove".
std::optional<HttpResponse> parse_semantic(const store::InboxEntry& entry, const json& j, Resolution& r) {
  const json values = j.value("values", json::object());
  const json removes = j.value("remove", json::array());
  if (!values.is_object() || !removes.is_array()) return bad_resolution("values: {field: value}; remove: [field]");
  const std::vector<std::string> fields = split_fields(entry.path);
  for (const std::string& f : fields) {
    const bool removed = std::find(removes.begin(), removes.end(), json(f)) != removes.end();
    if (values.contains(f) == removed)
      return bad_resolution("give each field of the entry (" + entry.path + ") once, in values or in remove: " + f);
    r.edit.choices.emplace_back(f, removed ? std::nullopt : std::optional<json>(values[f]));
  }
  for (const auto& [k, v] : values.items())
    if (std::find(fields.begin(), fields.end(), k) == fields.end())
      return bad_resolution("'" + k + "' is not a field of this entry (" + entry.path + ")");
  return std::nullopt;
}

// delete_edit: {"action": "confirm_delete" | "restore"}.
std::optional<HttpResponse> parse_delete(const store::InboxEntry& entry, const json& j, Resolution& r) {
  r.action = j.value("action", std::string());
  if (!sync::inbox_kind_allows(entry.kind, r.action))
    return bad_resolution("action: confirm_delete (the record goes) or restore (it stays)");
  r.edit.deleted = r.action == "confirm_delete";
  return std::nullopt;
}

// locked_change, permission: {"action": "accept" | "reject"}; accept applies the given values or the
// latest held candidate's.
std::optional<HttpResponse> parse_held(const store::InboxEntry& entry, const json& j, Resolution& r) {
  r.action = j.value("action", std::string());
  if (!sync::inbox_kind_allows(entry.kind, r.action))
    return bad_resolution("action: accept (apply the held change) or reject (keep the record)");
  if (r.action != "accept") return std::nullopt;
  const json cands = json::parse(entry.candidates_json, nullptr, false);
  json values = j.value("values", json());
  json removes = j.value("remove", json::array());
  if (values.is_null() && cands.is_array() && !cands.empty()) {
    const json* latest = &cands.front();
    for (const json& c : cands)
      if (c.value("server_time", std::int64_t{0}) >= latest->value("server_time", std::int64_t{0})) latest = &c;
    values = latest->value("values", json::object());
    removes = latest->value("absent", json::array());
    if (latest->value("deleted", false)) r.edit.deleted = true;
  }
  if (!values.is_object() || !removes.is_array()) return bad_resolution("values: {field: value}; remove: [field]");
  for (const auto& [k, v] : values.items()) r.edit.choices.emplace_back(k, v);
  for (const auto& k : removes)
    if (k.is_string()) r.edit.choices.emplace_back(k.get<std::string>(), std::nullopt);
  // A correction to an approved record goes back for review unless the resolver re-approves.
  if (entry.kind == sync::InboxKind::kLockedChange && !r.edit.deleted)
    r.edit.choices.emplace_back("review_status", json(j.value("review_status", std::string("submitted"))));
  return std::nullopt;
}

// duplicate_candidate: {"action": "keep_both"} or {"action": "exclude", "record": one candidate}.
std::optional<HttpResponse> parse_duplicate(const store::InboxEntry& entry, const json& j, Resolution& r) {
  r.action = j.value("action", std::string());
  if (!sync::inbox_kind_allows(entry.kind, r.action))
    return bad_resolution("action: keep_both (two observations) or exclude with record (marked excluded_duplicate)");
  if (r.action != "exclude") return std::nullopt;
  const std::string target = j.value("record", std::string());
  const json cands = json::parse(entry.candidates_json, nullptr, false);
  bool listed = false;
  for (const json& c : cands) listed = listed || c.value("record", std::string()) == target;
  if (!listed) return bad_resolution("record: one of the entry's candidate records");
  r.edit.record_id = target;
  r.edit.choices.emplace_back("review_status", json("excluded_duplicate"));
  if (j.contains("comment") && j["comment"].is_string()) r.edit.choices.emplace_back("review_comment", j["comment"]);
  return std::nullopt;
}

// The resolution a request body `j` gives for `entry` (an open entry the resolver may see).
Resolution parse_resolution(const store::InboxEntry& entry, const json& j, forms::Lang lang) {
  Resolution r{AdminEdit{entry.record_id, j["seen"], {}, false, "resolve-" + std::to_string(entry.id)}, {}, {}};
  r.edit.lang = lang;
  switch (entry.kind) {  // every kind (sync/inbox_kind.hpp): the compiler names one left out
    case sync::InboxKind::kField: r.error = parse_field(entry, j, r); break;
    case sync::InboxKind::kSemantic: r.error = parse_semantic(entry, j, r); break;
    case sync::InboxKind::kDeleteEdit: r.error = parse_delete(entry, j, r); break;
    case sync::InboxKind::kLockedChange:
    case sync::InboxKind::kPermission: r.error = parse_held(entry, j, r); break;
    case sync::InboxKind::kDuplicateCandidate: r.error = parse_duplicate(entry, j, r); break;
  }
  return r;
}

// Whether the entry stays open after the resolution's version `x` was pushed: a device edit that arrived
// meanwhile diverges again on the same fields, or (a deletion decision) still disagrees, i.e. the merge
// gave the entry new candidates (a keep against a confirmed deletion, or a deletion against a restore).
bool stays_open(const Resolution& r, const sync::EditResult& x, std::int64_t id) {
  if (r.action == "confirm_delete" || r.action == "restore")
    return x.outcome == sync::Outcome::kMerged && std::find(x.entries.begin(), x.entries.end(), id) != x.entries.end();
  if (!r.action.empty()) return false;
  for (const auto& [path, value] : r.edit.choices)
    if (std::find(x.conflicts.begin(), x.conflicts.end(), path) != x.conflicts.end()) return true;
  return false;
}

// The resolution as the closed entry keeps it (PROTOCOL §11.4).
json resolution_json(const store::InboxEntry& entry, const Resolution& r, const sync::Dot& dot) {
  json chosen = json::object();
  for (const auto& [path, value] : r.edit.choices) chosen[path] = value ? *value : json();
  json resolution{{"candidates", json::parse(entry.candidates_json, nullptr, false)}};
  if (r.writes()) resolution["dot"] = {{"actor", dot.actor}, {"n", dot.n}};
  if (r.action == "exclude") resolution["record"] = r.edit.record_id;
  if (entry.kind == sync::InboxKind::kField) {
    resolution["value"] = r.edit.choices.front().second ? *r.edit.choices.front().second : json();
    if (!r.edit.choices.front().second) resolution["removed"] = true;
  } else if (r.writes() && r.action != "confirm_delete" && r.action != "restore") {
    resolution["values"] = chosen;
  }
  if (!r.action.empty()) resolution["action"] = r.action;
  return resolution;
}

}  // namespace

// Three steps: read the entry and parse the body into a Resolution; push its version (when it writes
// one) and close the entry unless it stays open; answer.
HttpResponse handle_resolve_conflict(const HttpRequest& req, std::string_view id_text, const Principal& who,
                                     AppState& app) {
  std::int64_t id = 0;
  if (!parse_id(id_text, id)) return problem(400, "invalid_id", "conflict id: an integer >= 1");
  json j;
  if (auto err = parse_json_object(req.body, j)) return std::move(*err);
  if (!j.contains("seen") || !j["seen"].is_object())
    return bad_resolution("seen (the clock of the version you looked at) is required");
  std::optional<store::InboxEntry> entry;
  Status st = app.store->query([&](store::StoreReader& tx) {
    auto e = tx.get_inbox_entry(id);
    if (!e.ok()) return e.status();
    entry = std::move(*e);
    return Status();
  });
  if (!st.ok()) return problem_from(st, "internal");
  if (!entry || !visible(who, *entry)) return problem(404, "conflict_not_found", "no conflict entry " + std::to_string(id));
  if (entry->status != "open") return problem(409, "already_resolved", "the entry was resolved before");
  Resolution r = parse_resolution(*entry, j, forms::negotiate_language(req.header("accept-language")));
  if (r.error) return std::move(*r.error);

  sync::EditResult x;
  sync::Dot dot;
  if (r.writes()) {
    AdminEditResult pushed = push_admin_edit(app, who, r.edit);
    if (pushed.error) return std::move(*pushed.error);
    x = pushed.result;
    dot = pushed.dot;
  }
  const bool reopened = stays_open(r, x, id);
  if (!reopened) {
    const json resolution = resolution_json(*entry, r, dot);
    st = app.store->update([&](store::StoreWriter& tx) {
      AKT_TRY(tx.close_inbox_entry(id, who.username, resolution.dump(), app.now_ms()));
      return audit(tx, app, who.username, "conflict_resolved",
                   entry->record_id + " " + std::string(sync::to_string(entry->kind)) + (entry->path.empty() ? "" : " " + entry->path), resolution,
                   req.remote);
    });
    if (!st.ok()) return problem_from(st, "internal");
  }

  json answer{{"v", 1}, {"id", id}, {"closed", !reopened}};
  if (r.writes()) {
    answer["outcome"] = sync::to_string(x.outcome);
    answer["version"] = {{"actor", dot.actor}, {"n", dot.n}};
  } else {
    answer["outcome"] = r.action == "reject" ? "rejected_change" : "kept_both";
  }
  return json_response(200, answer);
}

HttpResponse handle_review_record(const HttpRequest& req, const std::string& record_id, const Principal& who,
                                  AppState& app) {
  if (!sync::parse_uuid(record_id)) return problem(400, "invalid_id", "record id: a UUID");
  json j;
  if (auto err = parse_json_object(req.body, j)) return std::move(*err);
  static const std::vector<std::string> kStatuses = {"submitted", "returned", "approved", "excluded_duplicate",
                                                     "excluded_invalid"};
  const std::string status = j.value("status", std::string());
  if (!j.contains("seen") || !j["seen"].is_object() ||
      std::find(kStatuses.begin(), kStatuses.end(), status) == kStatuses.end())
    return problem(400, "invalid_review",
                   "seen (the clock of the version reviewed) and status (submitted, returned, approved, "
                   "excluded_duplicate or excluded_invalid) are required");
  if (j.contains("comment") && !j["comment"].is_string())
    return problem(400, "invalid_review", "comment: a string");
  auto rec = app.store->record(record_id);
  if (!rec.ok()) return problem_from(rec.status(), "internal");
  if (!*rec || (who.scope && !sync::in_scope(*who.scope, (*rec)->scope, (*rec)->form_id)))
    return problem(404, "record_not_found", "no record " + record_id);
  if ((*rec)->live.front().deleted) return problem(409, "record_deleted", "a deleted record is not reviewed");
  AdminEdit edit{record_id, j["seen"], {{"review_status", json(status)}}, false, "review-" + record_id};
  edit.lang = forms::negotiate_language(req.header("accept-language"));
  if (j.contains("comment")) edit.choices.emplace_back("review_comment", j["comment"]);
  AdminEditResult pushed = push_admin_edit(app, who, edit);
  if (pushed.error) {
    if (pushed.error->status == 400) {  // the shared helper speaks of resolutions
      json pb = json::parse(pushed.error->body, nullptr, false);
      if (pb.is_object()) pb["code"] = "invalid_review", pushed.error->body = pb.dump();
    }
    return std::move(*pushed.error);
  }
  Status st = app.store->update([&](store::StoreWriter& tx) {
    return audit(tx, app, who.username, "record_reviewed", record_id, {{"status", status}}, req.remote);
  });
  if (!st.ok()) return problem_from(st, "internal");
  return json_response(200, {{"v", 1},
                             {"record", record_id},
                             {"status", status},
                             {"outcome", sync::to_string(pushed.result.outcome)},
                             {"conflicts", pushed.result.conflicts},
                             {"version", {{"actor", pushed.dot.actor}, {"n", pushed.dot.n}}}});
}

// Many records at once (PROTOCOL §11.8): each as in §11.7, one audit entry for the whole action.
HttpResponse handle_bulk_review(const HttpRequest& req, const Principal& who, AppState& app) {
  json j;
  if (auto err = parse_json_object(req.body, j)) return std::move(*err);
  static const std::vector<std::string> kStatuses = {"submitted", "returned", "approved", "excluded_duplicate",
                                                     "excluded_invalid"};
  const std::string status = j.value("status", std::string());
  const auto list = j.find("records");
  if (std::find(kStatuses.begin(), kStatuses.end(), status) == kStatuses.end() || list == j.end() ||
      !list->is_array() || list->empty() || list->size() > 1000 || (j.contains("comment") && !j["comment"].is_string()))
    return problem(400, "invalid_review",
                   "status (as in a single review), records (1 to 1000 objects {record, seen}) and an optional "
                   "comment (a string) are required");
  for (const auto& x : *list)
    if (!x.is_object() || !x.contains("record") || !x["record"].is_string() ||
        !sync::parse_uuid(x["record"].get<std::string>()) || !x.contains("seen") || !x["seen"].is_object())
      return problem(400, "invalid_review", "each of records: {record: a UUID, seen: the clock of the version reviewed}");
  std::size_t reviewed = 0;
  json skipped = json::array();
  for (const auto& x : *list) {
    const std::string id = x["record"].get<std::string>();
    auto rec = app.store->record(id);
    if (!rec.ok()) return problem_from(rec.status(), "internal");
    if (!*rec || (who.scope && !sync::in_scope(*who.scope, (*rec)->scope, (*rec)->form_id))) {
      skipped.push_back({{"record", id}, {"code", "record_not_found"}});
      continue;
    }
    if ((*rec)->live.front().deleted) {
      skipped.push_back({{"record", id}, {"code", "record_deleted"}});
      continue;
    }
    AdminEdit edit{id, x["seen"], {{"review_status", json(status)}}, false, "review-" + id};
    edit.lang = forms::negotiate_language(req.header("accept-language"));
    if (j.contains("comment")) edit.choices.emplace_back("review_comment", j["comment"]);
    AdminEditResult pushed = push_admin_edit(app, who, edit);
    if (pushed.error) {
      json pb = json::parse(pushed.error->body, nullptr, false);
      skipped.push_back({{"record", id}, {"code", pb.is_object() ? pb.value("code", "refused") : "refused"}});
      continue;
    }
    ++reviewed;
  }
  Status st = app.store->update([&](store::StoreWriter& tx) {
    return audit(tx, app, who.username, "records_reviewed", std::to_string(reviewed) + " record(s)",
                 {{"status", status}, {"reviewed", reviewed}, {"skipped", skipped.size()}}, req.remote);
  });
  if (!st.ok()) return problem_from(st, "internal");
  return json_response(200, {{"v", 1}, {"status", status}, {"reviewed", reviewed}, {"skipped", skipped}});
}

}  // namespace akt::server

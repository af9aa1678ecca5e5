// Administration (docs/PROTOCOL.md §9): users, roles, assignments, enrolment codes, devices, the audit
// log and the quarantine. Every change is written with its audit entry in one transaction.
#include "server/handlers/handlers.hpp"


#include "schema/store/store_tx.hpp"
#include "server/handlers/json_io.hpp"
#include "server/password.hpp"
#include "server/problem.hpp"
#include "sync/uuid.hpp"
#include "sync/wire_json.hpp"

namespace akt::server {

namespace {

constexpr std::int64_t kHourMs = 3600 * 1000;

bool valid_username(const std::string& u) {
  if (u.size() < 3 || u.size() > 32) return false;
  for (char c : u)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) return false;
  return true;
}

nlohmann::json user_json(const store::User& u, const std::vector<sync::Assignment>& as, const std::string& supervisor) {
  return {{"username", u.username}, {"display_name", u.display_name}, {"role", sync::to_string(u.role)},
          {"disabled", u.disabled}, {"scope_version", u.scope_version}, {"created_at", u.created_at},
          {"special_category", u.special_category}, {"assignments", assignments_json(as)},
          {"supervisor", supervisor.empty() ? nlohmann::json() : nlohmann::json(supervisor)}};
}

std::int64_t int_param(const Query& q, const char* key, std::int64_t dflt, std::int64_t max) {
  auto it = q.find(key);
  if (it == q.end()) return dflt;
  char* end = nullptr;
  long long v = std::strtoll(it->second.c_str(), &end, 10);
  if (end == it->second.c_str() || *end || v < 0) return -1;
  return std::min<std::int64_t>(v, max);
}

}  // namespace

HttpResponse with_user(AppState& app, const std::string& username,
                       const std::function<Status(store::StoreWriter&, const store::User&)>& fn, HttpResponse ok) {
  bool missing = false;
  Status st = app.store->update([&](store::StoreWriter& tx) {
    auto u = tx.find_user(username);
    if (!u.ok()) return u.status();
    if (!*u) {
      missing = true;
      return Status::not_found("no user " + username);
    }
    return fn(tx, **u);
  });
  if (missing) return problem(404, "user_not_found", "no user '" + username + "'");
  if (!st.ok()) return problem_from(st, "invalid_request");
  return ok;
}

HttpResponse handle_list_users(AppState& app) {
  nlohmann::json users = nlohmann::json::array();
  Status st = app.store->query([&](store::StoreReader& tx) {
    auto list = tx.list_users();
    if (!list.ok()) return list.status();
    std::map<std::int64_t, std::string> names;
    for (const auto& u : *list) names[u.id] = u.username;
    for (const auto& u : *list) {
      auto as = tx.assignments_of(u.id);
      if (!as.ok()) return as.status();
      users.push_back(user_json(u, *as, u.supervisor_id ? names[u.supervisor_id] : std::string()));
    }
    return Status();
  });
  if (!st.ok()) return problem_from(st, "internal");
  return json_response(200, {{"v", 1}, {"users", users}});
}

HttpResponse handle_create_user(const HttpRequest& req, const Principal& who, AppState& app) {
  nlohmann::json j;
  if (auto err = parse_json_object(req.body, j)) return std::move(*err);
  auto username = string_member(j, "username", 64);
  auto password = string_member(j, "password", 1024);
  auto role = string_member(j, "role", 32);
  if (!username || !valid_username(*username))
    return problem(400, "invalid_username", "username: 3-32 characters of a-z 0-9 _ . -");
  if (!password || password->size() < app.config.accounts.min_password_length)
    return problem(400, "weak_password",
                   "password: at least " + std::to_string(app.config.accounts.min_password_length) + " characters");
  if (!role || !sync::role_from_string(*role))
    return problem(400, "invalid_role", "role: enumerator, supervisor, me_officer or admin");
  store::User u;
  u.username = *username;
  u.display_name = string_member(j, "display_name", 200).value_or("");
  u.role = *sync::role_from_string(*role);
  u.password_hash = hash_password(*password, {app.config.accounts.password_kdf_n, 8, 1});
  u.created_at = app.now_ms();
  auto supervisor = string_member(j, "supervisor", 64);
  bool bad_supervisor = false, exists = false;
  Status st = app.store->update([&](store::StoreWriter& tx) {
    if (supervisor) {
      auto s = tx.find_user(*supervisor);
      if (!s.ok()) return s.status();
      if (!*s || (*s)->role != sync::Role::kSupervisor) {
        bad_supervisor = true;
        return Status::invalid_argument("supervisor");
      }
      u.supervisor_id = (*s)->id;
    }
    auto id = tx.insert_user(u);
    if (!id.ok()) {
      exists = id.status().code() == Status::Code::kConflict;
      return id.status();
    }
    return audit(tx, app, who.username, "user_created", u.username, {{"role", *role}}, req.remote);
  });
  if (bad_supervisor) return problem(400, "invalid_supervisor", "supervisor must name a user with the supervisor role");
  if (exists) return problem(409, "user_exists", "user '" + u.username + "' exists");
  if (!st.ok()) return problem_from(st, "internal");
  return json_response(201, {{"v", 1}, {"user", user_json(u, {}, supervisor.value_or(""))}});
}

HttpResponse handle_set_role(const HttpRequest& req, const std::string& username, const Principal& who,
                             AppState& app) {
  nlohmann::json j;
  if (auto err = parse_json_object(req.body, j)) return std::move(*err);
  auto role = string_member(j, "role", 32);
  if (!role || !sync::role_from_string(*role))
    return problem(400, "invalid_role", "role: enumerator, supervisor, me_officer or admin");
  return with_user(app, username, [&](store::StoreWriter& tx, const store::User& u) {
    if (u.role == *sync::role_from_string(*role)) return Status();  // unchanged: nothing to raise or audit
    AKT_TRY(tx.set_role(u.id, *sync::role_from_string(*role)));
    return audit(tx, app, who.username, "role_changed", u.username,
                 {{"from", sync::to_string(u.role)}, {"to", *role}}, req.remote);
  }, json_response(200, {{"v", 1}, {"username", username}, {"role", *role}}));
}

HttpResponse handle_set_assignments(const HttpRequest& req, const std::string& username, const Principal& who,
                                    AppState& app) {
  nlohmann::json j;
  if (auto err = parse_json_object(req.body, j)) return std::move(*err);
  auto list = j.find("assignments");
  if (list == j.end() || !list->is_array() || list->size() > 1000)
    return problem(400, "invalid_assignments", "assignments: an array of at most 1000 objects");
  std::vector<sync::Assignment> as;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const auto& a = (*list)[i];
    if (!a.is_object()) return problem(400, "invalid_assignments", "assignments[" + std::to_string(i) + "]: an object");
    sync::Assignment x;
    for (auto [key, field] : {std::pair{"municipality", &x.municipality}, std::pair{"community", &x.community},
                              std::pair{"component", &x.component}, std::pair{"form", &x.form_id}}) {
      auto v = string_member(a, key, 128);
      if (a.contains(key) && !v)
        return problem(400, "invalid_assignments", "assignments[" + std::to_string(i) + "]." + key + ": a string");
      if (v) *field = v->empty() ? "*" : *v;
    }
    as.push_back(std::move(x));
  }
  return with_user(app, username, [&](store::StoreWriter& tx, const store::User& u) {
    // The same list again changes no scope: the user's tablets keep their cursors (PROTOCOL §9.4).
    auto now = tx.assignments_of(u.id);
    if (!now.ok()) return now.status();
    if (*now == as) return Status();
    AKT_TRY(tx.set_assignments(u.id, as));
    AKT_TRY(tx.bump_supervisor_scope(u.id));  // the supervisor's scope covers the team's
    return audit(tx, app, who.username, "scope_changed", u.username, {{"assignments", assignments_json(as)}},
                 req.remote);
  }, json_response(200, {{"v", 1}, {"username", username}, {"assignments", assignments_json(as)}}));
}

HttpResponse handle_set_disabled(const HttpRequest& req, const std::string& username, bool disabled,
                                 const Principal& who, AppState& app) {
  if (username == who.username && disabled) return problem(400, "cannot_disable_self", "an admin cannot disable themself");
  return with_user(app, username, [&](store::StoreWriter& tx, const store::User& u) {
    AKT_TRY(tx.set_disabled(u.id, disabled));
    return audit(tx, app, who.username, disabled ? "user_disabled" : "user_enabled", u.username,
                 nlohmann::json::object(), req.remote);
  }, json_response(200, {{"v", 1}, {"username", username}, {"disabled", disabled}}));
}

HttpResponse handle_set_special_category(const HttpRequest& req, const std::string& username, const Principal& who,
                                         AppState& app) {
  nlohmann::json j;
  if (auto err = parse_json_object(req.body, j)) return std::move(*err);
  auto it = j.find("granted");
  if (it == j.end() || !it->is_boolean())
    return problem(400, "invalid_grant", "body: {\"granted\": true} or {\"granted\": false}");
  const bool granted = it->get<bool>();
  return with_user(app, username, [&](store::StoreWriter& tx, const store::User& u) {
    AKT_TRY(tx.set_special_category(u.id, granted));
    return audit(tx, app, who.username, granted ? "special_category_granted" : "special_category_withdrawn",
                 u.username, nlohmann::json::object(), req.remote);
  }, json_response(200, {{"v", 1}, {"username", username}, {"special_category", granted}}));
}

HttpResponse handle_create_enrolment(const HttpRequest& req, const Principal& who, AppState& app) {
  nlohmann::json j;
  if (auto err = parse_json_object(req.body, j)) return std::move(*err);
  auto username = string_member(j, "username", 64);
  auto device_name = string_member(j, "device_name", 100);
  if (!username || !device_name || device_name->empty())
    return problem(400, "invalid_enrolment", "username and device_name (strings) are required");
  // Short enough to type on a tablet, long enough (64 bits) not to be guessed within the throttle.
  const std::string hex = random_hex(8);
  const std::string code = hex.substr(0, 4) + "-" + hex.substr(4, 4) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4);
  const std::int64_t expires = app.now_ms() + app.config.accounts.enrolment_hours * kHourMs;
  std::int64_t creator = who.user_id;
  return with_user(app, *username, [&](store::StoreWriter& tx, const store::User& u) {
    AKT_TRY(tx.insert_enrolment(sha256_raw(code), u.id, *device_name, creator ? creator : u.id, app.now_ms(),
                                expires));
    return audit(tx, app, who.username, "enrolment_issued", u.username, {{"device_name", *device_name}}, req.remote);
  }, json_response(201, {{"v", 1}, {"code", code}, {"expires_at", expires}, {"username", *username},
                         {"device_name", *device_name}}));
}

HttpResponse handle_list_devices(AppState& app) {
  nlohmann::json out = nlohmann::json::array();
  Status st = app.store->query([&](store::StoreReader& tx) {
    auto list = tx.list_devices();
    if (!list.ok()) return list.status();
    for (const auto& d : *list) {
      // enrolled (a tablet with a user), static (a config device) or resolver (the replica id under
      // which a console user's conflict resolutions are written; not a tablet).
      std::string kind = d.registered_at != 0 ? "enrolled" : "resolver";
      for (const auto& c : app.config.devices) {
        const auto id = sync::parse_uuid(c.actor);
        if (d.registered_at == 0 && id && sync::format_uuid(*id) == d.actor) kind = "static";
      }
      out.push_back({{"actor", d.actor}, {"kind", kind}, {"name", d.name}, {"username", d.username},
                     {"app_version", d.app_version},
                     {"registered_at", d.registered_at}, {"last_push", d.last_push}, {"last_pull", d.last_pull},
                     {"last_cursor", d.last_cursor}, {"revoked", d.revoked_at != 0}, {"client_app", d.client_app},
                     {"unsynced", d.unsynced < 0 ? nlohmann::json() : nlohmann::json(d.unsynced)},
                     {"reported_at", d.reported_at}});
    }
    return Status();
  });
  if (!st.ok()) return problem_from(st, "internal");
  return json_response(200, {{"v", 1}, {"devices", out}});
}

HttpResponse handle_revoke_device(const HttpRequest& req, const std::string& actor, const Principal& who,
                                  AppState& app) {
  auto id = sync::parse_uuid(actor);
  if (!id) return problem(400, "invalid_actor", "the device's actor id must be a UUID");
  const std::string canonical = sync::format_uuid(*id);
  bool missing = false;
  Status st = app.store->update([&](store::StoreWriter& tx) {
    Status r = tx.revoke_device(canonical, app.now_ms());
    missing = r.code() == Status::Code::kNotFound;
    AKT_TRY(r);
    return audit(tx, app, who.username, "device_revoked", canonical, nlohmann::json::object(), req.remote);
  });
  if (missing) return problem(404, "device_not_found", "no registered device " + canonical);
  if (!st.ok()) return problem_from(st, "internal");
  return json_response(200, {{"v", 1}, {"actor", canonical}, {"revoked", true}});
}

HttpResponse handle_audit(const Query& q, AppState& app) {
  const std::int64_t before = int_param(q, "before", 0, INT64_MAX), limit = int_param(q, "limit", 100, 1000);
  if (before < 0 || limit < 1) return problem(400, "invalid_paging", "before and limit must be non-negative integers");
  // Filters applied in the store, so that a page holds `limit` matching entries however old they are.
  store::AuditFilter filter;
  if (auto it = q.find("user"); it != q.end()) filter.username = it->second;  // "" = anonymous
  if (auto it = q.find("action"); it != q.end()) filter.action = it->second;
  if ((filter.username && filter.username->size() > 64) || filter.action.size() > 64)
    return problem(400, "invalid_filter", "user and action: at most 64 bytes");
  for (const char* end : {"from", "to"}) {
    auto it = q.find(end);
    if (it == q.end() || it->second.empty()) continue;
    auto day = parse_utc_time(it->second);
    if (!day || it->second.size() != 10) return problem(400, "invalid_filter", std::string(end) + ": YYYY-MM-DD (UTC)");
    (end[0] == 'f' ? filter.from_ms : filter.to_ms) = end[0] == 'f' ? day->first : day->second;
  }
  nlohmann::json out = nlohmann::json::array();
  std::int64_t last = 0;
  Status st = app.store->query([&](store::StoreReader& tx) {
    auto rows = tx.list_audit(filter, before, static_cast<std::size_t>(limit));
    if (!rows.ok()) return rows.status();
    for (const auto& a : *rows) {
      nlohmann::json detail = nlohmann::json::parse(a.detail_json, nullptr, false);
      out.push_back({{"id", a.id}, {"at", a.at}, {"username", a.username}, {"action", a.action},
                     {"target", a.target}, {"detail", detail.is_discarded() ? nlohmann::json::object() : detail},
                     {"remote", a.remote}});
      last = a.id;
    }
    return Status();
  });
  if (!st.ok()) return problem_from(st, "internal");
  nlohmann::json page{{"v", 1}, {"entries", out}};
  if (static_cast<std::int64_t>(out.size()) == limit) page["next_before"] = last;
  return json_response(200, page);
}

namespace {

// The per-field problems of a quarantined edit in the reader's language (PROTOCOL §10.7): the edit is
// checked again against its form version in `lang`, and a stored problem whose path and code the check
// gives again takes that message; any other keeps the message it was stored with.
nlohmann::json fields_in(const store::QuarantineEntry& e, AppState& app, forms::Lang lang) {
  nlohmann::json fields = nlohmann::json::parse(e.fields_json, nullptr, false);
  if (!fields.is_array() || fields.empty()) return fields;
  auto batch = sync::decode_push_request("{\"v\":1,\"batch_id\":\"q\",\"edits\":[" + e.edit_json + "]}",
                                         sync::WireLimits{});
  if (!batch.ok() || batch->edits.size() != 1) return fields;
  const auto again = validate_edits(batch->edits, app, nullptr, lang);
  if (again.empty() || !again[0]) return fields;
  const nlohmann::json now = nlohmann::json::parse(again[0]->fields_json, nullptr, false);
  if (!now.is_array()) return fields;
  for (auto& f : fields) {
    if (!f.is_object()) continue;
    for (const auto& g : now)
      if (g.value("path", "") == f.value("path", "") && g.value("code", "") == f.value("code", "")) {
        f["message"] = g.value("message", "");
        break;
      }
  }
  return fields;
}

}  // namespace

HttpResponse handle_quarantine(const HttpRequest& req, const Query& q, const Principal& who, AppState& app) {
  const forms::Lang lang = forms::negotiate_language(req.header("accept-language"));
  const std::int64_t before = int_param(q, "before", 0, INT64_MAX), limit = int_param(q, "limit", 100, 1000);
  if (before < 0 || limit < 1) return problem(400, "invalid_paging", "before and limit must be non-negative integers");
  auto rows = app.store->quarantine(before, static_cast<std::size_t>(limit));
  if (!rows.ok()) return problem_from(rows.status(), "internal");
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : *rows) {
    nlohmann::json edit = nlohmann::json::parse(e.edit_json, nullptr, false);
    const nlohmann::json args = nlohmann::json::parse(e.args_json, nullptr, false);
    if (who.scope) {
      // Supervisors see the rejected edits of their team's scope only.
      if (edit.is_discarded() || !edit.contains("scope") || !edit["scope"].is_object()) continue;
      const auto& sc = edit["scope"];
      const sync::Scope scope{sc.value("municipality", ""), sc.value("community", ""), sc.value("component", "")};
      if (!sync::in_scope(*who.scope, scope, edit.value("form", ""))) continue;
    }
    out.push_back({{"id", e.id}, {"device", e.device}, {"batch_id", e.batch_id}, {"record", e.record_id},
                   {"dot", {{"actor", e.dot.actor}, {"n", e.dot.n}}}, {"code", e.code}, {"detail", e.detail},
                   {"received_at", e.received_at}, {"edit", edit.is_discarded() ? nlohmann::json() : edit},
                   {"fields", fields_in(e, app, lang)},
                   {"args", args.is_object() ? args : nlohmann::json::object()},
                   {"released_at", e.released_at}, {"discarded_at", e.discarded_at}});
  }
  nlohmann::json page{{"v", 1}, {"entries", out}};
  if (static_cast<std::int64_t>(out.size()) == limit) page["next_before"] = rows->back().id;
  return json_response(200, page);
}

}  // namespace akt::server

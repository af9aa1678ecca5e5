// Login sessions, enrolment of tablets, and "who am I" (docs/PROTOCOL.md §8).
#include "server/handlers/handlers.hpp"

#include <array>
#include <chrono>

#include "schema/store/store_tx.hpp"
#include "server/handlers/json_io.hpp"
#include "server/handlers/passwords.hpp"
#include "server/password.hpp"
#include "server/problem.hpp"
#include "sync/uuid.hpp"

namespace akt::server {

namespace {

constexpr std::int64_t kHourMs = 3600 * 1000;

// A hash every failed login with an unknown username is checked against, so that the time taken does
// not tell whether the user exists.
const std::string& dummy_hash(const AppState& app) {
  static const std::string h = hash_password("not a real password", {app.config.accounts.password_kdf_n, 8, 1});
  return h;
}

HttpResponse too_many(std::int64_t seconds, const std::string& what) {
  HttpResponse r = problem(429, "too_many_attempts", what + "; retry after " + std::to_string(seconds) + " s");
  r.headers.emplace_back("Retry-After", std::to_string(seconds));
  return r;
}

}  // namespace

Status audit(store::StoreWriter& tx, AppState& app, const std::string& username, const std::string& action,
             const std::string& target, const nlohmann::json& detail, const std::string& remote) {
  return tx.insert_audit(app.now_ms(), username, action, target,
                         detail.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), remote);
}

std::string client_address(const HttpRequest& req) { return req.remote.substr(0, req.remote.rfind(':')); }

HttpResponse handle_login(const HttpRequest& req, AppState& app) {
  nlohmann::json j;
  if (auto err = parse_json_object(req.body, j)) return std::move(*err);
  auto username = string_member(j, "username", 64);
  auto password = string_member(j, "password", 1024);
  if (!username || !password) return problem(400, "invalid_login", "username and password (strings) are required");
  const auto now = std::chrono::steady_clock::now();
  const std::string addr = client_address(req);
  if (auto w = app.login_user_limiter.wait_seconds("u:" + *username, now)) return too_many(w, "too many failed logins for this user");
  if (auto w = app.login_addr_limiter.wait_seconds("a:" + addr, now)) return too_many(w, "too many failed logins from this address");

  std::optional<store::User> user;
  Status st = app.store->query([&](store::StoreReader& tx) {
    auto r = tx.find_user(*username);
    if (!r.ok()) return r.status();
    user = std::move(*r);
    return Status();
  });
  if (!st.ok()) return problem_from(st, "internal");
  bool one_time = false;
  const bool ok = verify_password(*password, user ? login_hash(user->password_hash, one_time) : dummy_hash(app)) &&
                  user && !user->disabled;
  if (!ok) {
    app.login_user_limiter.acquire("u:" + *username, now);
    app.login_addr_limiter.acquire("a:" + addr, now);
    app.store->update([&](store::StoreWriter& tx) {
      return audit(tx, app, "", "login_failed", *username, {{"reason", user ? "bad password or disabled" : "unknown user"}},
                   req.remote);
    });
    return problem(401, "invalid_credentials", "unknown user, wrong password, or disabled account");
  }
  const std::string token = "akts_" + random_hex(32);
  const std::int64_t expires = app.now_ms() + app.config.accounts.session_hours * kHourMs;
  st = app.store->update([&](store::StoreWriter& tx) {
    AKT_TRY(tx.insert_token(sha256_raw(token), "session", user->id, "", app.now_ms(), expires));
    if (one_time) AKT_TRY(tx.set_password_hash(user->id, used_one_time_hash(user->password_hash)));
    return audit(tx, app, user->username, "login", user->username, nlohmann::json::object(), req.remote);
  });
  if (!st.ok()) return problem_from(st, "internal");
  return json_response(200, {{"v", 1},
                             {"token", token},
                             {"expires_at", expires},
                             {"password_change_required", one_time},
                             {"user", {{"username", user->username}, {"role", sync::to_string(user->role)}}}});
}

HttpResponse handle_logout(const Principal& who, const HttpRequest& req, AppState& app) {
  if (who.kind != "session") return problem(400, "not_a_session", "only login sessions log out; devices are revoked");
  Status st = app.store->update([&](store::StoreWriter& tx) {
    AKT_TRY(tx.revoke_token(who.token_hash, app.now_ms()));
    return audit(tx, app, who.username, "logout", who.username, nlohmann::json::object(), req.remote);
  });
  if (!st.ok()) return problem_from(st, "internal");
  HttpResponse r;
  r.status = 204;
  return r;
}

nlohmann::json assignments_json(const std::vector<sync::Assignment>& as) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& a : as)
    out.push_back({{"municipality", a.municipality}, {"community", a.community}, {"component", a.component},
                   {"form", a.form_id}});
  return out;
}

HttpResponse handle_me(const Principal& who) {
  nlohmann::json j{{"v", 1},
                   {"username", who.username},
                   {"role", sync::to_string(who.role)},
                   {"kind", who.kind},
                   {"device_actor", who.device_actor},
                   {"scope_version", who.scope_version}};
  j["scope"] = who.scope ? assignments_json(*who.scope) : nlohmann::json("*");
  return json_response(200, j);
}

std::string resolver_actor_of(const AppState& app, const store::User& user) {
  if (!user.resolver_actor.empty()) return user.resolver_actor;
  // Users created before migration 11: derived, as their stored resolutions were written.
  const std::string h = sha256_raw("resolver:" + app.store->server_actor() + ":" + user.username);
  std::array<std::uint8_t, 16> b{};
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(h[i]);
  return sync::format_uuid(sync::make_uuid_v4(b));
}

Result<std::string> resolver_actor_of(store::StoreReader& tx, const AppState& app, const std::string& username) {
  auto user = tx.find_user(username);
  if (!user.ok()) return user.status();
  if (!*user) return std::string();
  return resolver_actor_of(app, **user);
}

namespace {

// Why `actor` may not be given to a new device ("" when it may): the nil UUID, the server replica, a
// static config device, the resolver actor of any user, or any actor already in a stored clock.
Result<std::string> reserved_actor(store::StoreReader& tx, const AppState& app, const std::string& actor) {
  if (actor == "00000000-0000-0000-0000-000000000000") return std::string("the nil UUID");
  if (actor == app.store->server_actor()) return std::string("the server replica's actor id");
  for (const DeviceCredential& d : app.config.devices)
    if (sync::parse_uuid(d.actor) && sync::format_uuid(*sync::parse_uuid(d.actor)) == actor)
      return std::string("a static device of the configuration");
  auto users = tx.list_users();
  if (!users.ok()) return users.status();
  for (const store::User& u : *users)
    if (resolver_actor_of(app, u) == actor) return std::string("an administrator's resolver actor id");
  auto seen = tx.actor_has_versions(actor);
  if (!seen.ok()) return seen.status();
  if (*seen)
    return std::string("an actor id already in a record's clock (it wrote a version, or a stored edit's context names it)");
  return std::string();
}

}  // namespace

HttpResponse handle_enrol(const HttpRequest& req, AppState& app) {
  nlohmann::json j;
  if (auto err = parse_json_object(req.body, j)) return std::move(*err);
  auto code = string_member(j, "code", 128);
  auto actor = string_member(j, "actor", 64);
  auto app_version = string_member(j, "app_version", 64);
  if (!code || !actor || !sync::is_uuid(*actor))
    return problem(400, "invalid_enrolment", "code (string) and actor (a new random UUID made on the device) are required");
  const auto now = std::chrono::steady_clock::now();
  const std::string addr = client_address(req);
  if (auto w = app.login_addr_limiter.wait_seconds("a:" + addr, now)) return too_many(w, "too many failed enrolments from this address");
  const std::string canonical_actor = sync::format_uuid(*sync::parse_uuid(*actor));
  const std::string token = "aktd_" + random_hex(32);
  const std::int64_t expires = app.now_ms() + app.config.accounts.device_token_days * 24 * kHourMs;
  std::string username, device_name, role, reserved;
  int failure = 0;  // 401 bad code, 409 actor taken, 403 actor reserved
  bool renewed = false;
  Status st = app.store->update([&](store::StoreWriter& tx) {
    auto used = tx.use_enrolment(sha256_raw(*code), canonical_actor, app.now_ms());
    if (!used.ok()) {
      if (used.status().code() == Status::Code::kNotFound) failure = 401;
      return used.status();
    }
    device_name = used->second;
    // A device of the same user enrolling again with the actor it already has (its token expired or was
    // revoked): the same actor is bound to a new token, so its unsynced edits stay its own.
    auto owner = tx.device_owner(canonical_actor);
    if (!owner.ok()) return owner.status();
    if (*owner && **owner == used->first) {
      renewed = true;
      AKT_TRY(tx.rebind_device(canonical_actor, device_name, app_version.value_or(""), app.now_ms()));
    } else {
      if (!*owner || **owner == 0) {  // not another user's device: a static device, a resolver, or new
        auto why = reserved_actor(tx, app, canonical_actor);
        if (!why.ok()) return why.status();
        if (!why->empty()) {
          reserved = *why;
          failure = 403;
          return Status::forbidden("reserved actor");
        }
      }
      Status reg = tx.register_device(canonical_actor, used->first, device_name, app_version.value_or(""),
                                      app.now_ms());
      if (reg.code() == Status::Code::kConflict) failure = 409;
      AKT_TRY(reg);
    }
    AKT_TRY(tx.insert_token(sha256_raw(token), "device", used->first, canonical_actor, app.now_ms(), expires));
    auto user = tx.find_user_by_id(used->first);
    if (!user.ok()) return user.status();
    if (*user) username = (*user)->username, role = sync::to_string((*user)->role);
    return audit(tx, app, username, renewed ? "device_reenrolled" : "device_enrolled", canonical_actor,
                 {{"device_name", device_name}}, req.remote);
  });
  if (failure == 401) {
    app.login_addr_limiter.acquire("a:" + addr, now);
    return problem(401, "invalid_enrolment_code", "unknown, used or expired enrolment code");
  }
  if (failure == 403) {
    app.login_addr_limiter.acquire("a:" + addr, now);
    return problem(409, "actor_reserved", "actor " + canonical_actor + " is " + reserved +
                                              "; a device makes a new random UUID (the code stays valid)");
  }
  if (failure == 409)
    return problem(409, "actor_registered", st.message() + " (the same user may enrol it again; another may not)");
  if (!st.ok()) return problem_from(st, "internal");
  return json_response(201, {{"v", 1},
                             {"token", token},
                             {"expires_at", expires},
                             {"actor", canonical_actor},
                             {"device_name", device_name},
                             {"renewed", renewed},
                             {"user", {{"username", username}, {"role", role}}}});
}

}  // namespace akt::server

// Password change (self) and reset (admin), and team membership after creation (docs/PROTOCOL.md §8.5,
// §9.10, §9.11; SECURITY.md §4).
//
// One-time passwords: a reset with {"one_time": true} stores the new hash as "once$<scrypt hash>". It logs
// in once; that login turns it into "used$<scrypt hash>", which no longer logs in but still proves the
// old password to POST /v1/me/password within the session it opened.
#include "server/handlers/passwords.hpp"

#include <chrono>

#include "schema/store/store_tx.hpp"
#include "server/handlers/handlers.hpp"
#include "server/handlers/json_io.hpp"
#include "server/password.hpp"
#include "server/problem.hpp"

namespace akt::server {

namespace {

constexpr std::string_view kOnce = "once$";
constexpr std::string_view kUsed = "used$";

HttpResponse weak_password(const AppState& app) {
  return problem(400, "weak_password",
                 "new password: at least " + std::to_string(app.config.accounts.min_password_length) +
                     " characters (at most 1024 bytes)");
}

// The password the holder of a session must prove to change it: any form of the stored hash.
std::string_view proof_hash(std::string_view stored) {
  if (stored.substr(0, kOnce.size()) == kOnce) return stored.substr(kOnce.size());
  if (stored.substr(0, kUsed.size()) == kUsed) return stored.substr(kUsed.size());
  return stored;
}

}  // namespace

std::string_view login_hash(std::string_view stored, bool& one_time) {
  one_time = stored.substr(0, kOnce.size()) == kOnce;
  return one_time ? stored.substr(kOnce.size()) : stored;
}

std::string used_one_time_hash(std::string_view stored) {
  return std::string(kUsed) + std::string(stored.substr(kOnce.size()));
}

HttpResponse handle_change_password(const HttpRequest& req, const Principal& who, AppState& app) {
  if (who.user_id == 0) return problem(403, "forbidden", "static config tokens have no password");
  nlohmann::json j;
  if (auto err = parse_json_object(req.body, j)) return std::move(*err);
  auto old_password = string_member(j, "old_password", 1024);
  auto new_password = string_member(j, "new_password", 1024);
  if (!old_password || !j.contains("new_password"))
    return problem(400, "invalid_password_change", "old_password and new_password (strings) are required");
  if (!new_password || new_password->size() < app.config.accounts.min_password_length) return weak_password(app);
  const auto now = std::chrono::steady_clock::now();
  // Proving the old password is a login attempt: it shares the per-user and per-address budgets.
  if (auto w = app.login_user_limiter.wait_seconds("u:" + who.username, now)) {
    HttpResponse r = problem(429, "too_many_attempts", "too many failed attempts; retry after " + std::to_string(w) + " s");
    r.headers.emplace_back("Retry-After", std::to_string(w));
    return r;
  }
  std::optional<store::User> user;
  Status st = app.store->query([&](store::StoreReader& tx) {
    auto r = tx.find_user_by_id(who.user_id);
    if (!r.ok()) return r.status();
    user = std::move(*r);
    return Status();
  });
  if (!st.ok()) return problem_from(st, "internal");
  if (!user || !verify_password(*old_password, proof_hash(user->password_hash))) {
    app.login_user_limiter.acquire("u:" + who.username, now);
    app.login_addr_limiter.acquire("a:" + client_address(req), now);
    return problem(403, "wrong_password", "the old password is wrong");
  }
  const std::string hash = hash_password(*new_password, {app.config.accounts.password_kdf_n, 8, 1});
  st = app.store->update([&](store::StoreWriter& tx) {
    AKT_TRY(tx.set_password_hash(user->id, hash));
    // Other sessions end; this one (when it is a session) and the user's devices stay.
    AKT_TRY(tx.revoke_sessions(user->id, app.now_ms(), who.kind == "session" ? who.token_hash : std::string()));
    return audit(tx, app, who.username, "password_changed", who.username, nlohmann::json::object(), req.remote);
  });
  if (!st.ok()) return problem_from(st, "internal");
  HttpResponse r;
  r.status = 204;
  return r;
}

HttpResponse handle_reset_password(const HttpRequest& req, const std::string& username, const Principal& who,
                                   AppState& app) {
  nlohmann::json j;
  if (auto err = parse_json_object(req.body, j)) return std::move(*err);
  const auto one_time = j.find("one_time");
  if (one_time != j.end() && !one_time->is_boolean())
    return problem(400, "invalid_password_reset", "one_time must be a boolean");
  const bool once = one_time != j.end() && one_time->get<bool>();
  std::string password;
  if (once) {
    if (j.contains("password")) return problem(400, "invalid_password_reset", "give either password or one_time");
    password = random_hex(10);  // 80 bits, to read out to the user once
  } else {
    auto p = string_member(j, "password", 1024);
    if (!j.contains("password")) return problem(400, "invalid_password_reset", "password or one_time is required");
    if (!p || p->size() < app.config.accounts.min_password_length) return weak_password(app);
    password = *p;
  }
  const std::string hash = (once ? std::string(kOnce) : std::string()) +
                           hash_password(password, {app.config.accounts.password_kdf_n, 8, 1});
  nlohmann::json out{{"v", 1}, {"username", username}, {"one_time", once}};
  if (once) out["password"] = password;
  return with_user(
      app, username,
      [&](store::StoreWriter& tx, const store::User& u) {
        AKT_TRY(tx.set_password_hash(u.id, hash));
        AKT_TRY(tx.revoke_sessions(u.id, app.now_ms()));
        return audit(tx, app, who.username, "password_reset", username, {{"one_time", once}}, req.remote);
      },
      json_response(200, out));
}

HttpResponse handle_set_supervisor(const HttpRequest& req, const std::string& username, const Principal& who,
                                   AppState& app) {
  nlohmann::json j;
  if (auto err = parse_json_object(req.body, j)) return std::move(*err);
  const auto it = j.find("supervisor");
  if (it == j.end() || !(it->is_null() || (it->is_string() && it->get_ref<const std::string&>().size() <= 64)))
    return problem(400, "invalid_supervisor", "supervisor: a supervisor's username, or null for none");
  const std::string supervisor = it->is_null() ? std::string() : it->get<std::string>();
  bool missing = false, bad_supervisor = false;
  Status st = app.store->update([&](store::StoreWriter& tx) {
    auto u = tx.find_user(username);
    if (!u.ok()) return u.status();
    if (!*u) {
      missing = true;
      return Status::not_found("no user " + username);
    }
    std::int64_t sup_id = 0;
    if (!supervisor.empty()) {
      auto s = tx.find_user(supervisor);
      if (!s.ok()) return s.status();
      if (!*s || (*s)->role != sync::Role::kSupervisor || (*s)->id == (*u)->id) {
        bad_supervisor = true;
        return Status::invalid_argument("supervisor");
      }
      sup_id = (*s)->id;
    }
    if ((*u)->supervisor_id == sup_id) return Status();  // unchanged: nothing to raise or audit
    AKT_TRY(tx.set_supervisor((*u)->id, sup_id));
    return audit(tx, app, who.username, "team_changed", username,
                 {{"supervisor", supervisor.empty() ? nlohmann::json() : nlohmann::json(supervisor)}}, req.remote);
  });
  if (missing) return problem(404, "user_not_found", "no user '" + username + "'");
  if (bad_supervisor) return problem(400, "invalid_supervisor", "supervisor must name another user with the supervisor role");
  if (!st.ok()) return problem_from(st, "internal");
  return json_response(200, {{"v", 1},
                             {"username", username},
                             {"supervisor", supervisor.empty() ? nlohmann::json() : nlohmann::json(supervisor)}});
}

}  // namespace akt::server

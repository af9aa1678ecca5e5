// Accounts over loopback: login, enrolment, the authorization matrix (every endpoint x every role x
// in/out of scope), token failures, scope changes in the feed, the audit log.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <map>
#include <set>
#include <sstream>

#include "sync/wire_json.hpp"
#include "tests/integration/authz_requests.hpp"
#include "tests/support/feed.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"

using namespace akt;
using nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;

namespace {

const std::string kPw = "correct horse battery";

Headers bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
}

// A server with one user per role; the enumerator and the supervisor are scoped to Gračanica / Serb /
// SO1; the enumerator reports to the supervisor.
struct World {
  test::TestServer srv;
  std::map<std::string, std::string> session;   // role -> session token
  std::map<std::string, test::Device> device;   // role -> enrolled device
  std::map<std::string, std::string> username_of{
      {"admin", "root"}, {"supervisor", "sara"}, {"enumerator", "enis"}, {"me_officer", "mira"}};
  World() {
    srv.create_user("root", "admin", kPw);
    srv.create_user("sara", "supervisor", kPw, {{"gracanice", "serb", "SO1", "*"}});
    srv.create_user("enis", "enumerator", kPw, {{"gracanice", "serb", "SO1", "*"}}, "sara");
    srv.create_user("mira", "me_officer", kPw);
    for (auto [role, user] : {std::pair{"admin", "root"}, std::pair{"supervisor", "sara"},
                              std::pair{"enumerator", "enis"}, std::pair{"me_officer", "mira"}})
      session[role] = srv.login(user, kPw);
    for (auto [role, user] : {std::pair{"admin", "root"}, std::pair{"supervisor", "sara"},
                              std::pair{"enumerator", "enis"}, std::pair{"me_officer", "mira"}})
      device[role] = srv.enrol(session["admin"], user, std::string("tablet-") + user);
  }
};

sync::Edit edit_in(const test::Device& d, std::int64_t n, const std::string& municipality, std::uint64_t rec) {
  sync::Edit e = test::make_edit(test::uuid7(rec, rec), d.actor, n, {}, R"({"x":1})", {"x"});
  e.scope = {municipality, "serb", "SO1"};
  return e;
}

int status_of(client::HttpClient& c, const std::string& method, const std::string& target, const std::string& token,
              const std::string& body = "{}") {
  auto r = c.request(method, target, body, bearer(token));
  REQUIRE(r.ok());
  return r->status;
}

}  // namespace

TEST_CASE("accounts: login, wrong password, throttling, logout") {
  test::TestServer srv;
  srv.create_user("root", "admin", kPw);
  auto c = srv.client();
  auto bad = c.request("POST", "/v1/login", json{{"username", "root"}, {"password", "nope"}}.dump(),
                       {{"Content-Type", "application/json"}});
  CHECK(bad->status == 401);
  CHECK(json::parse(bad->body)["code"] == "invalid_credentials");
  auto unknown = c.request("POST", "/v1/login", json{{"username", "ghost"}, {"password", "nope"}}.dump(),
                           {{"Content-Type", "application/json"}});
  CHECK(unknown->status == 401);
  CHECK(json::parse(unknown->body)["code"] == "invalid_credentials");  // same answer: no user enumeration
  // Five failures for one user in 15 minutes lock further attempts with 429 + Retry-After.
  for (int i = 0; i < 5; ++i)
    c.request("POST", "/v1/login", json{{"username", "root"}, {"password", "x"}}.dump(), {{"Content-Type", "application/json"}});
  auto locked = c.request("POST", "/v1/login", json{{"username", "root"}, {"password", kPw}}.dump(),
                          {{"Content-Type", "application/json"}});
  CHECK(locked->status == 429);
  CHECK_FALSE(locked->header("retry-after").empty());

  srv.create_user("mira", "me_officer", kPw);
  const std::string token = srv.login("mira", kPw);
  auto me = c.request("GET", "/v1/me", {}, bearer(token));
  CHECK(json::parse(me->body)["role"] == "me_officer");
  CHECK(status_of(c, "POST", "/v1/logout", token) == 204);
  CHECK(status_of(c, "GET", "/v1/me", token) == 401);
}

namespace {

// The authorization matrix of docs/SECURITY.md §1: "METHOD /path" -> the roles it shows a ✓ for.
std::map<std::string, std::set<std::string>> security_matrix(const std::vector<std::string>& roles) {
  std::istringstream in(test::read_text_file(std::string(AKT_SOURCE_DIR) + "/docs/SECURITY.md"));
  std::map<std::string, std::set<std::string>> out;
  bool in_table = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("| endpoint | enumerator | supervisor | me_officer | admin |", 0) == 0) in_table = true;
    else if (in_table && line.rfind("|", 0) != 0) break;
    if (!in_table || line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells;
    for (std::size_t p = 1, q; (q = line.find('|', p)) != std::string::npos; p = q + 1) cells.push_back(line.substr(p, q - p));
    REQUIRE_MESSAGE(cells.size() == 1 + roles.size(), line);
    const std::size_t a = cells[0].find('`'), b = cells[0].find('`', a + 1);
    auto& allowed = out[cells[0].substr(a + 1, b - a - 1)];
    for (std::size_t i = 0; i < roles.size(); ++i)
      if (cells[i + 1].find("✓") != std::string::npos) allowed.insert(roles[i]);
  }
  return out;
}

// The endpoints of PROTOCOL.md's table that need a token, as "METHOD /path" (".../x" continues the
// row's first path).
std::set<std::string> protocol_endpoints() {
  std::istringstream in(test::read_text_file(std::string(AKT_SOURCE_DIR) + "/docs/PROTOCOL.md"));
  std::set<std::string> out;
  bool in_table = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("| endpoint | method | who | section |", 0) == 0) in_table = true;
    else if (in_table && line.rfind("|", 0) != 0) break;
    if (!in_table || line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells;
    for (std::size_t p = 1, q; (q = line.find('|', p)) != std::string::npos; p = q + 1) cells.push_back(line.substr(p, q - p));
    REQUIRE(cells.size() >= 3);
    if (cells[2].find("anyone") != std::string::npos) continue;
    std::vector<std::string> paths;
    for (std::size_t a = cells[0].find('`'); a != std::string::npos; a = cells[0].find('`', a + 1)) {
      const std::size_t b = cells[0].find('`', a + 1);
      std::string path = cells[0].substr(a + 1, b - a - 1);
      if (path.rfind("...", 0) == 0) path = paths.front().substr(0, paths.front().rfind('/')) + path.substr(3);
      paths.push_back(path);
      a = b;
    }
    std::istringstream methods(cells[1]);
    for (std::string m; std::getline(methods, m, ',');) {
      m.erase(0, m.find_first_not_of(' '));
      m.erase(m.find_last_not_of(' ') + 1);
      for (const std::string& path : paths) out.insert(m + " " + path);
    }
  }
  return out;
}

std::string expand(std::string s, const std::string& key, const std::string& value) {
  for (std::size_t p; (p = s.find(key)) != std::string::npos;) s.replace(p, key.size(), value);
  return s;
}

}  // namespace

TEST_CASE("accounts: the authorization matrix of SECURITY.md §1 covers PROTOCOL.md and holds for every endpoint") {
  World w;
  auto c = w.srv.client();
  const std::vector<std::string> roles{"enumerator", "supervisor", "me_officer", "admin"};
  const auto matrix = security_matrix(roles);
  // One table: SECURITY.md names exactly the endpoints of PROTOCOL.md, and each has a request here.
  std::set<std::string> documented, requested;
  for (const auto& [endpoint, allowed] : matrix) documented.insert(endpoint);
  for (const test::AuthzRequest& r : test::kAuthzRequests) requested.insert(r.endpoint);
  CHECK(documented == protocol_endpoints());
  CHECK(requested == documented);

  // A published form, a record every scoped user sees, and a user the admin rows may change.
  w.srv.create_user("spare", "enumerator", kPw);
  REQUIRE(c.request("POST", "/v1/admin/forms",
                    R"({"v":1,"form_id":"t_matrix","version":1,"title":{"en":"T"},"fields":[{"key":"x","type":"integer","label":{"en":"X"},"sensitivity":"-"}]})",
                    bearer(w.session["admin"]))->status == 201);
  REQUIRE(c.request("POST", "/v1/admin/forms/t_matrix/1/publish", "{}", bearer(w.session["admin"]))->status == 200);
  sync::Edit seed = edit_in(w.device["admin"], 1, "gracanice", 0xFACE);
  seed.form_id = "t_matrix";
  REQUIRE(test::push(c, w.device["admin"], {"seed", {seed}}).status == 200);

  static int n = 0;
  for (const test::AuthzRequest& ep : test::kAuthzRequests) {
    const auto& allowed = matrix.at(ep.endpoint);
    for (const auto& role : roles) {
      std::vector<std::pair<std::string, const test::Device*>> tokens;  // token, its device (or null)
      if (ep.tokens != test::Tokens::kDeviceOnly)
        tokens.emplace_back(ep.tokens == test::Tokens::kSessionOnly ? w.srv.login(w.username_of[role], kPw) : w.session[role],
                            nullptr);
      if (ep.tokens != test::Tokens::kSessionOnly) tokens.emplace_back(w.device[role].token, &w.device[role]);
      for (const auto& token_dev : tokens) {
        const std::string& token = token_dev.first;
        const test::Device* dev = token_dev.second;
        const std::string num = std::to_string(1000 + ++n);
        std::string target = expand(ep.target, "{record}", seed.record_id);
        std::string body = expand(expand(expand(ep.body, "{n}", num), "{record}", seed.record_id), "{actor}",
                                  dev ? dev->actor : "");
        auto r = c.request(ep.method, target, body, bearer(token));
        REQUIRE(r.ok());
        INFO(std::string(ep.endpoint) << " as " << role << std::string(dev ? " (device)" : " (session)") << ": "
                                      << r->status << " " << r->body);
        if (allowed.count(role)) CHECK(r->status == ep.allowed);
        else CHECK(r->status == 403);
      }
    }
    auto anon = c.request(ep.method, ep.target, ep.body, {{"Content-Type", "application/json"}});
    INFO(std::string(ep.endpoint) << " without a token");
    CHECK(anon->status == 401);
  }
  // Sessions never push, whatever the role.
  for (const auto& role : roles)
    CHECK(status_of(c, "POST", "/v1/push", w.session[role],
                    sync::encode_push_request({"s", {edit_in(w.device[role], 1, "gracanice", 1)}})) == 403);
}

TEST_CASE("accounts: pushes and reads stay inside each role's scope") {
  World w;
  auto c = w.srv.client();
  const std::vector<std::string> roles{"enumerator", "supervisor", "me_officer", "admin"};
  // Push: sessions are refused; devices write within their scope only.
  for (const auto& role : roles) {
    INFO("push as " << role);
    CHECK(status_of(c, "POST", "/v1/push", w.session[role],
                    sync::encode_push_request({"s", {edit_in(w.device[role], 1, "gracanice", 1)}})) == 403);
    const test::Device& d = w.device[role];
    std::uint64_t base = 100 + static_cast<std::uint64_t>(&role - &roles[0]) * 10;
    auto r = test::push(c, d, {"p-" + role, {edit_in(d, 1, "gracanice", base), edit_in(d, 2, "prizren", base + 1)}});
    REQUIRE(r.status == 200);
    auto resp = *sync::decode_push_response(r.body);
    CHECK(resp.results[0].outcome == sync::Outcome::kApplied);
    const bool scoped = role == "enumerator" || role == "supervisor";
    CHECK(resp.results[1].outcome == (scoped ? sync::Outcome::kRejected : sync::Outcome::kApplied));
    if (scoped) CHECK(resp.results[1].error_code == "out_of_scope");
  }
  // Reads: scoped roles see Gračanica records only; out-of-scope records read as absent.
  const std::string prizren = test::uuid7(121, 121);  // pushed by the M&E officer's device (i = 2)
  CHECK(status_of(c, "GET", "/v1/records/" + prizren, w.session["me_officer"]) == 200);
  CHECK(status_of(c, "GET", "/v1/records/" + prizren, w.session["admin"]) == 200);
  CHECK(status_of(c, "GET", "/v1/records/" + prizren, w.session["enumerator"]) == 404);
  CHECK(status_of(c, "GET", "/v1/records/" + prizren, w.session["supervisor"]) == 404);
  auto scoped_feed = test::pull_all(c, w.device["enumerator"], "", 100);
  auto full_feed = test::pull_all(c, w.device["me_officer"], "", 100);
  CHECK(full_feed.records.size() == 6);
  CHECK(scoped_feed.records.size() == 4);
  for (const auto& [id, r] : scoped_feed.records) CHECK(r.scope.municipality == "gracanice");
}

TEST_CASE("accounts: token failures are 401, and a revoked device cannot push even mid-session") {
  World w;
  auto c = w.srv.client();
  const test::Device& d = w.device["enumerator"];
  CHECK(test::push(c, d, {"r1", {edit_in(d, 1, "gracanice", 1)}}).status == 200);
  // Tampered token.
  test::Device tampered = d;
  tampered.token.back() = tampered.token.back() == 'a' ? 'b' : 'a';
  CHECK(test::push(c, tampered, {"r2", {edit_in(d, 2, "gracanice", 2)}}).status == 401);
  // A device token pushes only its own actor's dots.
  sync::Edit foreign = edit_in(w.device["admin"], 9, "gracanice", 3);
  auto wrong = sync::decode_push_response(test::push(c, d, {"r3", {foreign}}).body);
  CHECK(wrong->results[0].error_code == "wrong_actor");
  // Revoked by an admin while the tablet keeps its connection open.
  CHECK(status_of(c, "POST", "/v1/admin/devices/" + d.actor + "/revoke", w.session["admin"]) == 200);
  auto after = test::push(c, d, {"r4", {edit_in(d, 3, "gracanice", 4)}});
  CHECK(after.status == 401);
  CHECK(json::parse(after.body)["detail"] == "token revoked");
  // A disabled user's sessions and devices stop working.
  CHECK(status_of(c, "POST", "/v1/admin/users/sara/disable", w.session["admin"]) == 200);
  CHECK(status_of(c, "GET", "/v1/me", w.session["supervisor"]) == 401);
  CHECK(status_of(c, "GET", "/v1/changes", w.device["supervisor"].token) == 401);
  // An enrolment code works once.
  auto code = c.request("POST", "/v1/admin/enrolments", R"({"username":"enis","device_name":"t2"})",
                        bearer(w.session["admin"]));
  const std::string text = json::parse(code->body)["code"];
  auto enrol = [&](const std::string& actor) {
    return c.request("POST", "/v1/enrol", json{{"code", text}, {"actor", actor}}.dump(),
                     {{"Content-Type", "application/json"}})->status;
  };
  CHECK(enrol(test::uuid_n(0x7777)) == 201);
  CHECK(enrol(test::uuid_n(0x7778)) == 401);
  // Another user's device must not take an actor id (the same user re-enrols it: security_test.cpp).
  auto code2 = c.request("POST", "/v1/admin/enrolments", R"({"username":"sara","device_name":"t3"})",
                         bearer(w.session["admin"]));
  auto again = c.request("POST", "/v1/enrol",
                         json{{"code", json::parse(code2->body)["code"]}, {"actor", test::uuid_n(0x7777)}}.dump(),
                         {{"Content-Type", "application/json"}});
  CHECK(again->status == 409);
  CHECK(json::parse(again->body)["code"] == "actor_registered");
}

TEST_CASE("accounts: expired tokens are refused") {
  World w;
  auto c = w.srv.client();
  const std::string token = w.session["me_officer"];
  CHECK(status_of(c, "GET", "/v1/me", token) == 200);
  w.srv.app().now_ms.shift(13LL * 3600 * 1000);  // sessions last 12 h
  auto r = c.request("GET", "/v1/me", {}, bearer(token));
  CHECK(r->status == 401);
  CHECK(json::parse(r->body)["detail"] == "token expired");
  w.srv.app().now_ms.reset();
}

TEST_CASE("accounts: a scope change resets cursors, a record that leaves the scope is announced") {
  World w;
  auto c = w.srv.client();
  const test::Device& me = w.device["me_officer"];
  sync::Edit e = edit_in(me, 1, "gracanice", 50);
  REQUIRE(test::push(c, me, {"m1", {e}}).status == 200);
  const test::Device& enis = w.device["enumerator"];
  auto first = test::pull_all(c, enis, "", 100);
  REQUIRE(first.records.count(e.record_id) == 1);
  // The record moves to Prizren: the enumerator's next pull says it left the scope.
  sync::Edit moved = test::make_edit(e.record_id, me.actor, 2, e.clock(), R"({"x":2})", {"x"});
  moved.scope = {"prizren", "serb", "SO1"};
  REQUIRE(test::push(c, me, {"m2", {moved}}).status == 200);
  auto r = c.request("GET", "/v1/changes?since=" + first.cursor, {}, bearer(enis.token));
  auto page = json::parse(r->body);
  REQUIRE(page["changes"].size() == 1);
  CHECK(page["changes"][0]["out_of_scope"] == true);
  CHECK(page["changes"][0]["record"] == e.record_id);
  CHECK_FALSE(page["changes"][0].contains("live"));
  // The admin widens the enumerator's scope: old cursors are answered 410 scope_changed.
  CHECK(status_of(c, "PUT", "/v1/admin/users/enis/assignments", w.session["admin"],
                  R"({"assignments":[{"municipality":"gracanice"},{"municipality":"prizren"}]})") == 200);
  auto stale = c.request("GET", "/v1/changes?since=" + first.cursor, {}, bearer(enis.token));
  CHECK(stale->status == 410);
  CHECK(json::parse(stale->body)["code"] == "scope_changed");
  auto fresh = test::pull_all(c, enis, "", 100);
  CHECK(fresh.records.count(e.record_id) == 1);
}

TEST_CASE("accounts: setting what is already set changes nothing (no scope version raised, no audit entry)") {
  World w;
  auto c = w.srv.client();
  const std::string admin = w.session["admin"];
  auto versions = [&] {
    std::map<std::string, std::int64_t> v;
    auto r = c.request("GET", "/v1/admin/users", {}, bearer(admin));
    REQUIRE(r->status == 200);
    const json users = json::parse(r->body)["users"];
    for (const auto& u : users) v[u["username"].get<std::string>()] = u["scope_version"].get<std::int64_t>();
    return v;
  };
  auto audit_size = [&] {
    auto r = c.request("GET", "/v1/admin/audit?limit=1000", {}, bearer(admin));
    REQUIRE(r->status == 200);
    return json::parse(r->body)["entries"].size();
  };
  const test::Device& enis = w.device["enumerator"];
  auto first = test::pull_all(c, enis, "", 100);
  const auto before = versions();
  const std::size_t audited = audit_size();
  // The same list (members in another spelling: absent and "*" are the same), the same role, the same team.
  CHECK(status_of(c, "PUT", "/v1/admin/users/enis/assignments", admin,
                  R"({"assignments":[{"municipality":"gracanice","community":"serb","component":"SO1","form":"*"}]})") == 200);
  CHECK(status_of(c, "PUT", "/v1/admin/users/enis/role", admin, R"({"role":"enumerator"})") == 200);
  CHECK(status_of(c, "PUT", "/v1/admin/users/enis/supervisor", admin, R"({"supervisor":"sara"})") == 200);
  CHECK(versions() == before);
  CHECK(audit_size() == audited);
  // The tablet's cursor stays good: nothing to download again.
  auto r = c.request("GET", "/v1/changes?since=" + first.cursor, {}, bearer(enis.token));
  CHECK(r->status == 200);
  // A real change still raises the scope versions of the user and of the supervisor.
  CHECK(status_of(c, "PUT", "/v1/admin/users/enis/assignments", admin, R"({"assignments":[{"municipality":"prizren"}]})") == 200);
  const auto after = versions();
  CHECK(after.at("enis") == before.at("enis") + 1);
  CHECK(after.at("sara") == before.at("sara") + 1);
  CHECK(audit_size() == audited + 1);
}

TEST_CASE("accounts: the audit log records who did what") {
  World w;
  auto c = w.srv.client();
  CHECK(status_of(c, "PUT", "/v1/admin/users/enis/role", w.session["admin"], R"({"role":"supervisor"})") == 200);
  c.request("POST", "/v1/login", json{{"username", "enis"}, {"password", "wrong"}}.dump(),
            {{"Content-Type", "application/json"}});
  auto r = c.request("GET", "/v1/admin/audit?limit=100", {}, bearer(w.session["admin"]));
  auto entries = json::parse(r->body)["entries"];
  std::multiset<std::string> actions;
  for (const auto& e : entries) actions.insert(e["action"].get<std::string>());
  CHECK(actions.count("login") == 4);
  CHECK(actions.count("device_enrolled") == 4);
  CHECK(actions.count("enrolment_issued") == 4);
  CHECK(actions.count("role_changed") == 1);
  CHECK(actions.count("login_failed") == 1);
  CHECK(entries[0]["action"] == "login_failed");  // newest first
  CHECK(entries[0]["target"] == "enis");
}

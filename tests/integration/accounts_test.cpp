// Accounts over loopback: login, enrolment, the authorization matrix (every endpoint x every role x
// in/out of scope), token failures, scope changes in the feed, the audit log.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <set>

#include "sync/wire_json.hpp"
#include "tests/integration/feed.hpp"
#include "tests/integration/test_server.hpp"
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

TEST_CASE("accounts: the authorization matrix") {
  World w;
  auto c = w.srv.client();
  const std::vector<std::string> roles{"enumerator", "supervisor", "me_officer", "admin"};
  struct Endpoint {
    std::string method, target, body;
    std::set<std::string> allowed;  // roles answered 2xx; the others get 403
  };
  const std::set<std::string> all(roles.begin(), roles.end());
  const std::vector<Endpoint> endpoints{
      {"GET", "/v1/me", "", all},
      {"GET", "/v1/changes", "", all},
      {"GET", "/v1/admin/users", "", {"admin"}},
      {"POST", "/v1/admin/users", R"({"username":"new_user_{n}","password":"long enough pw","role":"enumerator"})", {"admin"}},
      {"PUT", "/v1/admin/users/enis/role", R"({"role":"enumerator"})", {"admin"}},
      {"PUT", "/v1/admin/users/mira/assignments", R"({"assignments":[]})", {"admin"}},
      {"POST", "/v1/admin/users/mira/enable", "{}", {"admin"}},
      {"PUT", "/v1/admin/users/mira/special_category", R"({"granted":false})", {"admin"}},
      {"POST", "/v1/admin/enrolments", R"({"username":"enis","device_name":"spare"})", {"admin"}},
      {"GET", "/v1/admin/devices", "", {"admin"}},
      {"GET", "/v1/admin/audit", "", {"admin"}},
      {"GET", "/v1/admin/quarantine", "", {"admin", "supervisor"}},
  };
  for (const auto& ep : endpoints) {
    for (const auto& role : roles) {
      INFO(ep.method << " " << ep.target << " as " << role);
      for (const std::string& token : {w.session[role], w.device[role].token}) {
        static int n = 0;
        std::string body = ep.body;
        if (auto p = body.find("{n}"); p != std::string::npos) body.replace(p, 3, std::to_string(++n));
        const int st = status_of(c, ep.method, ep.target, token, body);
        if (ep.allowed.count(role)) CHECK(st / 100 == 2);
        else CHECK(st == 403);
      }
    }
    INFO(ep.method << " " << ep.target << " without a token");
    auto anon = c.request(ep.method, ep.target, ep.body, {{"Content-Type", "application/json"}});
    CHECK(anon->status == 401);
  }
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
  const auto real_now = w.srv.app().now_ms;
  w.srv.app().now_ms = [real_now] { return real_now() + 13LL * 3600 * 1000; };  // sessions last 12 h
  auto r = c.request("GET", "/v1/me", {}, bearer(token));
  CHECK(r->status == 401);
  CHECK(json::parse(r->body)["detail"] == "token expired");
  w.srv.app().now_ms = real_now;
}

TEST_CASE("accounts: a scope change resets cursors; a record that leaves the scope is announced") {
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

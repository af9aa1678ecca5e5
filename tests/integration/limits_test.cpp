// Limits and lifetimes over loopback, each checked where a single broken line would show: the per-token
// request limit, the per-address throttles of login and enrolment, the lifetimes of enrolment codes (72 h)
// and device tokens (180 d) under an injected clock, revocation of a device while its long-poll waits, a
// resolution that meets a late device edit of the same field, and the durability settings of the server's
// SQLite connections.
#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "schema/store/db.hpp"
#include "schema/store/server_store.hpp"
#include "sync/wire_json.hpp"
#include "tests/support/feed.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"

using namespace akt;
using nlohmann::json;

namespace {

const std::string kPw = "correct horse battery";
constexpr std::int64_t kHourMs = 3600LL * 1000;

using test::bearer;

client::HttpResult post_json(client::HttpClient& c, const std::string& target, const json& body) {
  auto r = c.request("POST", target, body.dump(), {{"Content-Type", "application/json"}});
  REQUIRE(r.ok());
  return std::move(*r);
}

std::string issue_code(client::HttpClient& c, const std::string& admin, const std::string& user) {
  auto r = c.request("POST", "/v1/admin/enrolments", json{{"username", user}, {"device_name", "t"}}.dump(),
                     bearer(admin));
  REQUIRE_MESSAGE(r->status == 201, r->body);
  return json::parse(r->body)["code"].get<std::string>();
}

// Shifts the server's clock by `offset_ms` for the lifetime of the object.
struct ClockShift {
  server::AppState& app;
  ClockShift(server::AppState& a, std::int64_t offset_ms) : app(a) { app.now_ms.shift(offset_ms); }
  ~ClockShift() { app.now_ms.reset(); }
};

}  // namespace

TEST_CASE("limits: a token beyond its request budget gets 429 with Retry-After, other tokens do not") {
  server::Limits l;
  l.requests_per_minute = 1;  // refills one request a minute: nothing refills during the test
  l.request_burst = 3;
  test::TestServer srv(l);
  auto c = srv.client();
  for (int i = 0; i < 3; ++i) CHECK(test::get(c, srv.a, "/v1/changes").status == 200);
  auto over = test::get(c, srv.a, "/v1/changes");
  CHECK(over.status == 429);
  CHECK(json::parse(over.body)["code"] == "rate_limited");
  CHECK(std::stoll(over.header("retry-after")) >= 1);
  CHECK(test::get(c, srv.b, "/v1/changes").status == 200);  // per token
}

TEST_CASE("limits: failed logins from one address are throttled across usernames") {
  server::Limits l;
  l.login_attempts_per_15min = 2;  // per username; x4 = 8 per address
  test::TestServer srv(l);
  srv.create_user("root", "admin", kPw);
  auto c = srv.client();
  // Eight failures, each for another username: no username reaches its own limit.
  for (int i = 0; i < 8; ++i)
    CHECK(post_json(c, "/v1/login", {{"username", "ghost" + std::to_string(i)}, {"password", "x"}}).status == 401);
  auto locked = post_json(c, "/v1/login", {{"username", "root"}, {"password", kPw}});
  CHECK(locked.status == 429);
  CHECK(json::parse(locked.body)["code"] == "too_many_attempts");
  CHECK(json::parse(locked.body)["detail"].get<std::string>().find("address") != std::string::npos);
  CHECK_FALSE(locked.header("retry-after").empty());
}

TEST_CASE("limits: failed enrolments from one address are throttled, even for a valid code") {
  server::Limits l;
  l.login_attempts_per_15min = 2;  // x4 = 8 failures per address
  test::TestServer srv(l);
  srv.create_user("root", "admin", kPw);
  srv.create_user("enis", "enumerator", kPw);
  const std::string admin = srv.login("root", kPw);
  auto c = srv.client();
  const std::string code = issue_code(c, admin, "enis");
  for (int i = 0; i < 8; ++i)
    CHECK(post_json(c, "/v1/enrol", {{"code", "0000-0000-0000-000" + std::to_string(i)}, {"actor", test::uuid_n(0x900 + i)}})
              .status == 401);
  auto locked = post_json(c, "/v1/enrol", {{"code", code}, {"actor", test::uuid_n(0x9FF)}});
  CHECK(locked.status == 429);
  CHECK(json::parse(locked.body)["code"] == "too_many_attempts");
  CHECK_FALSE(locked.header("retry-after").empty());
}

TEST_CASE("lifetimes: an enrolment code works for 72 hours, then never") {
  test::TestServer srv;
  srv.create_user("root", "admin", kPw);
  srv.create_user("enis", "enumerator", kPw);
  const std::string admin = srv.login("root", kPw);
  auto c = srv.client();
  const std::string late = issue_code(c, admin, "enis"), in_time = issue_code(c, admin, "enis");
  {
    ClockShift shift(srv.app(), 72 * kHourMs + 60 * 1000);
    auto r = post_json(c, "/v1/enrol", {{"code", late}, {"actor", test::uuid_n(0x701)}});
    CHECK(r.status == 401);
    CHECK(json::parse(r.body)["code"] == "invalid_enrolment_code");
  }
  {
    ClockShift shift(srv.app(), 71 * kHourMs);
    CHECK(post_json(c, "/v1/enrol", {{"code", in_time}, {"actor", test::uuid_n(0x702)}}).status == 201);
  }
}

TEST_CASE("lifetimes: a device token works for 180 days, then is refused as expired") {
  test::TestServer srv;
  srv.create_user("root", "admin", kPw);
  srv.create_user("enis", "enumerator", kPw, {{"*", "*", "*", "*"}});
  const std::string admin = srv.login("root", kPw);
  const test::Device d = srv.enrol(admin, "enis", "tablet");
  auto c = srv.client();
  {
    ClockShift shift(srv.app(), 179 * 24 * kHourMs);
    CHECK(test::get(c, d, "/v1/changes").status == 200);
  }
  {
    ClockShift shift(srv.app(), 180 * 24 * kHourMs + 60 * 1000);
    auto r = test::get(c, d, "/v1/changes");
    CHECK(r.status == 401);
    CHECK(json::parse(r.body)["detail"] == "token expired");
  }
}

TEST_CASE("lifetimes: a device revoked while its long-poll waits gets 401 when the poll wakes, not the changes") {
  test::TestServer srv;
  srv.create_user("root", "admin", kPw);
  srv.create_user("enis", "enumerator", kPw, {{"*", "*", "*", "*"}});
  const std::string admin = srv.login("root", kPw);
  const test::Device d = srv.enrol(admin, "enis", "tablet");
  auto first = srv.client();
  const std::string cursor = json::parse(test::get(first, d, "/v1/changes").body)["next"].get<std::string>();
  auto poll = std::async(std::launch::async, [&] {
    auto pc = srv.client();
    return test::get(pc, d, "/v1/changes?wait=30000&since=" + cursor);
  });
  // Wait (generously) until the pull is parked in the notifier.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (srv.app().notifier.waiting() == 0 && poll.wait_for(std::chrono::seconds(0)) == std::future_status::timeout &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(poll.wait_for(std::chrono::seconds(0)) == std::future_status::timeout);  // not answered at once
  REQUIRE(srv.app().notifier.waiting() == 1);
  auto c = srv.client();
  REQUIRE(c.request("POST", "/v1/admin/devices/" + d.actor + "/revoke", "{}", bearer(admin))->status == 200);
  // A change wakes the poll; it is answered as a new request by a revoked token.
  REQUIRE(test::push(c, srv.b, {"wake", {test::make_edit(test::uuid7(5, 5), srv.b.actor, 1, {}, R"({"x":1})", {"x"})}})
              .status == 200);
  const client::HttpResult r = poll.get();
  CHECK(r.status == 401);
  CHECK(json::parse(r.body)["detail"] == "token revoked");
  CHECK(r.body.find(test::uuid7(5, 5)) == std::string::npos);
}

TEST_CASE("inbox: a late device edit of the resolved field keeps the entry open (closed:false)") {
  test::TestServer srv;
  srv.create_user("root", "admin", kPw);
  const std::string admin = srv.login("root", kPw);
  auto c = srv.client();
  const std::string rec = test::uuid7(1700000000000, 9);
  sync::Edit base = test::make_edit(rec, srv.a.actor, 1, {}, R"({"pct_complete":60})", {"pct_complete"});
  REQUIRE(test::push(c, srv.a, {"base", {base}}).status == 200);
  sync::Edit ea = test::make_edit(rec, srv.a.actor, 2, base.clock(), R"({"pct_complete":75})", {"pct_complete"});
  sync::Edit eb = test::make_edit(rec, srv.b.actor, 1, base.clock(), R"({"pct_complete":70})", {"pct_complete"});
  REQUIRE(test::push(c, srv.a, {"a", {ea}}).status == 200);
  REQUIRE(test::push(c, srv.b, {"b", {eb}}).status == 200);
  auto entries = json::parse(c.request("GET", "/v1/admin/conflicts", {}, bearer(admin))->body)["entries"];
  REQUIRE(entries.size() == 1);
  const std::string id = std::to_string(entries[0]["id"].get<std::int64_t>());
  auto shown = json::parse(c.request("GET", "/v1/admin/conflicts/" + id, {}, bearer(admin))->body)["entry"];
  const json seen = shown["record_state"]["live"][0]["clock"];
  // Meanwhile tablet A, which pulled the merged version, sets the same field to another value.
  sync::Edit late = test::make_edit(rec, srv.a.actor, 3, *sync::decode_clock(seen.dump()), R"({"pct_complete":90})",
                                    {"pct_complete"});
  REQUIRE(test::push(c, srv.a, {"late", {late}}).status == 200);
  auto res = c.request("POST", "/v1/admin/conflicts/" + id + "/resolve", json{{"seen", seen}, {"value", 72}}.dump(),
                       bearer(admin));
  REQUIRE_MESSAGE(res->status == 200, res->body);
  CHECK(json::parse(res->body)["outcome"] == "merged");
  CHECK(json::parse(res->body)["closed"] == false);
  // The entry is still open and holds both the resolution's value and the late edit's.
  auto open = json::parse(c.request("GET", "/v1/admin/conflicts", {}, bearer(admin))->body)["entries"];
  REQUIRE(open.size() == 1);
  std::set<int> values;
  for (const auto& cand : open[0]["candidates"]) values.insert(cand["value"].get<int>());
  CHECK(values.count(72) == 1);
  CHECK(values.count(90) == 1);
  auto feed = test::pull_all(c, srv.b, "", 100);
  CHECK(feed.records.at(rec).conflicted == std::vector<std::string>{"pct_complete"});
}

TEST_CASE("durability: every connection of the server runs synchronous=FULL in WAL mode") {
  test::TestServer srv;
  auto pragmas = [](store::Db& db, std::int64_t& sync_mode, std::string& journal) -> Status {
    AKT_STMT(s, db, "PRAGMA synchronous");
    auto row = s->step();
    if (!row.ok()) return row.status();
    sync_mode = s->int64(0);
    s->reset();
    AKT_STMT(j, db, "PRAGMA journal_mode");
    auto jrow = j->step();
    if (!jrow.ok()) return jrow.status();
    journal = std::string(j->text(0));
    j->reset();
    return {};
  };
  std::int64_t writer_sync = -1, reader_sync = -1;
  std::string writer_journal, reader_journal;
  REQUIRE(srv.sqlite().write([&](store::Db& db, std::int64_t&) { return pragmas(db, writer_sync, writer_journal); })
              .ok());
  REQUIRE(srv.sqlite().read([&](store::Db& db) { return pragmas(db, reader_sync, reader_journal); }).ok());
  CHECK(writer_sync == 2);  // FULL: an acknowledged commit survives power loss (PROTOCOL §4)
  CHECK(writer_journal == "wal");
  CHECK(reader_sync == 2);
  CHECK(reader_journal == "wal");
}

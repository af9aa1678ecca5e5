// The conflict inbox over loopback (DESIGN §4): same-field divergence reaches the inbox with every
// candidate; an admin resolves it; both devices pull the resolution and the flag is gone; a device edit
// that arrives after the admin loaded the entry merges with the resolution and is never lost.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <set>

#include "sync/wire_json.hpp"
#include "tests/support/feed.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"

using namespace akt;
using nlohmann::json;

namespace {

const std::string kPw = "correct horse battery";

using test::bearer;

struct Diverged {
  test::TestServer srv;
  client::HttpClient c = srv.client();
  std::string admin;
  std::string rec = test::uuid7(1700000000000, 7);
  sync::Edit base, ea, eb;
  Diverged() {
    srv.create_user("root", "admin", kPw);
    srv.create_user("sara", "supervisor", kPw, {{"prizren", "*", "*", "*"}});
    admin = srv.login("root", kPw);
    base = test::make_edit(rec, srv.a.actor, 1, {}, R"({"pct_complete":60,"status":"in_progress"})",
                           {"pct_complete", "status"});
    REQUIRE(test::push(c, srv.a, {"base", {base}}).status == 200);
    ea = test::make_edit(rec, srv.a.actor, 2, base.clock(), R"({"pct_complete":75,"status":"in_progress"})",
                         {"pct_complete"});
    eb = test::make_edit(rec, srv.b.actor, 1, base.clock(), R"({"pct_complete":70,"status":"in_progress"})",
                         {"pct_complete"});
    REQUIRE(test::push(c, srv.a, {"a", {ea}}).status == 200);
    REQUIRE(test::push(c, srv.b, {"b", {eb}}).status == 200);
  }
  json list() {
    auto r = c.request("GET", "/v1/admin/conflicts", {}, bearer(admin));
    REQUIRE(r->status == 200);
    return json::parse(r->body)["entries"];
  }
};

}  // namespace

TEST_CASE("inbox: a same-field divergence lists every candidate, the admin resolves, the flag goes everywhere") {
  Diverged w;
  auto entries = w.list();
  REQUIRE(entries.size() == 1);
  const auto& e = entries[0];
  CHECK(e["kind"] == "field");
  CHECK(e["path"] == "pct_complete");
  CHECK(e["ancestor"] == 60);
  std::set<int> values;
  for (const auto& c : e["candidates"]) values.insert(c["value"].get<int>());
  CHECK(values == std::set<int>{70, 75});
  // The kind filter takes the kinds of the table (sync/inbox_kind.hpp) and refuses any other name.
  auto by_kind = [&](const std::string& kind) {
    return w.c.request("GET", "/v1/admin/conflicts?kind=" + kind, {}, bearer(w.admin));
  };
  CHECK(json::parse(by_kind("field")->body)["entries"].size() == 1);
  CHECK(json::parse(by_kind("semantic")->body)["entries"].empty());
  for (const char* bad : {"Field", "clock", "fields"}) {
    auto r = by_kind(bad);
    CHECK(r->status == 400);
    CHECK(json::parse(r->body)["code"] == "invalid_filter");
    CHECK(r->body.find("duplicate_candidate") != std::string::npos);
  }
  // A supervisor outside the record's scope does not see it.
  auto sup = w.c.request("GET", "/v1/admin/conflicts", {}, bearer(w.srv.login("sara", kPw)));
  CHECK(json::parse(sup->body)["entries"].empty());

  const std::string id = std::to_string(e["id"].get<std::int64_t>());
  auto shown = json::parse(w.c.request("GET", "/v1/admin/conflicts/" + id, {}, bearer(w.admin))->body)["entry"];
  CHECK(shown["provisional"] == 75);
  CHECK(shown["candidates"][0].contains("device"));
  const json seen = shown["record_state"]["live"][0]["clock"];
  auto res = w.c.request("POST", "/v1/admin/conflicts/" + id + "/resolve", json{{"seen", seen}, {"value", 72}}.dump(),
                         bearer(w.admin));
  REQUIRE_MESSAGE(res->status == 200, res->body);
  CHECK(json::parse(res->body)["closed"] == true);
  CHECK(json::parse(res->body)["outcome"] == "applied");
  // Both devices pull the resolution: the value chosen, no flag.
  for (auto* dev : {&w.srv.a, &w.srv.b}) {
    auto feed = test::pull_all(w.c, *dev, "", 100);
    const auto& r = feed.records.at(w.rec);
    CHECK_FALSE(r.conflict);
    CHECK(r.conflicted.empty());
    CHECK(json::parse(r.live[0].body)["pct_complete"] == 72);
  }
  CHECK(w.list().empty());
  auto resolved = json::parse(w.c.request("GET", "/v1/admin/conflicts?status=resolved", {}, bearer(w.admin))->body);
  REQUIRE(resolved["entries"].size() == 1);
  CHECK(resolved["entries"][0]["resolution"]["value"] == 72);
  CHECK(resolved["entries"][0]["resolved_by"] == "root");
  // Resolving twice, or with a clock of no version, is refused.
  CHECK(w.c.request("POST", "/v1/admin/conflicts/" + id + "/resolve", json{{"seen", seen}, {"value", 1}}.dump(),
                    bearer(w.admin))->status == 409);
}

TEST_CASE("inbox: a tablet that edits a flagged field replaces its own candidate, it cannot close the entry") {
  Diverged w;
  auto feed = test::pull_all(w.c, w.srv.a, "", 100);
  const auto& merged = feed.records.at(w.rec).live[0];
  sync::Edit again = test::make_edit(w.rec, w.srv.a.actor, 3, merged.clock,
                                     R"({"pct_complete":80,"status":"in_progress"})", {"pct_complete"});
  auto r = json::parse(test::push(w.c, w.srv.a, {"again", {again}}).body);
  CHECK(r["results"][0]["outcome"] == "applied");
  auto entries = w.list();
  REQUIRE(entries.size() == 1);
  std::set<int> values;
  for (const auto& c : entries[0]["candidates"]) values.insert(c["value"].get<int>());
  CHECK(values == std::set<int>{70, 80});  // one candidate per device line: A's 80 replaces its own 75
  auto after = test::pull_all(w.c, w.srv.b, "", 100).records.at(w.rec);
  CHECK(after.conflicted == std::vector<std::string>{"pct_complete"});
}

TEST_CASE("inbox: a device edit that arrived after the admin loaded the entry is merged, never lost") {
  Diverged w;
  auto entries = w.list();
  REQUIRE(entries.size() == 1);
  const std::string id = std::to_string(entries[0]["id"].get<std::int64_t>());
  auto shown = json::parse(w.c.request("GET", "/v1/admin/conflicts/" + id, {}, bearer(w.admin))->body)["entry"];
  const json seen = shown["record_state"]["live"][0]["clock"];
  auto merged_clock = *sync::decode_clock(seen.dump());
  // Meanwhile tablet A, which pulled the merged version, changes another field.
  sync::Edit late = test::make_edit(w.rec, w.srv.a.actor, 3, merged_clock,
                                    R"({"pct_complete":75,"status":"completed"})", {"status"});
  REQUIRE(test::push(w.c, w.srv.a, {"late", {late}}).status == 200);
  auto stale = w.c.request("POST", "/v1/admin/conflicts/" + id + "/resolve",
                           json{{"seen", json{{test::uuid_n(0xDEAD), 9}}}, {"value", 72}}.dump(), bearer(w.admin));
  CHECK(stale->status == 409);
  CHECK(json::parse(stale->body)["code"] == "stale_resolution");
  auto res = w.c.request("POST", "/v1/admin/conflicts/" + id + "/resolve", json{{"seen", seen}, {"value", 72}}.dump(),
                         bearer(w.admin));
  REQUIRE_MESSAGE(res->status == 200, res->body);
  CHECK(json::parse(res->body)["outcome"] == "merged");
  CHECK(json::parse(res->body)["closed"] == true);
  auto feed = test::pull_all(w.c, w.srv.b, "", 100);
  const auto& r = feed.records.at(w.rec);
  auto body = json::parse(r.live[0].body);
  CHECK(body["pct_complete"] == 72);     // the admin's choice
  CHECK(body["status"] == "completed");  // the device's later edit, kept
  CHECK_FALSE(r.conflict);
}

// Push and pull over real sockets: round trip, replay, reordering, concurrent siblings, gzip.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <set>

#include "sync/gzip.hpp"
#include "sync/wire_json.hpp"
#include "tests/support/feed.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"

using namespace akt;
using akt::test::make_edit;
using akt::test::uuid7;

TEST_CASE("integration: push then pull round trip") {
  test::TestServer srv;
  auto c = srv.client();
  sync::PushRequest req{"rt-1", {}};
  for (int i = 0; i < 10; ++i)
    req.edits.push_back(make_edit(uuid7(1700000000000 + i, 1), srv.a.actor, i + 1, {},
                                  R"({"settlement":"Shtërpcë / Štrpce","i":)" + std::to_string(i) + "}", {"i"}));
  auto r = test::push(c, srv.a, req);
  REQUIRE(r.status == 200);
  auto resp = sync::decode_push_response(r.body);
  REQUIRE(resp.ok());
  REQUIRE(resp->results.size() == 10);
  for (const auto& x : resp->results) CHECK(x.outcome == sync::Outcome::kApplied);

  auto feed = test::pull_all(c, srv.b, "", 3);
  REQUIRE(feed.records.size() == 10);
  for (int i = 0; i < 10; ++i) {
    const auto& rec = feed.records.at(req.edits[static_cast<std::size_t>(i)].record_id);
    REQUIRE(rec.live.size() == 1);
    CHECK(rec.live[0].body == req.edits[static_cast<std::size_t>(i)].body);
    CHECK(rec.live[0].dot == req.edits[static_cast<std::size_t>(i)].dot);
    CHECK_FALSE(rec.conflict);
  }
  CHECK(feed.pages >= 4);  // limit 3 forces paging
  // Nothing new after the cursor.
  auto again = test::pull_all(c, srv.b, feed.cursor, 100);
  CHECK(again.records.empty());
  CHECK(again.cursor == feed.cursor);
  // The single-record endpoint agrees.
  auto one = test::get(c, srv.a, "/v1/records/" + req.edits[3].record_id);
  CHECK(one.status == 200);
  CHECK(nlohmann::json::parse(one.body)["live"][0]["body"]["i"] == 3);
  CHECK(test::get(c, srv.a, "/v1/records/" + uuid7(1, 1)).status == 404);
  CHECK(test::get(c, srv.a, "/v1/records/not-a-uuid").status == 400);
}

TEST_CASE("integration: the same batch twice is answered byte for byte and changes nothing") {
  test::TestServer srv;
  auto c = srv.client();
  sync::PushRequest req{"dup-1", {make_edit(uuid7(1, 1), srv.a.actor, 1, {}, R"({"x":1})", {"x"})}};
  auto first = test::push(c, srv.a, req);
  const auto seq = srv.app().store->last_seq();
  auto second = test::push(c, srv.a, req);
  CHECK(first.status == 200);
  CHECK(second.status == 200);
  CHECK(second.body == first.body);
  CHECK(second.header("aktsync-replayed") == "true");
  CHECK(srv.app().store->last_seq() == seq);
  // The same batch id with other content is refused and stores nothing.
  sync::PushRequest other{"dup-1", {make_edit(uuid7(2, 2), srv.a.actor, 2, {}, R"({"x":2})", {"x"})}};
  auto refused = test::push(c, srv.a, other);
  CHECK(refused.status == 409);
  CHECK(nlohmann::json::parse(refused.body)["code"] == "batch_id_reused");
  CHECK(srv.app().store->last_seq() == seq);
}

TEST_CASE("integration: batches delivered in either order reach the same state") {
  auto run = [](bool reversed) {
    test::TestServer srv;
    auto c = srv.client();
    const std::string rec = uuid7(5, 5);
    sync::Edit e1 = make_edit(rec, srv.a.actor, 1, {}, R"({"pct":10,"status":"started"})", {"pct", "status"});
    sync::Edit e2 = make_edit(rec, srv.a.actor, 2, e1.clock(), R"({"pct":50,"status":"started"})", {"pct"});
    sync::Edit f1 = make_edit(uuid7(6, 6), srv.a.actor, 3, {}, R"({"k":"ë"})", {"k"});
    sync::PushRequest b1{"o-1", {e1, f1}}, b2{"o-2", {e2}};
    if (reversed) std::swap(b1, b2);
    CHECK(test::push(c, srv.a, b1).status == 200);
    CHECK(test::push(c, srv.a, b2).status == 200);
    auto feed = test::pull_all(c, srv.a, "", 100);
    std::map<std::string, std::vector<sync::Version>> live;
    for (auto& [id, r] : feed.records) {
      // Wall-clock times differ between runs, and parents name the versions an edit retired on
      // arrival, which depends on the order by design; everything else must be equal.
      for (auto& v : r.live) v.server_time = 0, v.parents.clear();
      live[id] = r.live;
    }
    return live;
  };
  auto in_order = run(false), reordered = run(true);
  CHECK(in_order == reordered);
  REQUIRE(in_order.size() == 2);
}

TEST_CASE("integration: two devices editing one record concurrently are merged, the same field is flagged") {
  test::TestServer srv;
  auto ca = srv.client(), cb = srv.client();
  const std::string rec = uuid7(1700000000000, 42);
  sync::Edit base = make_edit(rec, srv.a.actor, 1, {}, R"({"pct_complete":60,"ben_serb":40})", {"pct_complete"});
  REQUIRE(test::push(ca, srv.a, {"base", {base}}).status == 200);
  // Both pull the base, then edit offline.
  auto pulled = test::pull_all(cb, srv.b, "", 100);
  REQUIRE(pulled.records.count(rec));
  sync::VectorClock seen = pulled.records[rec].live[0].clock;
  sync::Edit ea = make_edit(rec, srv.a.actor, 2, seen, R"({"pct_complete":75,"ben_serb":40})", {"pct_complete"});
  sync::Edit eb = make_edit(rec, srv.b.actor, 1, seen, R"({"pct_complete":70,"ben_serb":45})",
                            {"pct_complete", "ben_serb"});
  auto ra = sync::decode_push_response(test::push(ca, srv.a, {"a-2", {ea}}).body);
  auto rb = sync::decode_push_response(test::push(cb, srv.b, {"b-1", {eb}}).body);
  REQUIRE(ra.ok());
  REQUIRE(rb.ok());
  CHECK(ra->results[0].outcome == sync::Outcome::kApplied);
  CHECK(rb->results[0].outcome == sync::Outcome::kMerged);
  CHECK(rb->results[0].live == 1);
  CHECK(rb->results[0].conflicts == std::vector<std::string>{"pct_complete"});

  // Both devices pull one merged version: B's ben_serb (changed on one side) is in; pct_complete,
  // changed on both sides to different values, keeps the server's provisional value (A's, first in)
  // and is flagged.
  for (auto* dev : {&srv.a, &srv.b}) {
    auto feed = test::pull_all(ca, *dev, pulled.cursor, 100);
    REQUIRE(feed.records.size() == 1);
    const auto& r = feed.records[rec];
    CHECK(r.conflict);
    CHECK(r.conflicted == std::vector<std::string>{"pct_complete"});
    REQUIRE(r.live.size() == 1);
    CHECK(r.live[0].body == R"({"ben_serb":45,"pct_complete":75})");
  }
}

TEST_CASE("integration: concurrent edits of different fields merge with both changes, no conflict") {
  test::TestServer srv;
  auto ca = srv.client();
  const std::string rec = uuid7(1700000000000, 43);
  sync::Edit base = make_edit(rec, srv.a.actor, 1, {}, R"({"status":"in_progress","jc_meetings":4,"photos":0})",
                              {"status", "jc_meetings", "photos"});
  REQUIRE(test::push(ca, srv.a, {"base", {base}}).status == 200);
  sync::Edit ea = make_edit(rec, srv.a.actor, 2, base.clock(), R"({"status":"completed","jc_meetings":4,"photos":0})",
                            {"status"});
  sync::Edit eb = make_edit(rec, srv.b.actor, 1, base.clock(), R"({"status":"in_progress","jc_meetings":5,"photos":2})",
                            {"jc_meetings", "photos"});
  REQUIRE(test::push(ca, srv.a, {"a", {ea}}).status == 200);
  auto rb = sync::decode_push_response(test::push(ca, srv.b, {"b", {eb}}).body);
  CHECK(rb->results[0].outcome == sync::Outcome::kMerged);
  CHECK(rb->results[0].conflicts.empty());
  auto feed = test::pull_all(ca, srv.b, "", 100);
  const auto& r = feed.records.at(rec);
  CHECK_FALSE(r.conflict);
  REQUIRE(r.live.size() == 1);
  CHECK(r.live[0].body == R"({"jc_meetings":5,"photos":2,"status":"completed"})");
}

TEST_CASE("integration: gzip both ways") {
  test::TestServer srv;
  client::HttpOptions o;
  o.gzip_requests = true;
  o.accept_zstd = false;   // gzip alone (zstd: zstd_test.cpp)
  o.zstd_requests = false;
  auto c = srv.client(o);
  sync::PushRequest req{"gz-1", {}};
  for (int i = 0; i < 50; ++i)
    req.edits.push_back(make_edit(uuid7(100 + i, 1), srv.a.actor, i + 1, {},
                                  R"({"note":"Komuniteti rom – Romska zajednica č ć š ž đ"})", {"note"}));
  auto r = test::push(c, srv.a, req);
  REQUIRE(r.status == 200);
  CHECK(r.header("content-encoding") == "gzip");  // the answer is > 1 KiB and we accept gzip
  CHECK(sync::decode_push_response(r.body)->results.size() == 50);
  auto feed = test::get(c, srv.a, "/v1/changes?limit=100");
  CHECK(feed.header("content-encoding") == "gzip");
  CHECK(nlohmann::json::parse(feed.body)["changes"].size() == 50);
  // Without Accept-Encoding the answer is plain.
  client::HttpOptions plain;
  plain.accept_gzip = false;
  plain.accept_zstd = false;
  auto c2 = srv.client(plain);
  auto f2 = test::get(c2, srv.a, "/v1/changes?limit=100");
  CHECK(f2.header("content-encoding").empty());
  CHECK(nlohmann::json::parse(f2.body)["changes"].size() == 50);
  // A gzip bomb stops at the decoded limit.
  std::string zeros(40u * 1024 * 1024, ' ');
  std::string bomb = sync::gzip("{\"v\":1,\"batch_id\":\"x\",\"edits\":[],\"pad\":\"" + zeros + "\"}", 9);
  auto auth = srv.a.auth();
  auth.emplace_back("Content-Encoding", "gzip");
  auto raw = srv.client();
  client::HttpOptions none;
  auto rb = raw.request("POST", "/v1/push", bomb, auth);
  REQUIRE(rb.ok());
  CHECK(rb->status == 413);
  CHECK(nlohmann::json::parse(rb->body)["code"] == "body_too_large");
}

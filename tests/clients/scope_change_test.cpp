// A record leaves a tablet's scope, with the real server on 127.0.0.1 (port 0) and the real sync client:
// a supervisor moves it to another municipality (the feed announces it with an out-of-scope marker,
// PROTOCOL §5.1), or an admin narrows the user's assignments (410 scope_changed, §5.4). Either way the
// tablet drops its copy and keeps syncing; an edit it had not pushed yet is never dropped silently: the
// server quarantines it `out_of_scope` and the tablet lists it among its rejected edits.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "clients/sync_client.hpp"
#include "tests/clients/client_support.hpp"
#include "tests/support/edits.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;
using nlohmann::json;

namespace {

const std::string kPw = "correct horse battery";

// Sara supervises Gračanica and Prizren; Enis, her enumerator, works in Gračanica (or, with `wide`,
// both); each has an enrolled tablet.
struct Team {
  test::TestServer srv;
  std::string admin;
  test::Device sara, enis;
  explicit Team(bool wide = false) {
    srv.create_user("root", "admin", kPw);
    srv.create_user("sara", "supervisor", kPw, {{"gracanice", "*", "*", "*"}, {"prizren", "*", "*", "*"}});
    std::vector<sync::Assignment> enis_scope{{"gracanice", "*", "*", "*"}};
    if (wide) enis_scope.push_back({"prizren", "*", "*", "*"});
    srv.create_user("enis", "enumerator", kPw, enis_scope, "sara");
    admin = srv.login("root", kPw);
    sara = srv.enrol(admin, "sara", "tablet-sara");
    enis = srv.enrol(admin, "enis", "tablet-enis");
  }

  // Sara's tablet moves `record` to Prizren: an edit on top of its latest state with the new scope.
  void move_to_prizren(const std::string& record, std::int64_t n) {
    auto c = srv.client();
    test::Feed f = test::pull_all(c, sara, "", 100);
    REQUIRE(f.records.count(record) == 1);
    const sync::RecordState& st = f.records.at(record);
    sync::VectorClock ctx;
    for (const sync::Version& v : st.live) ctx = ctx.join(v.clock);
    sync::Edit e = test::make_edit(record, sara.actor, n, ctx, st.live.at(0).body, {"pct_complete"});
    e.scope = {"prizren", "serb", "SO1"};
    auto r = test::push(c, sara, {"move-" + std::to_string(n), {e}});
    REQUIRE(r.status == 200);
    REQUIRE(json::parse(r.body)["results"][0]["outcome"] == "applied");
  }

  // The quarantine as the admin sees it.
  json quarantine() {
    auto c = srv.client();
    auto r = c.request("GET", "/v1/admin/quarantine", {}, test::bearer(admin));
    REQUIRE(r.ok());
    REQUIRE(r->status == 200);
    return json::parse(r->body)["entries"];
  }
};

bool has(test::Tablet& t, const std::string& id) {
  auto r = t.store->record(id);
  REQUIRE(r.ok());
  return r->has_value();
}

void check_idle(test::Tablet& t) {
  auto s = t.sync();
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  CHECK(s->pushed == 0);
  CHECK(s->pulled == 0);
  CHECK(s->rejected == 0);
}

}  // namespace

TEST_CASE("scope: a record a supervisor moves out of a tablet's scope is dropped, and the tablet keeps syncing") {
  Team team;
  test::TempDir dir;
  test::Tablet t(dir.file("enis.db"), team.enis, team.srv.port(), 21);
  const std::string moved = t.create(R"({"pct_complete":10})", {"pct_complete"});
  const std::string kept = t.create(R"({"pct_complete":20})", {"pct_complete"});
  REQUIRE(t.sync().ok());
  REQUIRE(has(t, moved));

  team.move_to_prizren(moved, 1);
  auto s = t.sync();
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  CHECK(s->rejected == 0);
  CHECK_FALSE(has(t, moved));
  CHECK(has(t, kept));

  // Syncing goes on: new work reaches the server and comes back.
  const std::string fresh = t.create(R"({"pct_complete":30})", {"pct_complete"});
  t.edit(kept, R"({"pct_complete":25})", {"pct_complete"});
  auto s2 = t.sync();
  REQUIRE_MESSAGE(s2.ok(), s2.status().message());
  CHECK(s2->pushed == 2);
  CHECK(s2->applied == 2);
  auto c = team.srv.client();
  test::Feed feed = test::pull_all(c, team.enis, "", 100);
  CHECK(feed.records.size() == 2);
  test::check_converged(t, feed);
  check_idle(t);
  // The supervisor still has the record, in Prizren.
  test::Feed sup = test::pull_all(c, team.sara, "", 100);
  REQUIRE(sup.records.count(moved) == 1);
  CHECK(sup.records.at(moved).scope.municipality == "prizren");
}

TEST_CASE("scope: an unpushed edit of a record that left the scope is quarantined and listed as rejected") {
  Team team;
  test::TempDir dir;
  test::Tablet t(dir.file("enis.db"), team.enis, team.srv.port(), 22);
  const std::string id = t.create(R"({"pct_complete":10})", {"pct_complete"});
  REQUIRE(t.sync().ok());
  t.edit(id, R"({"pct_complete":40})", {"pct_complete"});  // offline, while the supervisor moves it
  team.move_to_prizren(id, 1);

  // A pull alone (no push first) meets the marker while the edit waits: the server's copy goes, the
  // tablet's own edit stays, still to be pushed.
  {
    client::SyncOptions o;
    o.sleep = [](std::chrono::milliseconds) {};
    client::SyncClient pull_only(*t.store, client::http_transport(t.http), o);
    client::SyncSummary sum;
    Status st = pull_only.pull(sum);
    REQUIRE_MESSAGE(st.ok(), st.message());
    store::LocalRecord r = t.get(id);
    REQUIRE(r.live.size() == 1);
    CHECK(r.live[0].is_local);
    CHECK(r.live[0].body == R"({"pct_complete":40})");
    CHECK(r.unsynced == 1);
  }

  // The next round pushes it: the server quarantines it out_of_scope, the tablet lists it as rejected
  // and the record goes. Nothing is lost: the edit is in the quarantine, where an admin may release it.
  auto s = t.sync();
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  CHECK(s->pushed == 1);
  REQUIRE(s->rejected == 1);
  CHECK(s->rejections[0].code == "out_of_scope");
  CHECK(s->rejections[0].record_id == id);
  CHECK(json::parse(s->rejections[0].edit)["body"] == json{{"pct_complete", 40}});
  CHECK_FALSE(has(t, id));
  json q = team.quarantine();
  REQUIRE(q.size() == 1);
  CHECK(q[0]["code"] == "out_of_scope");
  CHECK(q[0]["record"] == id);
  CHECK(q[0]["edit"]["body"] == json{{"pct_complete", 40}});
  auto rej = t.store->rejected();
  REQUIRE(rej.ok());
  CHECK(rej->size() == 1);
  check_idle(t);
}

TEST_CASE("scope: an acknowledged edit the feed never showed goes with the record's marker") {
  Team team;
  test::TempDir dir;
  test::Tablet t(dir.file("enis.db"), team.enis, team.srv.port(), 23);
  const std::string id = t.create(R"({"pct_complete":10})", {"pct_complete"});
  REQUIRE(t.sync().ok());
  t.edit(id, R"({"pct_complete":50})", {"pct_complete"});
  {
    client::SyncOptions o;
    o.sleep = [](std::chrono::milliseconds) {};
    client::SyncClient push_only(*t.store, client::http_transport(t.http), o);
    client::SyncSummary sum;
    REQUIRE(push_only.push(sum).ok());  // acknowledged, not yet seen in the feed
    REQUIRE(sum.applied == 1);
  }
  team.move_to_prizren(id, 1);
  auto s = t.sync();
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  CHECK(s->rejected == 0);
  CHECK(s->unsynced == 0);
  CHECK_FALSE(has(t, id));
  CHECK(team.quarantine().empty());
  check_idle(t);
}

TEST_CASE("scope: an admin narrows a user's assignments, the tablet drops what left and keeps syncing") {
  Team team(/*wide=*/true);
  test::TempDir dir;
  test::Tablet t(dir.file("enis.db"), team.enis, team.srv.port(), 24);
  const std::string here = t.create(R"({"pct_complete":10})", {"pct_complete"});
  store::NewRecord pz = test::infra_record(R"({"pct_complete":20})", {"pct_complete"});
  pz.scope.municipality = "prizren";
  t.now += 1000;
  auto there_id = t.store->create(pz, t.now, test::random10(t.rng));
  REQUIRE(there_id.ok());
  const std::string there = *there_id, also_there = [&] {
    t.now += 1000;
    auto id = t.store->create(pz, t.now, test::random10(t.rng));
    REQUIRE(id.ok());
    return *id;
  }();
  REQUIRE(t.sync().ok());
  REQUIRE(has(t, there));

  // An edit acknowledged but not yet seen in the feed, one not pushed at all, and one that stays in scope.
  t.edit(there, R"({"pct_complete":60})", {"pct_complete"});
  {
    client::SyncOptions o;
    o.sleep = [](std::chrono::milliseconds) {};
    client::SyncClient push_only(*t.store, client::http_transport(t.http), o);
    client::SyncSummary sum;
    REQUIRE(push_only.push(sum).ok());
    REQUIRE(sum.applied == 1);
  }
  t.edit(also_there, R"({"pct_complete":70})", {"pct_complete"});
  t.edit(here, R"({"pct_complete":15})", {"pct_complete"});

  auto c = team.srv.client();
  auto put = c.request("PUT", "/v1/admin/users/enis/assignments", R"({"assignments":[{"municipality":"gracanice"}]})",
                       test::bearer(team.admin));
  REQUIRE(put.ok());
  REQUIRE(put->status == 200);

  auto s = t.sync();
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  // The unpushed Prizren edit is rejected and quarantined; the acknowledged one is not pushed again
  // (it is on the server already: a replay would only fill the quarantine with a duplicate).
  REQUIRE(s->rejected == 1);
  CHECK(s->rejections[0].record_id == also_there);
  CHECK(s->rejections[0].code == "out_of_scope");
  json q = team.quarantine();
  REQUIRE(q.size() == 1);
  CHECK(q[0]["record"] == also_there);
  CHECK_FALSE(has(t, there));
  CHECK_FALSE(has(t, also_there));
  REQUIRE(has(t, here));
  CHECK(t.get(here).live.at(0).body == R"({"pct_complete":15})");
  CHECK(s->unsynced == 0);

  const std::string fresh = t.create(R"({"pct_complete":80})", {"pct_complete"});
  auto s2 = t.sync();
  REQUIRE_MESSAGE(s2.ok(), s2.status().message());
  CHECK(s2->applied == 1);
  test::Feed feed = test::pull_all(c, team.enis, "", 100);
  CHECK(feed.records.size() == 2);
  test::check_converged(t, feed);
  check_idle(t);
}

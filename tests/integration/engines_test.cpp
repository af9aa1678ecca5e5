// One server scenario on both store engines (issue #20): the real server, over HTTP, on SQLite and on a
// database of the test binary's throwaway PostgreSQL cluster (tests/support/pg_cluster.hpp). Users log in
// and enrol two tablets, which push; a concurrent edit merges and a same-field one opens an inbox entry
// that an admin resolves; a scoped pull gets the out-of-scope marker of a record that moved; a long poll
// is woken by a push; a lost push answer is read back; a CSV export lists the records. Without
// PostgreSQL the postgres case prints "PostgreSQL engine skipped" (CTest: skipped) unless
// AKT_REQUIRE_POSTGRES=1.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/support/feed.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"
#include "tests/support/pg_database.hpp"
#include "tests/support/shell.hpp"
#include "tests/support/temp_dir.hpp"
#include "sync/wire_json.hpp"

using namespace akt;
using nlohmann::json;
using test::bearer;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kPw = "correct horse battery";

sync::Edit edit(const std::string& record, const test::Device& d, std::int64_t n, const sync::VectorClock& ctx,
                const std::string& body, std::vector<std::string> changed, const std::string& municipality = "gracanice") {
  sync::Edit e = test::make_edit(record, d.actor, n, ctx, body, std::move(changed));
  e.form_id = "so2_business_followup";  // a form without repeat groups: its export is one CSV file
  e.scope.municipality = municipality;
  return e;
}

json push_ok(client::HttpClient& c, const test::Device& d, const std::string& batch, std::vector<sync::Edit> edits) {
  auto r = test::push(c, d, {batch, std::move(edits)});
  REQUIRE_MESSAGE(r.status == 200, r.body);
  return json::parse(r.body);
}

void scenario(test::TestServer& srv) {
  auto c = srv.client();
  srv.create_user("root", "admin", kPw);
  srv.create_user("mira", "me_officer", kPw);
  srv.create_user("enis", "enumerator", kPw, {{"gracanice", "*", "*", "*"}});
  srv.create_user("sara", "enumerator", kPw, {{"gracanice", "*", "*", "*"}});
  const std::string admin = srv.login("root", kPw);
  const test::Device t1 = srv.enrol(admin, "enis", "tablet-1");
  const test::Device t2 = srv.enrol(admin, "sara", "tablet-2");
  // The form, published, for the export.
  auto up = c.request("POST", "/v1/admin/forms",
                      test::read_text_file(std::string(AKT_SOURCE_DIR) + "/schema/forms/programme/so2_business_followup.json"),
                      bearer(admin));
  REQUIRE_MESSAGE(up->status == 201, up->body);
  REQUIRE(c.request("POST", "/v1/admin/forms/so2_business_followup/1/publish", "{}", bearer(admin))->status == 200);

  // Two tablets push.
  const std::string r1 = test::uuid7(1700000000000, 1), r2 = test::uuid7(1700000000000, 2),
                    r3 = test::uuid7(1700000000000, 3);
  const sync::Edit c1 = edit(r1, t1, 1, {}, R"({"note":"a","pct_complete":60})", {"note", "pct_complete"});
  const sync::Edit c2 = edit(r2, t1, 2, {}, R"({"note":"b","pct_complete":10})", {"note", "pct_complete"});
  const json first = push_ok(c, t1, "t1-first", {c1, c2});
  const sync::Edit c3 = edit(r3, t2, 1, {}, R"({"note":"c","pct_complete":30})", {"note", "pct_complete"});
  push_ok(c, t2, "t2-first", {c3});

  // Concurrent edits of r1: different fields merge; then the same field opens an inbox entry.
  push_ok(c, t2, "t2-note", {edit(r1, t2, 2, c1.clock(), R"({"note":"b2","pct_complete":60})", {"note"})});
  const json merged = push_ok(c, t1, "t1-pct", {edit(r1, t1, 3, c1.clock(), R"({"note":"a","pct_complete":70})",
                                                     {"pct_complete"})});
  CHECK(merged["results"][0]["outcome"] == "merged");
  CHECK(merged["results"][0].value("conflicts", json::array()) == json::array());
  auto after_merge = c.request("GET", "/v1/records/" + r1, {}, t1.auth());
  REQUIRE_MESSAGE(after_merge->status == 200, after_merge->body);
  const json state = json::parse(after_merge->body);
  const sync::VectorClock merged_clock = *sync::decode_clock(state["live"][0]["clock"].dump());
  push_ok(c, t1, "t1-same", {edit(r1, t1, 4, merged_clock, R"({"note":"b2","pct_complete":75})", {"pct_complete"})});
  const json conflicted = push_ok(
      c, t2, "t2-same", {edit(r1, t2, 3, merged_clock, R"({"note":"b2","pct_complete":72})", {"pct_complete"})});
  CHECK(conflicted["results"][0]["conflicts"] == json::array({"pct_complete"}));

  // r2 moves out of gracanice (a static config device may write anywhere).
  push_ok(c, srv.a, "move", {edit(r2, srv.a, 1, c2.clock(), R"({"note":"moved","pct_complete":10})", {"note"},
                                  "pristina")});

  // A scoped pull: r1 and r3, and r2's out-of-scope marker.
  auto pulled = test::get(c, t1, "/v1/changes?limit=2");
  REQUIRE_MESSAGE(pulled.status == 200, pulled.body);
  std::string cursor;
  std::set<std::string> seen, dropped;
  for (json page = json::parse(pulled.body);;) {
    for (const json& ch : page["changes"]) {
      if (ch.contains("out_of_scope")) dropped.insert(ch["record"].get<std::string>());
      else seen.insert(ch["record"].get<std::string>());
    }
    cursor = page["next"].get<std::string>();
    if (!page["more"].get<bool>()) break;
    auto next = test::get(c, t1, "/v1/changes?limit=2&since=" + cursor);
    REQUIRE(next.status == 200);
    page = json::parse(next.body);
  }
  CHECK(seen == std::set<std::string>{r1, r3});
  CHECK(dropped == std::set<std::string>{r2});

  // A long poll from that cursor is woken by t2's push.
  client::HttpOptions lo;
  lo.timeout = std::chrono::seconds(120);
  auto lc = srv.client(lo);
  const std::string r4 = test::uuid7(1700000000000, 4);
  bool parked = false;
  std::thread pusher([&] {
    parked = test::wait_for_waiters(srv.app(), 1);
    auto pc = srv.client();
    test::push(pc, t2, {"t2-wake", {edit(r4, t2, 4, {}, R"({"note":"d","pct_complete":1})", {"note"})}});
  });
  const auto start = Clock::now();
  auto woken = test::get(lc, t1, "/v1/changes?wait=60000&since=" + cursor);
  const auto took = Clock::now() - start;
  pusher.join();
  REQUIRE(parked);
  REQUIRE_MESSAGE(woken.status == 200, woken.body);
  const json w = json::parse(woken.body);
  REQUIRE(w["changes"].size() == 1);
  CHECK(w["changes"][0]["record"] == r4);
  CHECK(took < std::chrono::milliseconds(srv.app().config.limits.max_wait_ms));

  // The stored answer of a batch, read back byte for byte.
  auto stored = test::get(c, t1, "/v1/push/t1-first");
  REQUIRE_MESSAGE(stored.status == 200, stored.body);
  CHECK(json::parse(stored.body) == first);
  CHECK(test::get(c, t2, "/v1/push/t1-first").status == 404);

  // The conflict, resolved from the inbox; both tablets pull the value chosen, without the flag.
  auto entries = json::parse(c.request("GET", "/v1/admin/conflicts", {}, bearer(admin))->body)["entries"];
  REQUIRE(entries.size() == 1);
  const std::string id = std::to_string(entries[0]["id"].get<std::int64_t>());
  auto shown = json::parse(c.request("GET", "/v1/admin/conflicts/" + id, {}, bearer(admin))->body)["entry"];
  auto res = c.request("POST", "/v1/admin/conflicts/" + id + "/resolve",
                       json{{"seen", shown["record_state"]["live"][0]["clock"]}, {"value", 73}}.dump(), bearer(admin));
  REQUIRE_MESSAGE(res->status == 200, res->body);
  CHECK(json::parse(res->body)["closed"] == true);
  for (const test::Device* d : {&t1, &t2}) {
    auto feed = test::pull_all(c, *d, "", 100);
    const auto& r = feed.records.at(r1);
    CHECK_FALSE(r.conflict);
    CHECK(json::parse(r.live[0].body)["pct_complete"] == 73);
  }

  // A CSV export for an M&E officer: the header and one line per record.
  auto csv = c.request("GET", "/v1/exports/so2_business_followup?format=csv", {}, bearer(srv.login("mira", kPw)));
  REQUIRE_MESSAGE(csv->status == 200, csv->body);
  CHECK_MESSAGE(csv->header("content-type").rfind("text/csv", 0) == 0, csv->header("content-type") << "\n" << csv->body.substr(0, 400));
  for (const std::string& r : {r1, r2, r3, r4}) CHECK(csv->body.find(r) != std::string::npos);
}

// A create's `changed` stored compact (docs/STORE.md "versions.changed") reads back as pushed everywhere
// it is shown: the record, its history, the feed (with `changed`, compact=0 and changed=1), the lean and
// compact feeds (without it); a create listing fewer keys, an edit and a deletion keep their lists.
void compact_changed_scenario(test::TestServer& srv) {
  auto c = srv.client();
  srv.create_user("root", "admin", kPw);
  srv.create_user("enis", "enumerator", kPw, {{"gracanice", "*", "*", "*"}});
  const std::string admin = srv.login("root", kPw);
  const test::Device t1 = srv.enrol(admin, "enis", "tablet-1");
  const std::string r1 = test::uuid7(1700000000000, 11), r2 = test::uuid7(1700000000000, 12),
                    r3 = test::uuid7(1700000000000, 13);
  // The push leaves r1's list out (it is every key: wire_json omits it); the server fills it in.
  const sync::Edit c1 = edit(r1, t1, 1, {}, R"({"b_q":"x","a\"":{"k":[1,"}"]},"note":"a"})", {"a\"", "b_q", "note"});
  const sync::Edit c2 = edit(r2, t1, 2, {}, R"({"note":"b","pct_complete":10})", {"note"});
  const sync::Edit c3 = edit(r3, t1, 3, {}, R"({"note":"c"})", {"note"});
  // r4's create stays its live version: the feed shows it.
  const std::string r4 = test::uuid7(1700000000000, 14);
  const sync::Edit c4 = edit(r4, t1, 6, {}, R"({"pct_complete":4,"note":"d"})", {"note", "pct_complete"});
  REQUIRE(sync::encode_push_request({"first", {c1}}).find("\"changed\"") == std::string::npos);
  push_ok(c, t1, "first", {c1, c2, c3, c4});
  push_ok(c, t1, "edit", {edit(r1, t1, 4, c1.clock(), R"({"a\"":1,"b_q":"y","note":"a"})", {"a\"", "b_q", "note"})});
  sync::Edit gone = edit(r3, t1, 5, c3.clock(), "{}", {});
  gone.deleted = true;
  push_ok(c, t1, "gone", {gone});
  const json all = json::array({"a\"", "b_q", "note"});

  auto created = c.request("GET", "/v1/records/" + r4, {}, t1.auth());
  REQUIRE_MESSAGE(created->status == 200, created->body);
  CHECK(json::parse(created->body)["live"][0]["changed"] == json::array({"note", "pct_complete"}));
  auto record = c.request("GET", "/v1/records/" + r1, {}, t1.auth());
  REQUIRE_MESSAGE(record->status == 200, record->body);
  CHECK(json::parse(record->body)["live"][0]["changed"] == all);
  auto history = c.request("GET", "/v1/records/" + r1 + "/history", {}, bearer(admin));
  REQUIRE_MESSAGE(history->status == 200, history->body);
  const json h = json::parse(history->body)["versions"];
  REQUIRE(h.size() == 2);
  CHECK(h[0]["changed"] == all);
  CHECK(h[1]["changed"] == all);
  auto h2 = c.request("GET", "/v1/records/" + r2 + "/history", {}, bearer(admin));
  CHECK(json::parse(h2->body)["versions"][0]["changed"] == json::array({"note"}));
  auto h3 = c.request("GET", "/v1/records/" + r3 + "/history", {}, bearer(admin));
  const json v3 = json::parse(h3->body)["versions"];
  REQUIRE(v3.size() == 2);
  CHECK(v3[0]["changed"] == json::array({"note"}));
  CHECK(v3[1]["changed"] == json::array());

  // The feed: the same text as a stored list would give, in each form that shows `changed`.
  for (const char* q : {"", "&compact=0", "&changed=1", "&compact=1&changed=1", "&compact=2&changed=1"}) {
    CAPTURE(q);
    auto page = test::get(c, srv.a, std::string("/v1/changes?limit=100") + q);
    REQUIRE_MESSAGE(page.status == 200, page.body);
    CHECK(page.body.find(R"("changed":["a\"","b_q","note"])") != std::string::npos);
    CHECK(page.body.find(R"("changed":["note"])") != std::string::npos);  // r2 (and r3 is deleted: [])
    CHECK(page.body.find(R"("changed":["note","pct_complete"],"body":{"note":"d","pct_complete":4})") !=
          std::string::npos);  // r4's create
    CHECK(page.body.find(R"("changed":"")") == std::string::npos);
    CHECK(page.body.find(R"("changed":[])") != std::string::npos);
    const json parsed = json::parse(page.body);  // named: the loop must not outlive a temporary
    for (const json& ch : parsed["changes"])
      if (ch["record"] == r1) CHECK(ch["live"][0]["changed"] == all);
      else if (ch["record"] == r4) CHECK(ch["live"][0]["changed"] == json::array({"note", "pct_complete"}));
  }
  for (const char* q : {"&compact=1", "&changed=0"}) {
    auto page = test::get(c, srv.a, std::string("/v1/changes?limit=100") + q);
    REQUIRE(page.status == 200);
    CHECK(page.body.find("\"changed\"") == std::string::npos);
  }
}

// Runs `body` on a server over a fresh database of the test cluster; skips (or fails with
// AKT_REQUIRE_POSTGRES=1) when PostgreSQL cannot run here.
void on_postgres(void (*body)(test::TestServer&)) {
  const std::string url = test::fresh_pg_database("akt_compact");
  if (url.empty()) return;
  test::TestServer srv({}, {}, false, false, url);
  CHECK(std::string(srv.app().store->engine()) == "postgres");
  body(srv);
}

}  // namespace

TEST_CASE("engines: the server scenario on SQLite") {
  test::TestServer srv;
  scenario(srv);
}

TEST_CASE("engines: a compact create list reads back whole on SQLite") {
  test::TestServer srv;
  compact_changed_scenario(srv);
}

TEST_CASE("engines: a compact create list reads back whole on PostgreSQL") { on_postgres(compact_changed_scenario); }

TEST_CASE("engines: the server scenario on PostgreSQL") {
  const std::string url = test::fresh_pg_database("akt_server");
  if (url.empty()) return;
  test::TestServer srv({}, {}, false, false, url);
  CHECK(std::string(srv.app().store->engine()) == "postgres");
  scenario(srv);
}

namespace {

using Run = test::ShellRun;

// Runs aktsyncd with `args` (a config file written from `config`) and returns its exit code and output.
Run run_aktsyncd(const test::TempDir& dir, const json& config, const std::string& args = "") {
  const std::string file = dir.file("aktsyncd.json");
  std::ofstream(file) << config.dump();
  return test::run_shell(std::string(AKTSYNCD_PATH) + " " + args + " --config " + file);
}

}  // namespace

TEST_CASE("engines: a store the server cannot use stops it at start with the cause, never the password") {
  test::TempDir dir;
  const json base{{"listen", "127.0.0.1:0"}, {"data_dir", dir.path()}};
  SUBCASE("an unknown engine") {
    json c = base;
    c["store"] = {{"engine", "mysql"}};
    const Run r = run_aktsyncd(dir, c);
    CHECK(r.code == 2);
    CHECK_MESSAGE(r.out.find("store.engine must be \"sqlite\" or \"postgres\"") != std::string::npos, r.out);
  }
  SUBCASE("postgres without a url") {
    json c = base;
    c["store"] = {{"engine", "postgres"}};
    const Run r = run_aktsyncd(dir, c);
    CHECK(r.code == 2);
    CHECK_MESSAGE(r.out.find("store.url is required") != std::string::npos, r.out);
  }
  SUBCASE("an unreachable database") {
    json c = base;
    // A Unix socket folder with no server in it: refused at once.
    c["store"] = {{"engine", "postgres"},
                  {"url", "host=" + dir.path() + " port=1 dbname=aktsync user=akt password=s3cret-Pw0rd"}};
    const Run r = run_aktsyncd(dir, c);
    CHECK(r.code == 1);
#ifdef AKT_HAVE_POSTGRES
    CHECK_MESSAGE(r.out.find("cannot open store: postgres: cannot connect") != std::string::npos, r.out);
#else
    CHECK_MESSAGE(r.out.find("this build has no PostgreSQL engine") != std::string::npos, r.out);
#endif
    CHECK_MESSAGE(r.out.find("s3cret-Pw0rd") == std::string::npos, r.out);
    // One error line, whole (libpq's message is several lines: joined).
    std::size_t errors = 0;
    for (std::size_t at = r.out.find(" error "); at != std::string::npos; at = r.out.find(" error ", at + 1))
      ++errors;
    CHECK_MESSAGE(errors == 1, r.out);
    CHECK_MESSAGE(r.out.find("accepting connections") != std::string::npos, r.out);
    CHECK_MESSAGE(r.out.find("\tIs the server") == std::string::npos, r.out);
  }
  SUBCASE("a malformed url is refused without echoing it") {
    json c = base;
    // libpq quotes a URI it cannot parse whole in its message.
    c["store"] = {{"engine", "postgres"}, {"url", "postgresql://akt:s3cret-Pw0rd@[::1/aktsync"}};
    const Run r = run_aktsyncd(dir, c);
    CHECK(r.code == 1);
    CHECK_MESSAGE(r.out.find("s3cret-Pw0rd") == std::string::npos, r.out);
  }
  SUBCASE("backup on postgres points to pg_dump") {
    json c = base;
    c["store"] = {{"engine", "postgres"}, {"url", "host=/nowhere dbname=x"}};
    const Run r = run_aktsyncd(dir, c, "backup --to " + dir.file("b.tar.gz"));
    CHECK(r.code == 2);
    CHECK_MESSAGE(r.out.find("pg_dump") != std::string::npos, r.out);
  }
}

// `aktsyncd migrate-to-postgres` (server/migrate_pg.hpp, README "Moving to PostgreSQL"): the real server
// on SQLite runs a field scenario (two tablets, a merge, an inbox entry resolved, a quarantined edit, a
// scoped user, a photo); the real binary copies its data folder into a database of the test binary's
// throwaway PostgreSQL cluster; the real server on PostgreSQL, on the same data folder, answers the same
// requests byte for byte, and a tablet goes on syncing from the cursor it holds. And the refusals: a
// non-empty target, a running server, a bad url. Without PostgreSQL: "PostgreSQL engine skipped".
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "schema/store/blob_store.hpp"
#include "schema/store/db.hpp"
#include "sync/wire_json.hpp"
#include "tests/support/feed.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"
#include "tests/support/pg_database.hpp"
#include "tests/support/shell.hpp"
#include "tests/support/photo_bytes.hpp"
#include "tests/support/temp_dir.hpp"
#ifdef AKT_HAVE_POSTGRES
#include "schema/store/postgres/pg_blobs.hpp"
#include "schema/store/postgres/pg_conn.hpp"
#include "schema/store/postgres/pg_store.hpp"
#endif

using namespace akt;
using nlohmann::json;
using test::bearer;

namespace {

const std::string kPw = "correct horse battery";

constexpr const char* kPhotoForm =
    R"({"v":1,"form_id":"t_photo","version":1,"title":{"en":"T"},"fields":[)"
    R"({"key":"site_photo","type":"photo","label":{"en":"Site"},"sensitivity":"-"},)"
    R"({"key":"note","type":"text","label":{"en":"Note"},"sensitivity":"-"}]})";

using Run = test::ShellRun;

Run aktsyncd(const std::string& args) { return test::run_shell(std::string(AKTSYNCD_PATH) + " " + args); }

sync::Edit edit(const std::string& record, const test::Device& d, std::int64_t n, const sync::VectorClock& ctx,
                const std::string& body, std::vector<std::string> changed, const std::string& municipality = "gracanice") {
  sync::Edit e = test::make_edit(record, d.actor, n, ctx, body, std::move(changed));
  e.form_id = "so2_business_followup";
  e.scope.municipality = municipality;
  return e;
}

json push_ok(client::HttpClient& c, const test::Device& d, const std::string& batch, std::vector<sync::Edit> edits) {
  auto r = test::push(c, d, {batch, std::move(edits)});
  REQUIRE_MESSAGE(r.status == 200, r.body);
  return json::parse(r.body);
}

// What the scenario leaves for the second half: who, which records, the cursor tablet 1 holds.
struct World {
  std::string admin, mira;
  test::Device t1, t2, enis_q;
  std::vector<std::string> records;
  std::string t1_cursor;
  std::string photo_digest;
  std::string epoch;
};

void scenario(test::TestServer& srv, World& w) {
  auto c = srv.client();
  srv.create_user("root", "admin", kPw);
  srv.create_user("mira", "me_officer", kPw);
  srv.create_user("enis", "enumerator", kPw, {{"gracanice", "*", "*", "*"}});
  srv.create_user("sara", "enumerator", kPw, {{"gracanice", "*", "*", "*"}});
  srv.create_user("vera", "supervisor", kPw, {{"gracanice", "*", "*", "*"}});
  srv.create_user("ivan", "enumerator", kPw, {{"gracanice", "*", "*", "*"}}, "vera");
  w.admin = srv.login("root", kPw);
  w.mira = srv.login("mira", kPw);
  w.t1 = srv.enrol(w.admin, "enis", "tablet-1");
  w.t2 = srv.enrol(w.admin, "sara", "tablet-2");
  for (const auto& form : {test::read_text_file(std::string(AKT_SOURCE_DIR) +
                                                "/schema/forms/programme/so2_business_followup.json"),
                           std::string(kPhotoForm)}) {
    auto up = c.request("POST", "/v1/admin/forms", form, bearer(w.admin));
    REQUIRE_MESSAGE(up->status == 201, up->body);
  }
  REQUIRE(c.request("POST", "/v1/admin/forms/so2_business_followup/1/publish", "{}", bearer(w.admin))->status == 200);
  REQUIRE(c.request("POST", "/v1/admin/forms/t_photo/1/publish", "{}", bearer(w.admin))->status == 200);

  const std::string r1 = test::uuid7(1700000000000, 1), r2 = test::uuid7(1700000000000, 2),
                    r3 = test::uuid7(1700000000000, 3), r5 = test::uuid7(1700000000000, 5);
  w.records = {r1, r2, r3, r5};
  const sync::Edit c1 = edit(r1, w.t1, 1, {}, R"({"note":"a","pct_complete":60})", {"note", "pct_complete"});
  const sync::Edit c2 = edit(r2, w.t1, 2, {}, R"({"note":"b","pct_complete":10})", {"note", "pct_complete"});
  push_ok(c, w.t1, "t1-first", {c1, c2});
  push_ok(c, w.t2, "t2-first", {edit(r3, w.t2, 1, {}, R"({"note":"c","pct_complete":30})", {"note", "pct_complete"})});
  // A merge, then a same-field divergence that opens an inbox entry.
  push_ok(c, w.t2, "t2-note", {edit(r1, w.t2, 2, c1.clock(), R"({"note":"b2","pct_complete":60})", {"note"})});
  const json merged = push_ok(c, w.t1, "t1-pct", {edit(r1, w.t1, 3, c1.clock(), R"({"note":"a","pct_complete":70})",
                                                       {"pct_complete"})});
  REQUIRE(merged["results"][0]["outcome"] == "merged");
  auto state = json::parse(c.request("GET", "/v1/records/" + r1, {}, w.t1.auth())->body);
  const sync::VectorClock mc = *sync::decode_clock(state["live"][0]["clock"].dump());
  push_ok(c, w.t1, "t1-same", {edit(r1, w.t1, 4, mc, R"({"note":"b2","pct_complete":75})", {"pct_complete"})});
  const json conflicted =
      push_ok(c, w.t2, "t2-same", {edit(r1, w.t2, 3, mc, R"({"note":"b2","pct_complete":72})", {"pct_complete"})});
  REQUIRE(conflicted["results"][0]["conflicts"] == json::array({"pct_complete"}));
  // The admin resolves it (a version of the admin's resolver actor). root stands for a user made before
  // SQLite's migration 11: no stored resolver actor, the server derives it (and its version carries it).
  {
    auto db = store::Db::open(srv.data_dir() + "/aktsync.db", store::DbOptions{});
    REQUIRE(db.ok());
    REQUIRE((*db)->exec("UPDATE users SET resolver_actor = NULL WHERE username = 'root'").ok());
  }
  auto entries = json::parse(c.request("GET", "/v1/admin/conflicts", {}, bearer(w.admin))->body)["entries"];
  REQUIRE(entries.size() == 1);
  const std::string id = std::to_string(entries[0]["id"].get<std::int64_t>());
  auto shown = json::parse(c.request("GET", "/v1/admin/conflicts/" + id, {}, bearer(w.admin))->body)["entry"];
  auto res = c.request("POST", "/v1/admin/conflicts/" + id + "/resolve",
                       json{{"seen", shown["record_state"]["live"][0]["clock"]}, {"value", 73}}.dump(), bearer(w.admin));
  REQUIRE_MESSAGE(res->status == 200, res->body);
  // r2 moves out of the tablets' scope; a scoped edit outside it is quarantined.
  push_ok(c, srv.a, "move", {edit(r2, srv.a, 1, c2.clock(), R"({"note":"moved","pct_complete":10})", {"note"},
                                  "pristina")});
  const json q = push_ok(c, w.t1, "t1-outside", {edit(test::uuid7(1700000000000, 9), w.t1, 5, {},
                                                       R"({"note":"x","pct_complete":1})", {"note"}, "prizren")});
  REQUIRE(q["results"][0]["error"]["code"] == "out_of_scope");
  // A photo: pushed, then uploaded (blob_refs, blob_holders, the file in the data folder, which the
  // migration copies into the database).
  const std::string photo = test::bytes_of(150000, 7);
  w.photo_digest = store::sha256_hex_of(photo);
  sync::Edit pe = test::make_edit(r5, w.t2.actor, 4, {}, json{{"site_photo", test::ref_of(photo)}, {"note", "p"}}.dump(),
                                  {"note", "site_photo"});
  pe.form_id = "t_photo";
  pe.scope.municipality = "gracanice";
  push_ok(c, w.t2, "t2-photo", {pe});
  {
    const json req{{"v", 1}, {"digest", w.photo_digest}, {"size", photo.size()}, {"type", "image/jpeg"}};
    auto made = c.request("POST", "/v1/uploads", req.dump(), w.t2.auth());
    REQUIRE_MESSAGE(made->status == 201, made->body);
    const std::string up = json::parse(made->body)["upload"].get<std::string>();
    auto sent = c.request("PATCH", "/v1/uploads/" + up, photo,
                          {{"Authorization", "Bearer " + w.t2.token},
                           {"Content-Type", "application/offset+octet-stream"},
                           {"Upload-Offset", "0"}});
    REQUIRE_MESSAGE(sent->status == 200, sent->body);
  }
  // A half-done upload stays open across the move.
  {
    const std::string other = test::bytes_of(5000, 8);
    const json req{{"v", 1}, {"digest", store::sha256_hex_of(other)}, {"size", other.size()}, {"type", "image/jpeg"}};
    REQUIRE(c.request("POST", "/v1/uploads", req.dump(), w.t1.auth())->status == 201);
  }
  // Tablet 1 pulls everything it may see and keeps its cursor.
  auto feed = test::pull_all(c, w.t1, "", 2);
  w.t1_cursor = feed.cursor;
  w.epoch = srv.app().store->epoch();
}

// Everything the comparison reads, each answer as "status\nbody". Only reads that write nothing the
// next read shows (the audit log, which an export writes to, and device pull times are left out: the
// copy's digest covers them).
std::map<std::string, std::string> observe(test::TestServer& srv, const World& w) {
  std::map<std::string, std::string> out;
  auto c = srv.client();
  auto keep = [&](const std::string& name, const std::string& target,
                  const std::vector<std::pair<std::string, std::string>>& h) {
    auto r = c.request("GET", target, {}, h);
    REQUIRE(r.ok());
    out[name] = std::to_string(r->status) + "\n" + r->body;
    return r->body;
  };
  // The change feed, paged several ways, for a scoped tablet, the other tablet and an unscoped device.
  struct Variant {
    const test::Device* d;
    int limit;
    const char* name;
  };
  const Variant variants[] = {{&w.t1, 1, "t1/1"}, {&w.t1, 2, "t1/2"}, {&w.t2, 100, "t2/100"}, {&srv.a, 3, "a/3"},
                              {&srv.a, 1000, "a/1000"}};
  for (const Variant& v : variants) {
    std::string since;
    for (int page = 0; page < 50; ++page) {
      const std::string body = keep(std::string("changes ") + v.name + " #" + std::to_string(page),
                                    "/v1/changes?limit=" + std::to_string(v.limit) + (since.empty() ? "" : "&since=" + since),
                                    v.d->auth());
      const json j = json::parse(body, nullptr, false);
      if (!j.is_object() || !j.contains("next") || !j.contains("more")) break;  // not a page: compared as it is
      since = j["next"].get<std::string>();
      if (!j["more"].get<bool>()) break;
    }
  }
  for (const std::string& r : w.records) {
    keep("record " + r, "/v1/records/" + r, bearer(w.admin));
    keep("history " + r, "/v1/records/" + r + "/history", bearer(w.admin));
  }
  keep("push t1-first", "/v1/push/t1-first", w.t1.auth());
  keep("push t2-same", "/v1/push/t2-same", w.t2.auth());
  keep("conflicts all", "/v1/admin/conflicts?status=all", bearer(w.admin));
  keep("quarantine", "/v1/admin/quarantine", bearer(w.admin));
  keep("users", "/v1/admin/users", bearer(w.admin));
  keep("forms", "/v1/forms", w.t1.auth());
  keep("admin records", "/v1/admin/records", bearer(w.admin));
  keep("me t1", "/v1/me", w.t1.auth());
  keep("blob", "/v1/blobs/" + w.photo_digest, bearer(w.admin));
  keep("export csv", "/v1/exports/so2_business_followup?format=csv", bearer(w.mira));
  keep("export jsonl", "/v1/exports/so2_business_followup?format=jsonl", bearer(w.mira));
  keep("export photo", "/v1/exports/t_photo?format=jsonl", bearer(w.admin));
  return out;
}

}  // namespace

TEST_CASE("migrate-to-postgres: the server on PostgreSQL answers as the one on SQLite did and tablets go on syncing") {
#ifdef AKT_HAVE_POSTGRES
  test::PgCluster* cluster = nullptr;
  const std::string url = test::fresh_pg_database("akt_migrate", &cluster);
  if (url.empty()) return;
  test::TempDir dir;
  const std::string data = dir.path() + "/data";
  World w;
  std::map<std::string, std::string> before;
  {
    test::TestServer srv({}, data);
    scenario(srv, w);
    before = observe(srv, w);
  }
  // Stored push answers in both SQLite forms (schema/store/stored_answer.hpp): compressed, and t1-first's
  // as text, as a server before compression stored it. The copy writes both as text (observe's "push"
  // reads and the replay below compare them), and the digests compare the answers, not their forms.
  {
    auto db = store::Db::open(data + "/aktsync.db", store::DbOptions{});
    REQUIRE(db.ok());
    auto s = (*db)->stmt("UPDATE batches SET response = ?1 WHERE batch_id = 't1-first'");
    REQUIRE(s.ok());
    store::StmtGuard g(**s);
    const std::string& answer = before.at("push t1-first");
    g->bind(1, std::string_view(answer).substr(4));
    REQUIRE(g->run().ok());
    auto forms = (*db)->stmt("SELECT sum(typeof(response) = 'text'), sum(typeof(response) = 'blob') FROM batches");
    REQUIRE(forms.ok());
    store::StmtGuard f(**forms);
    REQUIRE(*f->step());
    CHECK(f->int64(0) >= 1);
    CHECK(f->int64(1) >= 1);
  }
  const Run run = aktsyncd("migrate-to-postgres --data-dir " + data + " --url '" + url + "'");
  REQUIRE_MESSAGE(run.code == 0, run.out);
  CHECK_MESSAGE(run.out.find("verified") != std::string::npos, run.out);
  CHECK_MESSAGE(run.out.find("epoch " + w.epoch) != std::string::npos, run.out);
  CHECK_MESSAGE(run.out.find("digest of all tables ") != std::string::npos, run.out);
  // The counts printed are those of the rows the scenario made (one line per table).
  auto line = [](const char* table, int rows) {
    char buf[80];
    std::snprintf(buf, sizeof buf, "\n%-14s %10d %10d  ", table, rows, rows);
    return std::string(buf);
  };
  CHECK_MESSAGE(run.out.find(line("quarantine", 1)) != std::string::npos, run.out);
  CHECK_MESSAGE(run.out.find(line("blob_holders", 1)) != std::string::npos, run.out);
  CHECK_MESSAGE(run.out.find(line("conflicts", 1)) != std::string::npos, run.out);
  CHECK_MESSAGE(run.out.find(line("users", 6)) != std::string::npos, run.out);
  MESSAGE(run.out);
  // The photo file moved into the database, its SHA-256 checked there: the server on PostgreSQL serves
  // it (observe's "blob") with the data folder's blobs/ set aside.
  CHECK_MESSAGE(run.out.find("attachment files 1 (150000 bytes, 1 copied") != std::string::npos, run.out);
  CHECK_MESSAGE(run.out.find("digest of their names " + store::sha256_hex_of(w.photo_digest + "\n")) != std::string::npos,
                run.out);
  {
    auto moved = store::PgBlobStore::open(url);
    REQUIRE(moved.ok());
    CHECK((*moved)->digests() == std::vector<std::string>{w.photo_digest});
    CHECK(*(*moved)->size_of(w.photo_digest) == 150000);
  }
  std::filesystem::rename(data + "/blobs", dir.path() + "/blobs-set-aside");
  // The creates' lists stored compact on SQLite (docs/STORE.md "versions.changed") are copied as stored,
  // and the comparisons below show they read back the same on both engines.
  std::vector<std::string> compact_sqlite, compact_pg;
  {
    auto db = store::Db::open(data + "/aktsync.db", store::DbOptions{});
    REQUIRE(db.ok());
    auto s = (*db)->stmt("SELECT lower(hex(actor)) || ':' || n FROM versions WHERE changed = '' ORDER BY id");
    REQUIRE(s.ok());
    store::StmtGuard g(**s);
    for (auto row = g->step(); row.ok() && *row; row = g->step()) compact_sqlite.emplace_back(g->text(0));
    auto pgc = store::pg::PgConn::connect(url);
    REQUIRE(pgc.ok());
    auto r = (*pgc)->exec("SELECT replace(actor::text, '-', '') || ':' || n FROM versions WHERE changed = '' ORDER BY id");
    REQUIRE(r.ok());
    for (int i = 0; i < r->rows(); ++i) compact_pg.push_back(r->str(i, 0));
  }
  CHECK(compact_sqlite.size() >= 3);  // at least the creates of r1, r2 and r3
  CHECK(compact_pg == compact_sqlite);
  CHECK_MESSAGE(before.at("history " + w.records[1]).find(R"("changed":["note","pct_complete"])") != std::string::npos,
                before.at("history " + w.records[1]));

  // What is compared is worth comparing: every read answered 200 on SQLite, pages of every variant.
  for (const auto& entry : before) CHECK_MESSAGE(entry.second.rfind("200\n", 0) == 0, entry.first << ": " << entry.second);
  CHECK(before.size() >= 30);
  CHECK(before.at("blob").size() > 150000);
  // The resolution's author is named through root's derived resolver actor (which PostgreSQL must store).
  CHECK_MESSAGE(before.at("history " + w.records[0]).find(R"("user":"root")") != std::string::npos,
                before.at("history " + w.records[0]));

  test::TestServer pg({}, data, false, false, url);
  REQUIRE(std::string(pg.app().store->engine()) == "postgres");
  CHECK(pg.app().store->epoch() == w.epoch);
  const auto after = observe(pg, w);
  CHECK(after.size() == before.size());
  for (const auto& entry : before) {
    auto it = after.find(entry.first);
    REQUIRE_MESSAGE(it != after.end(), entry.first);
    CHECK_MESSAGE(it->second == entry.second, entry.first << "\nSQLite:     " << entry.second.substr(0, 600)
                                                          << "\nPostgreSQL: " << it->second.substr(0, 600));
  }

  // Tablet 1 goes on from its cursor: nothing new, the same cursor (no epoch change, no full pull).
  auto c = pg.client();
  auto none = test::get(c, w.t1, "/v1/changes?since=" + w.t1_cursor);
  REQUIRE_MESSAGE(none.status == 200, none.body);
  CHECK(json::parse(none.body)["changes"].empty());
  CHECK(json::parse(none.body)["next"] == w.t1_cursor);
  // Both tablets edit r3 concurrently (the server merges: its actor's counter continues), tablet 1
  // creates a record; tablet 1's next pull from its old cursor brings exactly those.
  const std::string r3 = w.records[2], r6 = test::uuid7(1700000000000, 6);
  auto r3_state = json::parse(test::get(c, w.t1, "/v1/records/" + r3).body);
  const sync::VectorClock ctx = *sync::decode_clock(r3_state["live"][0]["clock"].dump());
  push_ok(c, w.t1, "t1-after", {edit(r6, w.t1, 6, {}, R"({"note":"new","pct_complete":5})", {"note", "pct_complete"}),
                                edit(r3, w.t1, 7, ctx, R"({"note":"c1","pct_complete":30})", {"note"})});
  const json m = push_ok(c, w.t2, "t2-after", {edit(r3, w.t2, 5, ctx, R"({"note":"c","pct_complete":31})",
                                                    {"pct_complete"})});
  CHECK(m["results"][0]["outcome"] == "merged");
  auto next = test::pull_all(c, w.t1, w.t1_cursor, 100);
  CHECK(next.records.size() == 2);
  CHECK(next.records.count(r3) == 1);
  CHECK(next.records.count(r6) == 1);
  CHECK(json::parse(next.records.at(r3).live[0].body) == json{{"note", "c1"}, {"pct_complete", 31}});
  // A replayed batch of before the move is answered from the stored answer, not applied again.
  auto replay = test::push(c, w.t1, {"t1-first", {edit(w.records[0], w.t1, 1, {}, R"({"note":"a","pct_complete":60})",
                                                       {"note", "pct_complete"}),
                                                  edit(w.records[1], w.t1, 2, {}, R"({"note":"b","pct_complete":10})",
                                                       {"note", "pct_complete"})}});
  CHECK(replay.status == 200);
  CHECK(replay.body == before.at("push t1-first").substr(4));
#else
  test::skip_without_engine();
#endif
}

TEST_CASE("migrate-to-postgres: refusals (running server, non-empty target, bad url) write nothing") {
#ifdef AKT_HAVE_POSTGRES
  test::PgCluster* cluster = nullptr;
  const std::string url = test::fresh_pg_database("akt_migrate", &cluster);
  if (url.empty()) return;
  test::TempDir dir;
  const std::string data = dir.path() + "/data";
  {
    test::TestServer srv({}, data);
    srv.create_user("root", "admin", kPw);
    push_ok(*std::make_unique<client::HttpClient>(srv.client()), srv.a, "one",
            {edit(test::uuid7(1700000000000, 1), srv.a, 1, {}, R"({"note":"a"})", {"note"})});
  }
  const std::string cmd = "migrate-to-postgres --data-dir " + data + " --url '" + url + "'";
  SUBCASE("a server running on the data folder (it holds the folder's lock)") {
    // The real aktsyncd on the folder, up once its port file is written.
    const std::string port_file = dir.file("port");
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::execl(AKTSYNCD_PATH, AKTSYNCD_PATH, "--data-dir", data.c_str(), "--listen", "127.0.0.1:0", "--port-file",
              port_file.c_str(), "--log-level", "error", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 600 && !std::ifstream(port_file).good(); ++i) ::usleep(50000);
    REQUIRE(std::ifstream(port_file).good());
    const Run r = aktsyncd(cmd);
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK_MESSAGE(r.code == 3, r.out);
    CHECK_MESSAGE(r.out.find("aktsyncd is running on " + data) != std::string::npos, r.out);
    // Nothing was written: the database takes the copy once the server is gone.
    const Run again = aktsyncd(cmd);
    CHECK_MESSAGE(again.code == 0, again.out);
  }
  SUBCASE("a target that holds data") {
    REQUIRE(aktsyncd(cmd).code == 0);
    const Run r = aktsyncd(cmd);
    CHECK_MESSAGE(r.code == 4, r.out);
    CHECK_MESSAGE(r.out.find("the target database is not empty (table") != std::string::npos, r.out);
    // A server that started on the target once (its schema, epoch and server actor only) is not data.
    const std::string fresh = test::fresh_pg_database("akt_migrate");
    { test::TestServer first({}, dir.path() + "/other", false, false, fresh); }
    const Run ok = aktsyncd("migrate-to-postgres --data-dir " + data + " --url '" + fresh + "'");
    CHECK_MESSAGE(ok.code == 0, ok.out);
  }
  SUBCASE("a malformed url: refused, never echoed") {
    const Run r = aktsyncd("migrate-to-postgres --data-dir " + data + " --url 'postgresql://akt:s3cret-Pw0rd@[::1/x'");
    CHECK_MESSAGE(r.code == 2, r.out);
    CHECK_MESSAGE(r.out.find("neither a postgresql:// URL") != std::string::npos, r.out);
    CHECK_MESSAGE(r.out.find("s3cret-Pw0rd") == std::string::npos, r.out);
  }
  SUBCASE("an unreachable database: refused, the password never printed") {
    const Run r = aktsyncd("migrate-to-postgres --data-dir " + data + " --url 'host=" + dir.path() +
                           " port=1 dbname=x user=akt password=s3cret-Pw0rd'");
    CHECK_MESSAGE(r.code == 1, r.out);
    CHECK_MESSAGE(r.out.find("cannot connect") != std::string::npos, r.out);
    CHECK_MESSAGE(r.out.find("s3cret-Pw0rd") == std::string::npos, r.out);
  }
  SUBCASE("a SQLite database of another schema version") {
    {
      auto db = store::Db::open(data + "/aktsync.db", store::DbOptions{});
      REQUIRE(db.ok());
      REQUIRE((*db)->exec("PRAGMA user_version=15").ok());
    }
    const Run r = aktsyncd(cmd);
    CHECK_MESSAGE(r.code == 2, r.out);
    CHECK_MESSAGE(r.out.find("has schema version 15, this aktsyncd's is ") != std::string::npos, r.out);
    CHECK_MESSAGE(r.out.find("start this aktsyncd on it once") != std::string::npos, r.out);
  }
  SUBCASE("an attachment file whose bytes are not its name's: refused, nothing written") {
    const std::string photo = test::bytes_of(300000, 41);
    std::string digest;
    {
      auto files = store::FileBlobStore::open(data);
      REQUIRE(files.ok());
      REQUIRE((*files)->put(photo, &digest).ok());
      std::ofstream((*files)->path_of(digest), std::ios::binary | std::ios::trunc) << test::bytes_of(300000, 42);
    }
    const Run r = aktsyncd(cmd);
    CHECK_MESSAGE(r.code == 1, r.out);
    CHECK_MESSAGE(r.out.find("the blob copy does not verify") != std::string::npos, r.out);
    {
      auto db_blobs = store::PgBlobStore::open(url);
      REQUIRE(db_blobs.ok());
      CHECK((*db_blobs)->digests().empty());
      CHECK((*db_blobs)->part_ids().empty());
    }
    // Repaired, the same target takes the copy.
    {
      auto files = store::FileBlobStore::open(data);
      std::ofstream((*files)->path_of(digest), std::ios::binary | std::ios::trunc) << photo;
    }
    const Run again = aktsyncd(cmd);
    CHECK_MESSAGE(again.code == 0, again.out);
    CHECK_MESSAGE(again.out.find("attachment files 1 (300000 bytes, 1 copied") != std::string::npos, again.out);
  }
  SUBCASE("no url") {
    const Run r = aktsyncd("migrate-to-postgres --data-dir " + data);
    CHECK_MESSAGE(r.code == 2, r.out);
    CHECK_MESSAGE(r.out.find("--url URL") != std::string::npos, r.out);
  }
#else
  test::skip_without_engine();
#endif
}

TEST_CASE("migrate-to-postgres: every table of the schema is copied") {
#ifdef AKT_HAVE_POSTGRES
  test::PgCluster* cluster = nullptr;
  const std::string url = test::fresh_pg_database("akt_migrate", &cluster);
  if (url.empty()) return;
  test::TempDir dir;
  const std::string data = dir.path() + "/data";
  {
    // More rows than one read-back page (1,000) in records, versions and record_scopes (keys: a uuid, an
    // integer, a uuid and three texts), in two scopes.
    test::TestServer srv({}, data);
    auto c = srv.client();
    for (int b = 0; b < 3; ++b) {
      std::vector<sync::Edit> edits;
      for (int i = 0; i < 400; ++i) {
        const int n = b * 400 + i + 1;
        edits.push_back(edit(test::uuid7(1700000000000 + static_cast<std::uint64_t>(n), static_cast<std::uint64_t>(n)),
                             srv.a, n, {}, json{{"note", std::to_string(n)}}.dump(), {"note"},
                             n % 2 ? "gracanice" : "pristina"));
      }
      push_ok(c, srv.a, "bulk-" + std::to_string(b), edits);
    }
  }
  const Run r = aktsyncd("migrate-to-postgres --data-dir " + data + " --url '" + url + "'");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  char records_line[80];
  std::snprintf(records_line, sizeof records_line, "\n%-14s %10d %10d  ", "records", 1200, 1200);
  CHECK_MESSAGE(r.out.find(records_line) != std::string::npos, r.out);
  // Every SQLite table (migrations.cpp) has its line: a table added to the schema and not to the copy
  // (pg_import.cpp note 1) fails here.
  auto db = store::Db::open(data + "/aktsync.db", store::DbOptions{});
  REQUIRE(db.ok());
  auto s = (*db)->stmt("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
  REQUIRE(s.ok());
  store::StmtGuard g(**s);
  int tables = 0;
  for (;;) {
    auto row = g->step();
    REQUIRE(row.ok());
    if (!*row) break;
    const std::string name(g->text(0));
    ++tables;
    CHECK_MESSAGE(r.out.find("\n" + name + " ") != std::string::npos, name << " is not copied:\n" << r.out);
  }
  CHECK(tables >= 19);
#else
  test::skip_without_engine();
#endif
}

TEST_CASE("check-config on PostgreSQL: connects, reads the schema version, never prints the password") {
#ifdef AKT_HAVE_POSTGRES
  test::PgCluster* cluster = nullptr;
  const std::string url = test::fresh_pg_database("akt_migrate", &cluster);
  if (url.empty()) return;
  test::TempDir dir;
  auto check = [&](const std::string& store_url) {
    const json config{{"listen", "127.0.0.1:0"},
                      {"data_dir", dir.path() + "/data"},
                      {"store", {{"engine", "postgres"}, {"url", store_url}}}};
    std::ofstream(dir.file("c.json")) << config.dump();
    return aktsyncd("--check-config " + dir.file("c.json"));
  };
  const std::string dbname = url.substr(url.find("dbname=") + 7, url.find(' ', url.find("dbname=")) - url.find("dbname=") - 7);
  const Run empty = check(url);
  CHECK_MESSAGE(empty.code == 0, empty.out);
  CHECK_MESSAGE(empty.out.find("store postgres database " + dbname) != std::string::npos, empty.out);
  CHECK_MESSAGE(empty.out.find("no aktsync schema yet (made at start)") != std::string::npos, empty.out);
  // It only read: still no schema.
  CHECK(check(url).out.find("no aktsync schema yet") != std::string::npos);
  { test::TestServer first({}, dir.path() + "/data", false, false, url); }
  const Run current = check(url);
  CHECK_MESSAGE(current.code == 0, current.out);
  CHECK_MESSAGE(current.out.find(", schema ") != std::string::npos, current.out);
  CHECK_MESSAGE(current.out.find("upgraded") == std::string::npos, current.out);
  // A schema from a later release.
  {
    auto c = store::pg::PgConn::connect(url);
    REQUIRE(c.ok());
    REQUIRE((*c)->exec_script("INSERT INTO schema_migrations(version) VALUES(999)").ok());
  }
  const Run newer = check(url);
  CHECK_MESSAGE(newer.code == 2, newer.out);
  CHECK_MESSAGE(newer.out.find("config invalid: store.url: ") != std::string::npos, newer.out);
  CHECK_MESSAGE(newer.out.find("schema version 999, newer than this aktsyncd knows") != std::string::npos, newer.out);
  // Unreachable, with a password in the url: the cause, never the password.
  const Run down = check("host=" + dir.path() + " port=1 dbname=x user=akt password=s3cret-Pw0rd");
  CHECK_MESSAGE(down.code == 2, down.out);
  CHECK_MESSAGE(down.out.find("config invalid: store.url: postgres: cannot connect") != std::string::npos, down.out);
  CHECK_MESSAGE(down.out.find("s3cret-Pw0rd") == std::string::npos, down.out);
  const Run bad = check("postgresql://akt:s3cret-Pw0rd@[::1/x");
  CHECK_MESSAGE(bad.code == 2, bad.out);
  CHECK_MESSAGE(bad.out.find("s3cret-Pw0rd") == std::string::npos, bad.out);
#else
  test::skip_without_engine();
#endif
}

// Backup and restore that tablets survive (DESIGN §5, README "Operating aktsync"): aktsyncd backup runs
// while the server serves, tablets sync more edits, the server is restored from the backup under a new
// epoch, and the tablets' next syncs give it back every edit they made since, with no duplicate and no
// tablet stuck. The real aktsyncd binary does the backup and the restore; the tablets are the client library.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "clients/sync_client.hpp"
#include "tests/clients/client_support.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;
using nlohmann::json;

namespace {

// The bodies of every record's live versions, and whether any record is flagged.
std::map<std::string, std::vector<std::string>> bodies_of(const test::Feed& f) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [id, st] : f.records)
    for (const sync::Version& v : st.live) out[id].push_back(v.body);
  return out;
}

// Syncs both tablets in turn until a whole round moves nothing (at most `rounds` rounds).
void sync_until_quiet(test::Tablet& a, test::Tablet& b, int rounds = 6) {
  for (int i = 0; i < rounds; ++i) {
    auto sa = a.sync();
    REQUIRE_MESSAGE(sa.ok(), sa.status().message());
    auto sb = b.sync();
    REQUIRE_MESSAGE(sb.ok(), sb.status().message());
    if (sa->pushed + sa->pulled + sb->pushed + sb->pulled == 0) return;
  }
  FAIL("the tablets kept moving data after " << rounds << " rounds");
}

}  // namespace

TEST_CASE("restore: tablets that synced after the backup give the restored server every edit back") {
  test::TempDir dir;
  const std::string data = dir.file("data"), config = dir.file("aktsyncd.json"), archive = dir.file("daily.tar.gz");
  std::ofstream(config) << json{{"data_dir", data}}.dump();
  std::string r1, r2, r3, r4, old_epoch;
  test::Feed before;
  {
    test::TestServer srv({}, data);
    old_epoch = srv.app().store->epoch();
    test::Tablet ta(dir.file("a.db"), srv.a, srv.port(), 1), tb(dir.file("b.db"), srv.b, srv.port(), 2);
    r1 = ta.create(R"({"pct_complete":10,"notes":"start"})", {"pct_complete", "notes"});
    r2 = tb.create(R"({"pct_complete":5})", {"pct_complete"});
    sync_until_quiet(ta, tb);

    // The backup is taken while the server runs.
    auto run = test::run_program(AKTSYNCD_PATH, {"backup", "--config", config, "--to", archive}, dir);
    REQUIRE_MESSAGE(run.code == 0, run.err);
    CHECK(run.out.find("records 2") != std::string::npos);

    // After it: concurrent edits of r1 on both tablets (the server merges them with a version of its
    // own), an edit of r2, and two new records. Every one is acknowledged and pulled back, so the
    // tablets' outboxes are empty before the restore.
    ta.edit(r1, R"({"pct_complete":40,"notes":"start"})", {"pct_complete"});
    tb.edit(r1, R"({"pct_complete":10,"notes":"walls up"})", {"notes"});
    tb.edit(r2, R"({"pct_complete":60})", {"pct_complete"});
    r3 = ta.create(R"({"pct_complete":1})", {"pct_complete"});
    r4 = tb.create(R"({"pct_complete":2})", {"pct_complete"});
    sync_until_quiet(ta, tb);
    auto c = srv.client();
    before = test::pull_all(c, srv.a, "", 100);
    REQUIRE(before.records.size() == 4);
    REQUIRE(json::parse(before.records.at(r1).live.at(0).body) == json{{"pct_complete", 40}, {"notes", "walls up"}});
    test::check_converged(ta, before);
    test::check_converged(tb, before);
  }

  // The server stopped, the data folder is restored from the backup.
  auto run = test::run_program(AKTSYNCD_PATH, {"restore", "--config", config, "--from", archive}, dir);
  REQUIRE_MESSAGE(run.code == 0, run.err);
  CHECK(run.out.find("new epoch") != std::string::npos);

  test::TestServer srv({}, data);
  CHECK(srv.app().store->epoch() != old_epoch);
  {
    // Before the tablets come back, the server holds the state of the backup only.
    auto c = srv.client();
    test::Feed restored = test::pull_all(c, srv.a, "", 100);
    CHECK(restored.records.size() == 2);
  }
  test::Tablet ta(dir.file("a.db"), srv.a, srv.port(), 3), tb(dir.file("b.db"), srv.b, srv.port(), 4);
  auto first = ta.sync();
  REQUIRE_MESSAGE(first.ok(), first.status().message());
  CHECK(first->epoch_reset);
  sync_until_quiet(ta, tb);

  auto c = srv.client();
  test::Feed after = test::pull_all(c, srv.a, "", 100);
  // Every edit is back: the same records with the same bodies, one live version each, nothing flagged.
  CHECK(bodies_of(after) == bodies_of(before));
  for (const auto& id_st : after.records) {
    const auto& id = id_st.first;  // named, not bound: clang 14 cannot capture a binding in a message
    const auto& st = id_st.second;
    CHECK_MESSAGE(st.live.size() == 1, id);
    CHECK_FALSE(st.conflict);
  }
  // No duplicates: each of the tablets' dots is in the server's history once (versions are unique by dot),
  // and the tablets hold what the server holds, with nothing left to push.
  test::check_converged(ta, after);
  test::check_converged(tb, after);
  auto again = ta.sync();
  REQUIRE(again.ok());
  CHECK(again->pushed == 0);
  CHECK(again->pulled == 0);
}

TEST_CASE("restore: refused while the server runs, and a damaged or foreign archive changes nothing") {
  test::TempDir dir;
  const std::string data = dir.file("data"), config = dir.file("aktsyncd.json"), archive = dir.file("b.tar.gz");
  std::ofstream(config) << json{{"data_dir", data}, {"listen", "127.0.0.1:0"}, {"log_level", "warn"}}.dump();
  std::string epoch;
  {
    test::TestServer srv({}, data);
    epoch = srv.app().store->epoch();
  }
  auto run = test::run_program(AKTSYNCD_PATH, {"backup", "--config", config, "--to", archive}, dir);
  REQUIRE_MESSAGE(run.code == 0, run.err);

  SUBCASE("a running aktsyncd holds the data folder") {
    const std::string port_file = dir.file("port");
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      execl(AKTSYNCD_PATH, "aktsyncd", "--config", config.c_str(), "--port-file", port_file.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 3000 && !std::ifstream(port_file).good(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    auto refused = test::run_program(AKTSYNCD_PATH, {"restore", "--config", config, "--from", archive}, dir);
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(refused.code == 3);
    CHECK(refused.err.find("aktsyncd is running") != std::string::npos);
  }
  SUBCASE("a truncated archive") {
    std::ifstream in(archive, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(dir.file("cut.tar.gz"), std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    auto bad = test::run_program(AKTSYNCD_PATH, {"restore", "--config", config, "--from", dir.file("cut.tar.gz")}, dir);
    CHECK(bad.code == 2);
    CHECK(bad.err.find("nothing was changed") != std::string::npos);
  }
  SUBCASE("a file that is no backup") {
    std::ofstream(dir.file("notes.txt")) << "not a backup";
    auto bad = test::run_program(AKTSYNCD_PATH, {"restore", "--config", config, "--from", dir.file("notes.txt")}, dir);
    CHECK(bad.code == 2);
  }
  // Whatever was refused, the server's database is the one it had, with its epoch.
  test::TestServer srv({}, data);
  CHECK(srv.app().store->epoch() == epoch);
}

// Failover to a hot standby (deploy/postgres/README.md, "A hot standby"): a primary and a standby made
// with pg_basebackup -R, streaming, synchronous (synchronous_standby_names names the standby,
// synchronous_commit = remote_apply; tests/support/pg_standby.hpp). The real server pushes batches on
// the primary; a push is not acknowledged while the standby cannot apply it; the primary is killed
// (pg_ctl stop -m immediate), the standby promoted, and a server on it has every acknowledged batch:
// its stored answer (GET /v1/push/{batch_id}) byte for byte, its edits in the feed, and a photo uploaded
// before the failover (the attachment files are rows of the database: pg_blobs.hpp).
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <vector>
#include <thread>

#include <nlohmann/json.hpp>

#include "sync/wire_json.hpp"
#include "tests/support/feed.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"
#include "tests/support/pg_database.hpp"
#include "tests/support/pg_standby.hpp"
#include "tests/support/photo_bytes.hpp"
#include "tests/support/shell.hpp"
#include "tests/support/temp_dir.hpp"
#ifdef AKT_HAVE_POSTGRES
#include "schema/store/postgres/pg_conn.hpp"
#include "schema/store/postgres/pg_store.hpp"
#endif

using namespace akt;
using nlohmann::json;

#ifdef AKT_HAVE_POSTGRES
namespace {

// Runs `sql` on `url` (one statement, no result wanted); REQUIREs success.
void run_sql(const std::string& url, const std::string& sql) {
  auto c = store::pg::PgConn::connect(url);
  REQUIRE_MESSAGE(c.ok(), c.status().message());
  Status st = (*c)->exec_script(sql);
  REQUIRE_MESSAGE(st.ok(), st.message());
}

// `aktsyncd --check-config` on a config whose store is `url`: exit code and output.
std::pair<int, std::string> check_config(const test::TempDir& dir, const std::string& url) {
  const json config{{"listen", "127.0.0.1:0"}, {"data_dir", dir.path() + "/data"},
                    {"store", {{"engine", "postgres"}, {"url", url}}}};
  std::ofstream(dir.file("check.json")) << config.dump();
  const test::ShellRun r = test::run_shell(std::string(AKTSYNCD_PATH) + " --check-config " + dir.file("check.json"));
  return {r.code, r.out};
}

bool in_recovery(const std::string& url) {
  auto c = store::pg::PgConn::connect(url);
  REQUIRE_MESSAGE(c.ok(), c.status().message());
  auto r = (*c)->exec("SELECT pg_is_in_recovery()");
  REQUIRE(r.ok());
  return r->boolean(0, 0);
}

}  // namespace
#endif

TEST_CASE("standby: after the primary is killed and the standby promoted, every acknowledged push is there") {
#ifdef AKT_HAVE_POSTGRES
  std::string why;
  auto pair = test::PgStandbyPair::start(true, &why);
  if (!pair) {
    test::skip_postgres("the standby pair cannot run: " + why);
    return;
  }
  // The database is made on the primary; the standby has it once it applied the commit (remote_apply).
  REQUIRE(store::pg_create_database(pair->primary_url("postgres"), "aktsync", "").ok());
  test::TempDir dir;
  const std::string data = dir.path() + "/data";
  std::map<std::string, std::pair<bool, std::string>> acked;  // batch id -> (device b?, answer)
  std::map<std::string, std::string> bodies;                                 // record -> body pushed
  std::string unacked_batch;
  const std::string photo = test::bytes_of(400000, 51);
  std::string photo_record;
  {
    test::TestServer srv({}, data, false, false, pair->primary_url("aktsync"));
    // Two devices push batches from two threads at once: 40 batches of 3 new records each.
    std::mutex mu;
    std::vector<std::string> failures;  // checked on the test's thread (a REQUIRE cannot throw in a thread)
    auto pusher = [&](const test::Device* d, bool is_b, int base) {
      auto c = srv.client();
      for (int b = 0; b < 20; ++b) {
        std::vector<sync::Edit> edits;
        for (int i = 0; i < 3; ++i) {
          const int n = b * 3 + i + 1;
          const std::string rec = test::uuid7(1700000000000 + static_cast<std::uint64_t>(base + n),
                                              static_cast<std::uint64_t>(base + n));
          const std::string body = json{{"x", base + n}}.dump();
          edits.push_back(test::make_edit(rec, d->actor, n, {}, body, {"x"}));
          std::lock_guard<std::mutex> lock(mu);
          bodies[rec] = body;
        }
        const std::string batch = "b-" + std::to_string(base) + "-" + std::to_string(b);
        auto r = test::push(c, *d, {batch, edits});
        std::lock_guard<std::mutex> lock(mu);
        if (r.status != 200) {
          failures.push_back(batch + ": " + std::to_string(r.status) + " " + r.body);
          return;
        }
        acked[batch] = {is_b, r.body};
      }
    };
    std::thread one(pusher, &srv.a, false, 0), two(pusher, &srv.b, true, 1000);
    one.join();
    two.join();
    for (const std::string& f : failures) FAIL(f);
    REQUIRE(acked.size() == 40);

    // A photo: its record pushed, its bytes uploaded (the database's blob rows, replicated like the rest).
    {
      auto c = srv.client();
      photo_record = test::uuid7(1700000008888, 8888);
      auto r = test::push(c, srv.b, {"b-photo", {test::make_edit(photo_record, srv.b.actor, 61, {},
                                                                 json{{"p", test::ref_of(photo)}}.dump(), {"p"})}});
      REQUIRE_MESSAGE(r.status == 200, r.body);
      const json req{{"v", 1}, {"digest", store::sha256_hex_of(photo)}, {"size", photo.size()}, {"type", "image/jpeg"}};
      auto made = c.request("POST", "/v1/uploads", req.dump(), srv.b.auth());
      REQUIRE_MESSAGE(made->status == 201, made->body);
      auto sent = c.request("PATCH", "/v1/uploads/" + json::parse(made->body)["upload"].get<std::string>(), photo,
                            {{"Authorization", "Bearer " + srv.b.token},
                             {"Content-Type", "application/offset+octet-stream"},
                             {"Upload-Offset", "0"}});
      REQUIRE_MESSAGE(sent->status == 200, sent->body);
      CHECK(json::parse(sent->body)["complete"] == true);
    }

    // The standby stops applying: a push now waits for it and is not acknowledged (synchronous).
    run_sql(pair->standby_url("aktsync"), "SELECT pg_wal_replay_pause()");
    std::atomic<int> status{0};
    unacked_batch = "b-late";
    std::thread late([&] {
      client::HttpOptions o;
      o.timeout = std::chrono::seconds(60);
      auto c = srv.client(o);
      const sync::PushRequest req{unacked_batch, {test::make_edit(test::uuid7(1700000009999, 9999), srv.a.actor, 61,
                                                                  {}, R"({"x":-1})", {"x"})}};
      auto r = c.request("POST", "/v1/push", sync::encode_push_request(req), srv.a.auth());
      status = r.ok() ? r->status : -1;  // -1: no answer at all (never an acknowledgement)
    });
    std::this_thread::sleep_for(std::chrono::seconds(2));
    CHECK_MESSAGE(status.load() == 0, "a push was acknowledged while the standby could not apply it");
    // The primary dies with that push in flight.
    Status killed = pair->kill_primary();
    REQUIRE_MESSAGE(killed.ok(), killed.message());
    late.join();
    CHECK(status.load() != 200);
  }
  // Before promotion the standby is refused by --check-config: read-only, no server can run on it.
  const auto standby_check = check_config(dir, pair->standby_url("aktsync"));
  CHECK_MESSAGE(standby_check.first == 2, standby_check.second);
  CHECK_MESSAGE(standby_check.second.find("is a standby in recovery") != std::string::npos, standby_check.second);
  Status promoted = pair->promote_standby();
  REQUIRE_MESSAGE(promoted.ok(), promoted.message());
  CHECK_FALSE(in_recovery(pair->standby_url("aktsync")));

  // The server after the failover runs on another host: a data folder of its own (the photo must come
  // from the database), with the pseudonym key copied from the first server's, as deploy/postgres/README.md
  // says (a server with another key is refused: STORE.md §12).
  const std::string after_dir = dir.path() + "/data-after";
  std::filesystem::create_directories(after_dir);
  std::filesystem::copy_file(data + "/pseudonym.key", after_dir + "/pseudonym.key");
  test::TestServer after({}, after_dir, false, false, pair->standby_url("aktsync"));
  auto c = after.client();
  for (const auto& entry : acked) {
    auto r = test::get(c, entry.second.first ? after.b : after.a, "/v1/push/" + entry.first);
    CHECK_MESSAGE(r.status == 200, entry.first << ": " << r.body);
    CHECK_MESSAGE(r.body == entry.second.second, entry.first);
  }
  // Every acknowledged edit is in the feed, with the body pushed.
  auto feed = test::pull_all(c, after.a, "", 1000);
  for (const auto& entry : bodies) {
    auto it = feed.records.find(entry.first);
    REQUIRE_MESSAGE(it != feed.records.end(), entry.first);
    CHECK(it->second.live[0].body == entry.second);
  }
  // The photo acknowledged on the primary is served by the server on the promoted standby.
  auto blob = c.request("GET", "/v1/blobs/" + store::sha256_hex_of(photo), "", after.b.auth());
  REQUIRE(blob.ok());
  CHECK_MESSAGE(blob->status == 200, blob->body);
  CHECK(blob->body == photo);
  // The promoted database takes writes: the device retries its unacknowledged batch (idempotent).
  auto retry = test::push(c, after.a, {unacked_batch, {test::make_edit(test::uuid7(1700000009999, 9999), after.a.actor,
                                                                        61, {}, R"({"x":-1})", {"x"})}});
  CHECK_MESSAGE(retry.status == 200, retry.body);
#else
  test::skip_without_engine();
#endif
}

// The push engine on PostgreSQL under concurrent writers (docs/STORE.md §7, §8): two transactions on two
// connections, one held open before COMMIT while the other runs on a thread. The feed never lets a reader
// pass a number that commits later, and two merges at once take distinct server counters.
#include <chrono>
#include <future>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "schema/store/form_rules.hpp"
#include "schema/store/postgres/pg_conn.hpp"
#include "schema/store/postgres/pg_push.hpp"
#include "schema/store/postgres/pg_store.hpp"
#include "tests/store/contract/engines.hpp"
#include "tests/support/edits.hpp"

using namespace akt;
using akt::test::make_edit;
using akt::test::uuid7;
using akt::test::uuid_n;

namespace {

const std::string kServer = uuid_n(0x5E);
const std::string kEpoch = "race";

std::unique_ptr<store::pg::PgConn> connect(const std::string& url) {
  auto c = store::pg::PgConn::connect(url);
  REQUIRE_MESSAGE(c.ok(), c.status().message());
  return std::move(*c);
}

// One writer: a connection and the batch it pushes inside a transaction the test ends.
struct Writer {
  std::unique_ptr<store::pg::PgConn> conn;
  Status begin() { return conn->exec_script("BEGIN ISOLATION LEVEL READ COMMITTED"); }
  Result<std::string> push(const std::string& device, const std::string& batch_id, std::vector<sync::Edit> edits) {
    static const store::NoFormRules rules;
    sync::PushRequest req{batch_id, std::move(edits)};
    store::PushInput in{device, &req, 1700000000000};
    auto out = store::pg::push_batch(*conn, in, store::prepare_batch(in, rules),
                                     store::PushContext{kEpoch, kServer, rules});
    if (!out.ok()) return out.status();
    return out->response;
  }
  // A push in a transaction of its own, committed when it succeeded.
  Result<std::string> push_committed(const std::string& device, const std::string& batch_id,
                                     std::vector<sync::Edit> edits) {
    AKT_TRY(begin());
    auto out = push(device, batch_id, std::move(edits));
    AKT_TRY(conn->exec_script(out.ok() ? "COMMIT" : "ROLLBACK"));
    return out;
  }
};

// Waits until backend `pid` waits for a lock, or `done` is ready; false at the deadline.
bool wait_blocked(store::pg::PgConn& watcher, int pid, std::future<Result<std::string>>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready) return true;
    auto r = watcher.exec("SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int AND wait_event_type = 'Lock'",
                          {store::pg::int64(pid)});
    REQUIRE(r.ok());
    if (r->int64(0, 0) > 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// The feed numbers a new snapshot sees, ascending.
std::vector<std::int64_t> visible_seqs(store::pg::PgConn& reader) {
  auto r = reader.exec("SELECT seq FROM records ORDER BY seq");
  REQUIRE(r.ok());
  std::vector<std::int64_t> out;
  for (int i = 0; i < r->rows(); ++i) out.push_back(r->int64(i, 0));
  return out;
}

}  // namespace

TEST_CASE("postgres: a reader never passes a feed number that a running push commits later") {
  auto db = test::make_engine(test::EngineKind::kPostgres);
  if (!db) return;
  Writer a{connect(db->url)}, b{connect(db->url)};
  auto reader = connect(db->url);
  const std::string dev_a = uuid_n(0xA), dev_b = uuid_n(0xB);
  const std::string first = uuid7(1700000000000, 1), second = uuid7(1700000000000, 2);

  // A pushes and stops just before COMMIT: its feed number is taken.
  REQUIRE(a.begin().ok());
  auto pushed_a = a.push(dev_a, "a1", {make_edit(first, dev_a, 1, {}, R"({"pct":1})", {"pct"})});
  REQUIRE_MESSAGE(pushed_a.ok(), pushed_a.status().message());
  // B pushes another record from another device and commits, on a thread: it must wait for A.
  const int b_pid = b.conn->backend_pid();
  auto done_b = std::async(std::launch::async, [&b, &dev_b, &second] {
    return b.push_committed(dev_b, "b1", {make_edit(second, dev_b, 1, {}, R"({"pct":2})", {"pct"})});
  });
  REQUIRE(wait_blocked(*reader, b_pid, done_b));
  // What a reader sees now is a prefix of the feed as it will be: never B's number without A's.
  const std::vector<std::int64_t> before = visible_seqs(*reader);
  // The server's feed page too (SyncStore::feed_page, one snapshot): nothing yet, and its cursor stays 0.
  std::string page_before;
  auto feed_before = db->store->feed_page(store::FeedQuery{}, page_before);
  REQUIRE(feed_before.ok());
  CHECK(page_before.empty());
  CHECK(feed_before->next == 0);
  REQUIRE(a.conn->exec_script("COMMIT").ok());
  auto pushed_b = done_b.get();
  REQUIRE_MESSAGE(pushed_b.ok(), pushed_b.status().message());
  const std::vector<std::int64_t> after = visible_seqs(*reader);
  CHECK(after == std::vector<std::int64_t>{1, 2});
  // Commits of other connections (another server) reach this store's last_seq through a page that read
  // them, so the cursor it hands out is never ahead of last_seq.
  CHECK(db->store->last_seq() == 0);
  std::string page_after;
  auto feed_after = db->store->feed_page(store::FeedQuery{}, page_after);
  REQUIRE(feed_after.ok());
  CHECK(feed_after->next == 2);
  CHECK(page_after.find(first) < page_after.find(second));
  CHECK(db->store->last_seq() == 2);
  REQUIRE(before.size() <= after.size());
  CHECK(before == std::vector<std::int64_t>(after.begin(), after.begin() + static_cast<long>(before.size())));
  // The answers carry the final numbers, in commit order.
  CHECK(nlohmann::json::parse(*pushed_a)["results"][0]["seq"] == 1);
  CHECK(nlohmann::json::parse(*pushed_b)["results"][0]["seq"] == 2);
}

TEST_CASE("postgres: a rolled-back push leaves no hole in the feed") {
  auto db = test::make_engine(test::EngineKind::kPostgres);
  if (!db) return;
  Writer a{connect(db->url)};
  const std::string dev = uuid_n(0xA);
  REQUIRE(a.begin().ok());
  REQUIRE(a.push(dev, "gone", {make_edit(uuid7(1700000000000, 9), dev, 1, {}, R"({"pct":1})", {"pct"})}).ok());
  REQUIRE(a.conn->exec_script("ROLLBACK").ok());
  auto kept = a.push_committed(dev, "kept", {make_edit(uuid7(1700000000000, 10), dev, 2, {}, R"({"pct":2})", {"pct"})});
  REQUIRE_MESSAGE(kept.ok(), kept.status().message());
  CHECK(nlohmann::json::parse(*kept)["results"][0]["seq"] == 1);
}

TEST_CASE("postgres: two merges at once take distinct server counters") {
  auto db = test::make_engine(test::EngineKind::kPostgres);
  if (!db) return;
  Writer a{connect(db->url)}, b{connect(db->url)};
  auto watcher = connect(db->url);
  const std::string dev_a = uuid_n(0xA), dev_b = uuid_n(0xB), dev_c = uuid_n(0xC), dev_d = uuid_n(0xD);
  const std::string one = uuid7(1700000000000, 3), two = uuid7(1700000000000, 4);
  // Two records, each with an edit the next one is concurrent with.
  const sync::Edit create_one = make_edit(one, dev_a, 1, {}, R"({"note":"a","pct":1})", {"note", "pct"});
  const sync::Edit create_two = make_edit(two, dev_c, 1, {}, R"({"note":"c","pct":1})", {"note", "pct"});
  REQUIRE(a.push_committed(dev_a, "c1", {create_one}).ok());
  REQUIRE(a.push_committed(dev_b, "e1", {make_edit(one, dev_b, 1, create_one.clock(), R"({"note":"b","pct":1})",
                                                   {"note"})})
              .ok());
  REQUIRE(a.push_committed(dev_c, "c2", {create_two}).ok());
  REQUIRE(a.push_committed(dev_d, "e2", {make_edit(two, dev_d, 1, create_two.clock(), R"({"note":"d","pct":1})",
                                                   {"note"})})
              .ok());

  // A merges record one and stops before COMMIT; B merges record two meanwhile, on a thread.
  REQUIRE(a.begin().ok());
  auto merged_a = a.push(dev_a, "m1", {make_edit(one, dev_a, 2, create_one.clock(), R"({"note":"a","pct":2})", {"pct"})});
  REQUIRE_MESSAGE(merged_a.ok(), merged_a.status().message());
  CHECK(nlohmann::json::parse(*merged_a)["results"][0]["outcome"] == "merged");
  const int b_pid = b.conn->backend_pid();
  auto done_b = std::async(std::launch::async, [&b, &dev_c, &two, &create_two] {
    return b.push_committed(dev_c, "m2",
                            {make_edit(two, dev_c, 2, create_two.clock(), R"({"note":"c","pct":2})", {"pct"})});
  });
  REQUIRE(wait_blocked(*watcher, b_pid, done_b));
  REQUIRE(a.conn->exec_script("COMMIT").ok());
  auto merged_b = done_b.get();
  REQUIRE_MESSAGE(merged_b.ok(), merged_b.status().message());
  CHECK(nlohmann::json::parse(*merged_b)["results"][0]["outcome"] == "merged");

  // Each record has one live version, the server's, and the two merges have counters 1 and 2.
  auto live = watcher->exec(
      "SELECT record_id::text, actor::text, n FROM versions WHERE is_live ORDER BY n", {});
  REQUIRE(live.ok());
  REQUIRE(live->rows() == 2);
  std::set<std::string> records{live->str(0, 0), live->str(1, 0)};
  CHECK(records == std::set<std::string>{one, two});
  CHECK(live->str(0, 1) == kServer);
  CHECK(live->str(1, 1) == kServer);
  CHECK(live->int64(0, 2) == 1);
  CHECK(live->int64(1, 2) == 2);
}

TEST_CASE("postgres: writers at once through PgStore::push: every batch acknowledged, the feed without a gap") {
  auto db = test::make_engine(test::EngineKind::kPostgres);
  if (!db) return;
  auto* store = dynamic_cast<store::PgStore*>(db->store.get());
  REQUIRE(store != nullptr);
  constexpr int kWriters = 4, kBatches = 8;
  // One record every writer edits at once (each edit concurrent with the others: merges, the server's
  // counter), besides a new record of its own per batch.
  const std::string shared = uuid7(1700000000000, 100);
  const sync::Edit create = make_edit(shared, uuid_n(0x100), 1, {}, R"({"note":"","pct":0})", {"note", "pct"});
  {
    sync::PushRequest req{"create", {create}};
    REQUIRE(store->push(store::PushInput{uuid_n(0x100), &req, 1700000000000}).ok());
  }
  std::vector<std::vector<Result<store::PushOutput>>> answers(kWriters);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w)
    threads.emplace_back([&, w] {
      const std::string device = uuid_n(0x200 + static_cast<std::uint64_t>(w));
      for (int b = 0; b < kBatches; ++b) {
        const std::int64_t n = 2 * b + 1;
        sync::VectorClock seen = create.clock();  // the shared record as created, and this device's edits of it
        if (b > 0) seen.advance(device, n - 1);
        sync::PushRequest req{"b" + std::to_string(b),
                              {make_edit(uuid7(1700000000000 + static_cast<std::uint64_t>(b), 200 + w), device, n, {},
                                         R"({"pct":1})", {"pct"}),
                               make_edit(shared, device, n + 1, seen,
                                         R"({"note":"w)" + std::to_string(w) + R"(","pct":0})", {"note"})}};
        // A deadlock or a lost connection answers kBusy: the device retries the same batch.
        for (int attempt = 0; attempt < 5; ++attempt) {
          auto out = store->push(store::PushInput{device, &req, 1700000001000});
          const bool retry = !out.ok() && out.status().code() == Status::Code::kBusy;
          if (!retry || attempt == 4) {
            answers[static_cast<std::size_t>(w)].push_back(std::move(out));
            break;
          }
        }
      }
    });
  for (auto& t : threads) t.join();

  std::set<std::int64_t> seqs;
  std::size_t changes = 0;
  for (const auto& per_writer : answers)
    for (const auto& out : per_writer) {
      REQUIRE_MESSAGE(out.ok(), out.status().message());
      const nlohmann::json results = nlohmann::json::parse(out->response)["results"];
      for (const auto& r : results) {
        CHECK(r["outcome"] != "rejected");
        seqs.insert(r["seq"].get<std::int64_t>());
        ++changes;
      }
    }
  // Every answer has a number of its own (a merge may use two in one batch, as on SQLite: the first is
  // never committed on any record), and the counter handed out nothing beyond what was committed.
  CHECK(seqs.size() == changes);
  CHECK(changes == static_cast<std::size_t>(kWriters * kBatches * 2));
  auto conn = connect(db->url);
  auto head = conn->exec("SELECT (SELECT last_seq FROM feed_head), (SELECT max(seq) FROM records), "
                         "(SELECT count(DISTINCT seq) FROM records), (SELECT count(*) FROM records)");
  REQUIRE(head.ok());
  CHECK(head->int64(0, 0) == head->int64(0, 1));
  CHECK(head->int64(0, 2) == head->int64(0, 3));
  CHECK(*seqs.rbegin() <= head->int64(0, 0));
  // The server's versions have distinct counters (a unique key would have refused a repeat), and the
  // shared record ends with one live version.
  auto live = conn->exec("SELECT count(*) FROM versions WHERE record_id = $1::uuid AND is_live", {store::pg::text(shared)});
  REQUIRE(live.ok());
  CHECK(live->int64(0, 0) == 1);
}

TEST_CASE("postgres: the same batch pushed twice at once: one applies it, the other is told to retry") {
  auto db = test::make_engine(test::EngineKind::kPostgres);
  if (!db) return;
  Writer a{connect(db->url)}, b{connect(db->url)};
  auto watcher = connect(db->url);
  const std::string dev = uuid_n(0xA), id = uuid7(1700000000000, 30);
  const sync::Edit create = make_edit(id, dev, 1, {}, R"({"pct":1})", {"pct"});
  // The device's first request stops before COMMIT; its retry arrives meanwhile.
  REQUIRE(a.begin().ok());
  auto first = a.push(dev, "same", {create});
  REQUIRE(first.ok());
  const int b_pid = b.conn->backend_pid();
  auto retry = std::async(std::launch::async, [&b, &dev, &create] { return b.push_committed(dev, "same", {create}); });
  REQUIRE(wait_blocked(*watcher, b_pid, retry));
  REQUIRE(a.conn->exec_script("COMMIT").ok());
  auto second = retry.get();
  // kBusy (503 + Retry-After), never kConflict (409: "batch id reused", which a device does not retry).
  REQUIRE(!second.ok());
  CHECK(second.status().code() == Status::Code::kBusy);
  // The retry after that gets the stored answer, byte for byte.
  auto third = b.push_committed(dev, "same", {create});
  REQUIRE(third.ok());
  CHECK(*third == *first);
}

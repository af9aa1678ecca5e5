// The server store's checkpoints (server_store.cpp note 6): copied on the store's own thread, not in the
// group-commit leader's COMMIT; an idle store's WAL file emptied; the WAL bounded while a long read holds it.
#include "schema/store/server_store.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>

#include "schema/store/db.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kPage = 16384;

// Writes `n` rows of 64 KiB into meta (about 4 pages of WAL each), one commit per row.
void write_rows(store::ServerStore& s, int from, int n) {
  const std::string value(64 * 1024, 'x');
  for (int i = from; i < from + n; ++i) {
    REQUIRE(s.write([&](store::Db& db, std::int64_t&) -> Status {
                AKT_STMT(q, db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)");
                q->bind(1, "ckpt-test-" + std::to_string(i));
                q->bind(2, value);
                return q->run();
              }).ok());
  }
}

std::int64_t wal_bytes(const std::string& db_path) {
  std::error_code ec;
  auto n = std::filesystem::file_size(db_path + "-wal", ec);
  return ec ? -1 : static_cast<std::int64_t>(n);
}

template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds deadline = 20s) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

int count_rows(store::ServerStore& s) {
  int n = -1;
  REQUIRE(s.read([&](store::Db& db) -> Status {
              AKT_STMT(q, db, "SELECT count(*) FROM meta WHERE key LIKE 'ckpt-test-%'");
              auto row = q->step();
              if (!row.ok()) return row.status();
              n = static_cast<int>(q->int64(0));
              return {};
            }).ok());
  return n;
}

}  // namespace

TEST_CASE("checkpoints: the store's thread copies the WAL and the group-commit leader never does") {
  test::TempDir dir;
  store::ServerStoreOptions o;
  o.path = dir.file("s.db");
  o.checkpoint_pages = 64;
  o.idle_checkpoint_ms = 600000;  // no idle TRUNCATE in this test
  o.backstop_pages = 1000000;     // nor a checkpoint in the leader
  auto s = store::ServerStore::open(o);
  REQUIRE(s.ok());
  // 400 rows in a row are about 1,600 pages of WAL.
  write_rows(**s, 0, 400);
  const auto st = (*s)->checkpoint_stats();
  INFO("background " << st.background << " tail " << st.tail << " leader " << st.leader << " wal bytes "
                     << wal_bytes(o.path));
  CHECK(st.background >= 5);
  CHECK(st.tail >= 1);  // the leader copied the last pages, so that the WAL restarted
  CHECK(st.leader == 0);
  // Without the thread the WAL would hold every page written (about 26 MB); with it, the file restarts
  // and is cut back to journal_size_limit (checkpoint_pages pages) after each restart.
  CHECK(wal_bytes(o.path) < 400 * kPage);
  CHECK(count_rows(**s) == 400);
}

TEST_CASE("checkpoints: an idle store empties its WAL file and keeps every row") {
  test::TempDir dir;
  store::ServerStoreOptions o;
  o.path = dir.file("s.db");
  o.idle_checkpoint_ms = 100;
  {
    auto s = store::ServerStore::open(o);
    REQUIRE(s.ok());
    write_rows(**s, 0, 10);
    CHECK(wal_bytes(o.path) > 0);
    // (The counters move just after the file is cut: wait for both.)
    CHECK(wait_until([&] { return wal_bytes(o.path) == 0 && (*s)->checkpoint_stats().truncated >= 1; }));
    const auto st = (*s)->checkpoint_stats();
    INFO("truncated " << st.truncated << " busy " << st.busy << " errors " << st.errors);
    CHECK(st.truncated >= 1);
    CHECK(st.wal_pages == 0);
    CHECK(st.errors == 0);
    // A commit after the TRUNCATE writes the WAL again; the next idle period empties it again.
    write_rows(**s, 10, 2);
    CHECK(wal_bytes(o.path) > 0);
    CHECK(wait_until([&] { return wal_bytes(o.path) == 0; }));
    CHECK(count_rows(**s) == 12);
  }
  // The rows are in the database file itself.
  std::filesystem::remove(o.path + "-wal");
  auto again = store::ServerStore::open(o);
  REQUIRE(again.ok());
  CHECK(count_rows(**again) == 12);
}

TEST_CASE("checkpoints: a long read holds the WAL without the thread spinning and the leader bounds it") {
  test::TempDir dir;
  store::ServerStoreOptions o;
  o.path = dir.file("s.db");
  o.checkpoint_pages = 16;
  o.idle_checkpoint_ms = 50;
  o.backstop_pages = 200;
  auto s = store::ServerStore::open(o);
  REQUIRE(s.ok());
  write_rows(**s, 0, 2);
  // A read transaction that stays open while 100 more rows (about 400 pages) are written.
  std::mutex mu;
  std::condition_variable cv;
  bool inside = false, release = false;
  std::thread reader([&] {
    CHECK((*s)->read([&](store::Db& db) -> Status {
                AKT_STMT(q, db, "SELECT count(*) FROM meta");
                auto row = q->step();
                if (!row.ok()) return row.status();
                std::unique_lock lock(mu);
                inside = true;
                cv.notify_all();
                cv.wait_for(lock, 60s, [&] { return release; });
                return {};
              }).ok());
  });
  {
    std::unique_lock lock(mu);
    REQUIRE(cv.wait_for(lock, 30s, [&] { return inside; }));
  }
  write_rows(**s, 2, 100);
  std::this_thread::sleep_for(300ms);  // idle: the TRUNCATE is refused while the read lasts
  const auto held = (*s)->checkpoint_stats();
  INFO("background " << held.background << " leader " << held.leader << " busy " << held.busy);
  CHECK(held.leader >= 1);          // past backstop_pages the leader checkpointed (PASSIVE)
  CHECK(held.background < 150);     // a checkpoint that cannot progress waits instead of spinning
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  reader.join();
  // With the read gone, the idle checkpoint empties the WAL.
  CHECK(wait_until([&] { return wal_bytes(o.path) == 0; }));
  CHECK(count_rows(**s) == 102);
}

// The server store's read connections: a bounded pool, and the page cache each connection gets.
#include "schema/store/server_store.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "schema/store/db.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;

TEST_CASE("read pool: many concurrent reads leave at most max_idle_readers connections open") {
  test::TempDir dir;
  store::ServerStoreOptions o;
  o.path = dir.file("s.db");
  o.max_idle_readers = 3;
  auto s = store::ServerStore::open(o);
  REQUIRE(s.ok());
  store::ServerStore& store = **s;
  // 12 reads held open together (each waits until all are inside, with a generous deadline), so
  // the store must open 12 connections at once; then all end.
  constexpr int kReads = 12;
  std::mutex mu;
  std::condition_variable cv;
  int inside = 0;
  std::vector<std::thread> threads;
  std::vector<Status> results(kReads);
  for (int i = 0; i < kReads; ++i) {
    threads.emplace_back([&, i] {
      results[static_cast<std::size_t>(i)] = store.read([&](store::Db& db) -> Status {
        AKT_STMT(q, db, "SELECT count(*) FROM records");
        auto row = q->step();
        if (!row.ok()) return row.status();
        std::unique_lock lock(mu);
        ++inside;
        cv.notify_all();
        cv.wait_for(lock, std::chrono::seconds(120), [&] { return inside >= kReads; });
        return {};
      });
    });
  }
  for (auto& t : threads) t.join();
  CHECK(inside == kReads);
  for (const Status& r : results) CHECK(r.ok());
  CHECK(store.idle_readers() <= 3);
  CHECK(store.idle_readers() >= 1);
  // A second round reuses the pool and keeps the bound.
  for (int i = 0; i < 20; ++i) CHECK(store.read([](store::Db&) { return Status(); }).ok());
  CHECK(store.idle_readers() <= 3);
}

TEST_CASE("read pool: every connection gets the configured page cache (PRAGMA cache_size)") {
  test::TempDir dir;
  store::ServerStoreOptions o;
  o.path = dir.file("s.db");
  auto s = store::ServerStore::open(o);
  REQUIRE(s.ok());
  std::int64_t cache = 0;
  REQUIRE((*s)->read([&](store::Db& db) -> Status {
    AKT_STMT(q, db, "PRAGMA cache_size");
    auto row = q->step();
    if (!row.ok()) return row.status();
    cache = q->int64(0);
    return {};
  }).ok());
  CHECK(cache == -store::DbOptions{}.cache_kib);
  CHECK(store::DbOptions{}.cache_kib == 2048);
  // The same on a connection opened directly (the writer and the tablet store use Db::open too).
  store::DbOptions d;
  d.cache_kib = 512;
  auto db = store::Db::open(dir.file("t.db"), d);
  REQUIRE(db.ok());
  auto q = (*db)->stmt("PRAGMA cache_size");
  REQUIRE(q.ok());
  store::StmtGuard g(**q);
  REQUIRE(*g->step());
  CHECK(g->int64(0) == -512);
}

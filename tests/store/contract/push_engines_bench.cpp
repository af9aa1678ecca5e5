// Push throughput of the two engines side by side (issue #20): batches of new records through
// ServerStore::push (SQLite) and PgStore::push (PostgreSQL, one writer and four at once) in the same run.
// Both without durability flushes (the test cluster runs fsync=off; SQLite synchronous=NORMAL), so the
// ratio is the engines' work, not the disk's. Prints the median of several runs per engine.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "schema/store/postgres/pg_conn.hpp"
#include "schema/store/postgres/pg_store.hpp"
#include "schema/store/server_store.hpp"
#include "tests/support/edits.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;

namespace {

constexpr int kBatches = 40, kEdits = 50, kRuns = 5;

// Pushes kBatches batches of kEdits new records from device `dev`; returns seconds, or -1 on a failure.
template <class Push>
double push_all(Push push, std::uint64_t dev, std::uint64_t salt) {
  const std::string device = test::uuid_n(dev);
  const auto start = std::chrono::steady_clock::now();
  for (int b = 0; b < kBatches; ++b) {
    sync::PushRequest req{"b" + std::to_string(b), {}};
    for (int i = 0; i < kEdits; ++i) {
      const std::int64_t n = b * kEdits + i + 1;
      req.edits.push_back(test::make_edit(test::uuid7(1700000000000 + salt, static_cast<std::uint64_t>(n) * 16 + dev),
                                          device, n, {}, R"({"note":"bench","pct":)" + std::to_string(n) + "}",
                                          {"note", "pct"}));
    }
    auto out = push(store::PushInput{device, &req, 1700000000000});
    if (!out.ok()) {
      std::fprintf(stderr, "push failed: %s\n", out.status().message().c_str());
      return -1;
    }
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::unique_ptr<store::PgStore> fresh_pg(test::PgCluster& cluster, int run) {
  const std::string schema = "bench_" + std::to_string(run);
  auto admin = store::pg::PgConn::connect(cluster.url("akt_bench"));
  if (!admin.ok() || !(*admin)->exec_script("CREATE SCHEMA " + schema).ok()) return nullptr;
  store::PgStoreOptions o;
  o.url = cluster.url("akt_bench") + " options='-c search_path=" + schema + "'";
  auto s = store::PgStore::open(o);
  return s.ok() ? std::move(*s) : nullptr;
}

}  // namespace

int main() {
  std::string why;
  test::PgCluster* cluster = test::PgCluster::get(&why);
  if (!cluster) {
    std::printf("PostgreSQL engine skipped: %s\n", why.c_str());
    return 0;
  }
  if (!store::pg_create_database(cluster->url("postgres"), "akt_bench", "").ok()) return 1;
  std::vector<double> sqlite, pg_one, pg_four;
  for (int run = 0; run < kRuns; ++run) {
    {
      test::TempDir dir;
      store::ServerStoreOptions o;
      o.path = dir.file("bench.db");
      o.synchronous_full = false;
      auto s = store::ServerStore::open(o);
      if (!s.ok()) return 1;
      sqlite.push_back(push_all([&](const store::PushInput& in) { return (*s)->push(in); }, 0xA, 0));
    }
    {
      auto s = fresh_pg(*cluster, 2 * run);
      if (!s) return 1;
      pg_one.push_back(push_all([&](const store::PushInput& in) { return s->push(in); }, 0xA, 0));
    }
    {
      auto s = fresh_pg(*cluster, 2 * run + 1);
      if (!s) return 1;
      std::vector<double> each(4);
      const auto start = std::chrono::steady_clock::now();
      std::vector<std::thread> threads;
      for (int w = 0; w < 4; ++w)
        threads.emplace_back([&, w] {
          each[static_cast<std::size_t>(w)] =
              push_all([&](const store::PushInput& in) { return s->push(in); }, 0x10 + static_cast<std::uint64_t>(w),
                       static_cast<std::uint64_t>(w));
        });
      for (auto& t : threads) t.join();
      if (std::any_of(each.begin(), each.end(), [](double x) { return x < 0; })) return 1;
      pg_four.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
  }
  const double edits = kBatches * kEdits;
  const double sq = edits / median(sqlite), p1 = edits / median(pg_one), p4 = 4 * edits / median(pg_four);
  std::printf("push, %d batches of %d new records, median of %d runs (records/s):\n", kBatches, kEdits, kRuns);
  std::printf("  sqlite              %8.0f\n", sq);
  std::printf("  postgres, 1 writer  %8.0f  (%.2fx sqlite)\n", p1, p1 / sq);
  std::printf("  postgres, 4 writers %8.0f  (%.2fx sqlite)\n", p4, p4 / sq);
  return 0;
}

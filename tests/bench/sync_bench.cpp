// Benchmark of the core sync path (issue: core sync service). Pushes N realistic ~1 KB survey records
// in batches over C keep-alive connections to an in-process aktsyncd on 127.0.0.1, pulls them all
// back, and in the same run measures the raw ceiling: the same rows inserted into a plain SQLite table
// (one row per record, WAL, synchronous=FULL, transactions of the batch size). Prints rates and the
// ratio push / raw; with --runs > 1, medians.
//
//   build/release/tests/bench/akt_sync_bench --records 200000 --batch 500 --connections 16 --runs 3
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "clients/http_client.hpp"
#include "clients/record_gen.hpp"
#include "schema/store/db.hpp"
#include "schema/store/server_store.hpp"
#include "server/auth.hpp"
#include "server/log.hpp"
#include "server/server.hpp"
#include "sync/uuid.hpp"
#include "sync/wire_json.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  int records = 200000, batch = 500, connections = 16, runs = 1;
  bool breakdown = false;
};

struct Figures {
  double push = 0, pull = 0, raw = 0;
};

struct Workload {
  std::vector<std::string> actors, tokens;
  std::vector<std::vector<std::string>> batches;  // per connection: encoded push bodies
  std::vector<std::pair<std::string, std::string>> rows;  // (record id blob, body) for the raw ceiling
  std::size_t body_bytes = 0;
};

Workload make_workload(const Options& o) {
  Workload w;
  std::mt19937_64 rng(7);
  for (int c = 0; c < o.connections; ++c) {
    std::array<std::uint8_t, 16> r{};
    for (auto& b : r) b = static_cast<std::uint8_t>(rng());
    w.actors.push_back(sync::format_uuid(sync::make_uuid_v4(r)));
    w.tokens.push_back("bench-token-" + std::to_string(c));
  }
  w.batches.resize(static_cast<std::size_t>(o.connections));
  std::vector<std::int64_t> counters(static_cast<std::size_t>(o.connections), 0);
  const std::uint64_t t0 = 1700000000000;
  for (int i = 0, b = 0; i < o.records; ++b) {
    const auto c = static_cast<std::size_t>(b % o.connections);
    sync::PushRequest req{"bench-" + std::to_string(b), {}};
    for (int k = 0; k < o.batch && i < o.records; ++k, ++i) {
      client::GeneratedRecord g = client::generate_survey_record(rng);
      sync::Edit e;
      e.record_id = client::new_record_id(t0 + static_cast<std::uint64_t>(i), rng);
      e.form_id = "so1_interethnic_survey";
      e.form_version = 1;
      e.scope = g.scope;
      e.dot = {w.actors[c], ++counters[c]};
      e.changed = g.changed;
      e.body = g.body;
      e.device_time = static_cast<std::int64_t>(t0) + i;
      w.body_bytes += e.body.size();
      auto id = *sync::parse_uuid(e.record_id);
      w.rows.emplace_back(std::string(reinterpret_cast<const char*>(id.data()), id.size()), e.body);
      req.edits.push_back(std::move(e));
    }
    w.batches[c].push_back(sync::encode_push_request(req));
  }
  return w;
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

Figures run_once(const Options& o, const Workload& w) {
  Figures f;
  test::TempDir dir;
  server::Config c;
  c.listen_port = 0;
  c.data_dir = dir.file("server");
  c.io_threads = 2;
  c.workers = o.connections + 2;
  c.log_level = "warn";
  c.forms.validate = false;  // the bare sync path; form validation runs beside it on the worker pool
  for (std::size_t i = 0; i < w.actors.size(); ++i)
    c.devices.push_back({w.actors[i], "bench-" + std::to_string(i), server::sha256_hex(w.tokens[i])});
  auto app = server::make_app_state(c);
  auto srv = server::Server::start(*app);
  if (!app.ok() || !srv.ok()) {
    std::fprintf(stderr, "cannot start server\n");
    std::exit(1);
  }
  const std::uint16_t port = (*srv)->port();

  std::atomic<int> failures{0};
  auto t = Clock::now();
  std::vector<std::thread> threads;
  for (int ci = 0; ci < o.connections; ++ci) {
    threads.emplace_back([&, ci] {
      client::HttpOptions ho;
      ho.accept_gzip = false;  // loopback: compression would only cost CPU
      client::HttpClient cl("127.0.0.1", port, ho);
      const auto idx = static_cast<std::size_t>(ci);
      std::vector<std::pair<std::string, std::string>> h{{"Authorization", "Bearer " + w.tokens[idx]},
                                                         {"Content-Type", "application/json"}};
      for (const std::string& body : w.batches[idx]) {
        auto r = cl.request("POST", "/v1/push", body, h);
        if (!r.ok() || r->status != 200) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  f.push = o.records / seconds_since(t);
  if (failures) std::fprintf(stderr, "%d push requests failed\n", failures.load());

  t = Clock::now();
  client::HttpOptions ho;
  ho.accept_gzip = false;
  client::HttpClient cl("127.0.0.1", port, ho);
  std::vector<std::pair<std::string, std::string>> h{{"Authorization", "Bearer " + w.tokens[0]}};
  std::string cursor;
  std::size_t pulled = 0;
  for (;;) {
    auto r = cl.request("GET", "/v1/changes?limit=5000&since=" + cursor, {}, h);
    if (!r.ok() || r->status != 200) {
      std::fprintf(stderr, "pull failed\n");
      break;
    }
    // Count and read the cursor with a scan: the bench measures the server, not a client's JSON DOM.
    const std::string& b = r->body;
    for (std::size_t p = b.find("{\"record\":"); p != std::string::npos; p = b.find("{\"record\":", p + 1)) ++pulled;
    const std::size_t next = b.rfind("\"next\":\"");
    cursor = b.substr(next + 8, b.find('"', next + 8) - (next + 8));
    if (b.find("\"more\":true", b.size() - 16) == std::string::npos) break;
  }
  f.pull = static_cast<double>(pulled) / seconds_since(t);
  if (pulled != static_cast<std::size_t>(o.records))
    std::fprintf(stderr, "pulled %zu records, expected %d\n", pulled, o.records);
  (*srv)->stop();

  // Raw ceiling: the same rows, one per record, same durability, transactions of the batch size.
  store::DbOptions dbo;
  auto db = store::Db::open(dir.file("raw.db"), dbo);
  (*db)->exec("CREATE TABLE raw(id BLOB PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID");
  t = Clock::now();
  for (std::size_t i = 0; i < w.rows.size();) {
    (*db)->exec("BEGIN IMMEDIATE");
    auto s = (*db)->stmt("INSERT INTO raw(id, body) VALUES(?1, ?2)");
    for (int k = 0; k < o.batch && i < w.rows.size(); ++k, ++i) {
      store::StmtGuard g(**s);
      g->bind_blob(1, w.rows[i].first.data(), w.rows[i].first.size());
      g->bind(2, w.rows[i].second);
      (void)g->run();
    }
    (*db)->exec("COMMIT");
  }
  f.raw = o.records / seconds_since(t);
  return f;
}

// Where the push time goes, without HTTP: decoding the batches alone, then applying the decoded
// batches straight to a ServerStore from one thread (no group commit across connections).
void breakdown(const Options& o, const Workload& w) {
  std::vector<sync::PushRequest> decoded;
  auto t = Clock::now();
  for (const auto& per_conn : w.batches)
    for (const std::string& body : per_conn) decoded.push_back(*sync::decode_push_request(body, sync::WireLimits{}));
  const double decode = o.records / seconds_since(t);
  test::TempDir dir;
  store::ServerStoreOptions so;
  so.path = dir.file("direct.db");
  auto st = store::ServerStore::open(so);
  t = Clock::now();
  for (const auto& req : decoded) {
    store::PushInput in{req.edits.front().dot.actor, &req, 1};
    auto r = (*st)->push(in);
    if (!r.ok() || r->response.find("rejected") != std::string::npos) std::fprintf(stderr, "breakdown: push failed\n");
  }
  const double apply = o.records / seconds_since(t);
  std::printf("breakdown: decode %.0f rec/s (one thread), store apply %.0f rec/s (one thread, one commit per batch)\n",
              decode, apply);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (flag == "--records") o.records = v;
    else if (flag == "--batch") o.batch = v;
    else if (flag == "--connections") o.connections = v;
    else if (flag == "--runs") o.runs = v;
    else if (flag == "--breakdown") o.breakdown = v != 0;
    else {
      std::fprintf(stderr, "usage: akt_sync_bench [--records N] [--batch N] [--connections N] [--runs N] [--breakdown 1]\n");
      return 2;
    }
  }
  if (o.records < 1 || o.batch < 1 || o.connections < 1 || o.runs < 0) return 2;
  server::set_log_level("warn");
  Workload w = make_workload(o);
  std::printf("workload: %d records, %.0f bytes of body on average, batches of %d over %d connections\n", o.records,
              static_cast<double>(w.body_bytes) / o.records, o.batch, o.connections);
  if (o.breakdown) breakdown(o, w);
  std::vector<double> push, pull, raw, ratio;
  for (int r = 0; r < o.runs; ++r) {
    Figures f = run_once(o, w);
    std::printf("run %d: push %.0f rec/s, pull %.0f rec/s, raw SQLite ceiling %.0f rec/s, push/raw %.2f\n", r + 1,
                f.push, f.pull, f.raw, f.push / f.raw);
    std::fflush(stdout);
    push.push_back(f.push);
    pull.push_back(f.pull);
    raw.push_back(f.raw);
    ratio.push_back(f.push / f.raw);
  }
  if (o.runs == 0) return 0;
  std::printf("median of %d: push %.0f rec/s, pull %.0f rec/s, raw %.0f rec/s, push/raw %.2f, pull/raw %.2f\n",
              o.runs, median(push), median(pull), median(raw), median(ratio), median(pull) / median(raw));
  return 0;
}

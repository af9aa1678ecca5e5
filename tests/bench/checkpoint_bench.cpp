// WAL checkpoints and the push (docs/STORE.md, "The WAL and its checkpoints"). The server store alone
// (no HTTP), W threads pushing batches of new 2.1 KB records at once, in two configurations measured in
// turn in each round:
//   leader  SQLite's auto-checkpoint behaviour: the group-commit leader checkpoints at 10,000 pages
//           (checkpoint_pages 0, backstop_pages 10000: the same PASSIVE checkpoint in the same place)
//   thread  the store's checkpoint thread (the defaults)
// For each it prints records per second, the push latency (median, p99, max: a checkpoint in the leader
// holds every batch queued behind it), the checkpoints by kind, and the data folder's bytes per body byte
// right after the pushes and after --idle-ms idle (default 3000; the store's idle checkpoint then waits a third
// of it, 1000 ms by default as in the server). Medians of --runs rounds with min-max. Not a test.
//
//   build/release/tests/bench/akt_checkpoint_bench --records 50000 --runs 3
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "schema/store/server_store.hpp"
#include "tests/support/edits.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  int records = 50000, batch = 250, writers = 8, runs = 3, idle_ms = 3000;
};

struct Figures {
  double rate = 0, p50_ms = 0, p99_ms = 0, max_ms = 0, folder_after = 0, folder_idle = 0;
  store::ServerStore::CheckpointStats ckpt;
};

[[noreturn]] void die(const std::string& m) {
  std::fprintf(stderr, "akt_checkpoint_bench: %s\n", m.c_str());
  std::exit(2);
}

// A survey-like body of about 2,100 bytes: 60 answers, some numbers, some text.
std::string body_of(int i) {
  std::string b = "{";
  for (int k = 0; k < 60; ++k) {
    if (k) b += ',';
    b += "\"q" + std::to_string(k) + "_answer\":";
    if (k % 3 == 0)
      b += std::to_string((i * 7919 + k * 104729) % 100000);
    else
      b += "\"value " + std::to_string(i) + " of question " + std::to_string(k) + "\"";
  }
  b += '}';
  return b;
}

double folder_bytes(const std::string& dir) {
  double n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.is_regular_file()) n += static_cast<double>(e.file_size());
  return n;
}

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

Figures run(const Options& opt, bool thread) {
  test::TempDir dir;
  store::ServerStoreOptions so;
  so.path = dir.file("aktsync.db");
  so.idle_checkpoint_ms = std::max(1, opt.idle_ms / 3);
  if (!thread) {
    so.checkpoint_pages = 0;
    so.backstop_pages = 10000;
  }
  auto s = store::ServerStore::open(so);
  if (!s.ok()) die(s.status().message());
  store::ServerStore& st = **s;

  const int per_writer = opt.records / opt.writers;
  std::vector<std::vector<double>> lat(static_cast<std::size_t>(opt.writers));
  std::vector<double> body_bytes(static_cast<std::size_t>(opt.writers), 0);
  std::vector<std::thread> threads;
  const auto t0 = Clock::now();
  for (int w = 0; w < opt.writers; ++w) {
    threads.emplace_back([&, w] {
      const std::string device = test::uuid_n(0xD0000 + static_cast<std::uint64_t>(w));
      std::int64_t n = 0;
      for (int done = 0; done < per_writer;) {
        sync::PushRequest req;
        req.batch_id = "w" + std::to_string(w) + "-" + std::to_string(done);
        const int k = std::min(opt.batch, per_writer - done);
        for (int i = 0; i < k; ++i) {
          const int id = w * per_writer + done + i;
          std::string body = body_of(id);
          body_bytes[static_cast<std::size_t>(w)] += static_cast<double>(body.size());
          req.edits.push_back(test::make_edit(
              test::uuid7(1700000000000ULL + static_cast<std::uint64_t>(id), static_cast<std::uint64_t>(w)), device,
              ++n, {}, body));
        }
        store::PushInput in{device, &req, 1700000000000};
        const auto b0 = Clock::now();
        auto r = st.push(in);
        if (!r.ok()) die("push: " + r.status().message());
        lat[static_cast<std::size_t>(w)].push_back(std::chrono::duration<double, std::milli>(Clock::now() - b0).count());
        done += k;
      }
    });
  }
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  Figures f;
  std::vector<double> all;
  double body = 0;
  for (std::size_t w = 0; w < lat.size(); ++w) {
    all.insert(all.end(), lat[w].begin(), lat[w].end());
    body += body_bytes[w];
  }
  f.rate = per_writer * opt.writers / secs;
  f.p50_ms = pct(all, 0.5);
  f.p99_ms = pct(all, 0.99);
  f.max_ms = pct(all, 1.0);
  f.folder_after = folder_bytes(dir.path()) / body;
  std::this_thread::sleep_for(std::chrono::milliseconds(opt.idle_ms));
  f.folder_idle = folder_bytes(dir.path()) / body;
  f.ckpt = st.checkpoint_stats();
  return f;
}

struct Summary {
  std::vector<double> rate, p50, p99, max, after, idle;
  void add(const Figures& f) {
    rate.push_back(f.rate);
    p50.push_back(f.p50_ms);
    p99.push_back(f.p99_ms);
    max.push_back(f.max_ms);
    after.push_back(f.folder_after);
    idle.push_back(f.folder_idle);
  }
};

std::string mmm(std::vector<double> v, const char* fmt) {
  std::sort(v.begin(), v.end());
  char buf[128];
  std::string out;
  std::snprintf(buf, sizeof buf, fmt, v[v.size() / 2]);
  out += buf;
  out += " (";
  std::snprintf(buf, sizeof buf, fmt, v.front());
  out += buf;
  out += "-";
  std::snprintf(buf, sizeof buf, fmt, v.back());
  out += buf;
  out += ")";
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (v <= 0) die("bad value for " + flag);
    if (flag == "--records") opt.records = v;
    else if (flag == "--batch") opt.batch = v;
    else if (flag == "--writers") opt.writers = v;
    else if (flag == "--runs") opt.runs = v;
    else if (flag == "--idle-ms") opt.idle_ms = v;
    else die("usage: akt_checkpoint_bench [--records N] [--batch N] [--writers N] [--runs N] [--idle-ms N]");
  }
  if (argc % 2 == 0) die("usage: akt_checkpoint_bench [--records N] [--batch N] [--writers N] [--runs N] [--idle-ms N]");
  Summary leader, thread;
  std::vector<double> ratio;
  for (int r = 0; r < opt.runs; ++r) {
    // Alternate which configuration runs first, so that a machine getting busier favours neither.
    const bool thread_first = r % 2 == 1;
    Figures a = run(opt, thread_first), b = run(opt, !thread_first);
    const Figures& fl = thread_first ? b : a;
    const Figures& ft = thread_first ? a : b;
    leader.add(fl);
    thread.add(ft);
    ratio.push_back(ft.rate / fl.rate);
    std::printf("round %d: leader %.0f rec/s p99 %.1f ms (checkpoints in the leader %lld) | thread %.0f rec/s p99 %.1f ms "
                "(thread %lld, tail %lld, backstop %lld, truncate %lld, busy %lld)\n",
                r + 1, fl.rate, fl.p99_ms, static_cast<long long>(fl.ckpt.leader), ft.rate, ft.p99_ms,
                static_cast<long long>(ft.ckpt.background), static_cast<long long>(ft.ckpt.tail),
                static_cast<long long>(ft.ckpt.leader), static_cast<long long>(ft.ckpt.truncated),
                static_cast<long long>(ft.ckpt.busy));
  }
  std::printf("\n%d records of about 2.1 KB, batches of %d, %d writers, medians (min-max) of %d rounds\n",
              opt.records, opt.batch, opt.writers, opt.runs);
  for (auto [name, s] : {std::pair<const char*, Summary*>{"leader", &leader}, {"thread", &thread}}) {
    std::printf("  %-7s push %s rec/s; latency p50 %s ms, p99 %s ms, max %s ms; folder per body byte %s after, %s idle\n",
                name, mmm(s->rate, "%.0f").c_str(), mmm(s->p50, "%.1f").c_str(), mmm(s->p99, "%.1f").c_str(),
                mmm(s->max, "%.0f").c_str(), mmm(s->after, "%.2f").c_str(), mmm(s->idle, "%.2f").c_str());
  }
  std::printf("  push thread / leader in the same round: %s\n", mmm(ratio, "%.2f").c_str());
  return 0;
}

// Sync over an emulated bad rural link. An in-process aktsyncd on 127.0.0.1, the fault
// proxy's link emulation in front of it (rate limit per direction, one-way delay, stalls, a cut of every
// connection at a fixed period), and the real sync client of the aktsync CLI:
//   push  tablet A saves N realistic survey records offline, then syncs (push, then the feed)
//   pull  a fresh tablet B of another device syncs them all down
// For each phase it prints the time, the ratio time / (the records' own gzip bytes / link rate), the
// bytes sent again after a cut, the requests and the bytes each way. No root needed. Not a test.
//
//   build/dev/tests/bench/akt_link_bench --records 1000 --kbits 64,128,256 --rtt 300,600 --faults 0,1
//
// --faults 1: a cut of every connection each --cut-every seconds (30) and a stall of --stall-ms (5000)
// in the middle of an answer with probability --stall (0.1).
// --protocol new (default), old or both: `old` is the client as it was before issue #18's protocol work
// (the full feed with every body echoed and `changed`/`parents`, pages bounded by records only, a cut
// page fetched again from its start); `new` is today's client (compact feed without echo, max_bytes,
// resume after the last whole record, batches and pages sized to --target-ms of the measured link, as the
// aktsync CLI does). --runs N repeats each point and prints the medians. --coding gzip: the client neither
// asks for zstd answers nor uploads zstd (as before zstd, PROTOCOL §1); zstd (default): both.
// (Both send creates without `changed` and ask for a lost push answer first: those live in the store.)
// The new client leaves its own records out of the feed (skip_own; --skip-own 0: not) and, like a tablet
// enrolled with `aktsync init`, starts each run knowing whether the server takes zstd uploads (heard off the link).
//
// --trace 1 prints a timeline of each sync, in ms from its start: the sync client's steps (batch formed,
// request counted, answer decoded, local commits), its HTTP bytes, and the proxy's (request arrived whole,
// forwarded after the one-way delay, the server's whole answer, the answer's first and last piece).
//
// The proxy shapes at HTTP-message granularity in user space (a request is forwarded once it arrived
// whole, one-way delay after its last byte crossed, as on a real link; the answer leaves in 1 KiB pieces
// at the link rate; a piece that follows another of the same message keeps the link's schedule, so that
// late wake-ups of its threads on a loaded machine do not add up; TCP_NODELAY on its sockets), which is close to, not the
// same as, a shaped TCP link (no slow start, no loss recovery). For deeper runs (as root), shape the kernel's path instead and run the real binaries:
//   ip netns add tablet && ip link add veth0 type veth peer name veth1 && ip link set veth1 netns tablet
//   ip addr add 10.9.0.1/24 dev veth0 && ip link set veth0 up
//   ip netns exec tablet sh -c 'ip addr add 10.9.0.2/24 dev veth1 && ip link set veth1 up && ip link set lo up'
//   tc qdisc add dev veth0 root handle 1: netem delay 150ms            # one way; the same in the netns
//   tc qdisc add dev veth0 parent 1: handle 2: tbf rate 64kbit burst 4kb latency 400ms
//   ip netns exec tablet tc qdisc add dev veth1 root handle 1: netem delay 150ms
//   ip netns exec tablet tc qdisc add dev veth1 parent 1: handle 2: tbf rate 64kbit burst 4kb latency 400ms
//   aktsyncd --config ... (listening on 10.9.0.1, behind_proxy or TLS), then in the netns:
//   ip netns exec tablet aktsync --db t.db sync      (cuts: `ip link set veth0 down; sleep 5; ... up`)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "clients/fault_proxy.hpp"
#include "clients/http_client.hpp"
#include "clients/record_gen.hpp"
#include "clients/sync_client.hpp"
#include "schema/store/tablet_store.hpp"
#include "server/auth.hpp"
#include "server/log.hpp"
#include "server/server.hpp"
#include "sync/gzip.hpp"
#include "sync/uuid.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  int records = 1000;
  std::vector<int> kbits{64, 128, 256};
  std::vector<int> rtt{300, 600};
  std::vector<int> faults{0, 1};
  int cut_every_s = 30, stall_ms = 5000;
  double stall = 0.1;
  int batch = 200, pull_limit = 500;
  std::vector<std::string> protocols{"new"};
  int runs = 1;
  int compact = 0;  // the `compact` level the new client asks for; 0 = the client's default
  int target_ms = 8000;  // the new client's target_request_time (the aktsync CLI's); 0 = fixed sizes
  std::string coding = "zstd";  // answers and uploads: zstd (the client's default) or gzip (before zstd)
  int skip_own = 1;  // the new client leaves its own records out of the feed (PROTOCOL §5.1 skip_own)
  int trace = 0;  // 1: print a timeline of each sync (client, its HTTP bytes, the proxy), ms from its start
};

// The timeline of one sync (--trace 1): events of the sync client, its HTTP client's bytes and the
// proxy's threads, in milliseconds since the sync began.
struct Trace {
  bool on = false;
  std::mutex mu;
  Clock::time_point t0 = Clock::now();
  void start() { t0 = Clock::now(); }
  void operator()(const std::string& event) {
    if (!on) return;
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    std::lock_guard lock(mu);
    std::printf("  %9.1f ms  %s\n", ms, event.c_str());
  }
};
Trace g_trace;

std::vector<int> list(const char* s) {
  std::vector<int> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::atoi(item.c_str()));
  return out;
}

struct Phase {
  double seconds = 0;
  client::TransferStats http;
  client::SyncSummary summary;
  bool ok = false;
  std::string error;
};

Phase run_sync(store::TabletStore& store, std::uint16_t port, const Options& o, bool old_protocol) {
  client::HttpOptions ho;
  ho.gzip_requests = true;
  ho.accept_zstd = ho.zstd_requests = o.coding == "zstd";
  ho.timeout = std::chrono::seconds(15);
  ho.stall_timeout = std::chrono::seconds(10);
  // Bytes of the request under way: the first and every later write, the first and the last byte read.
  std::uint64_t sent = 0, received = 0;
  if (g_trace.on)
    ho.on_bytes = [&sent, &received](std::size_t s, std::size_t r) {
      if (s > 0) g_trace("http: wrote " + std::to_string(s) + " B (request " + std::to_string(sent += s) + " B so far)");
      if (r > 0 && received == 0) g_trace("http: first answer bytes read");
      received += r;
    };
  client::HttpClient http("127.0.0.1", port, ho);
  client::SyncOptions so;
  if (g_trace.on) so.trace = [](const std::string& e) { g_trace(e); };
  so.batch_edits = static_cast<std::size_t>(o.batch);
  so.pull_limit = static_cast<std::size_t>(o.pull_limit);
  so.retry_for = std::chrono::minutes(10);
  so.backoff_initial = std::chrono::milliseconds(250);
  so.backoff_max = std::chrono::seconds(4);
  so.jitter_seed = 7;
  if (old_protocol) {
    so.compact_feed = false;
    so.pull_max_bytes = 0;
  } else {
    so.partial_answer = [&http] { return http.partial_answer(); };  // cut pages resume mid-page
    if (o.compact > 0) so.compact_level = o.compact;
    so.skip_own = o.skip_own != 0;
    so.target_request_time = std::chrono::milliseconds(o.target_ms);
  }
  // As the aktsync CLI: what an earlier exchange with the server (its enrolment) heard of zstd uploads.
  const std::string url = "127.0.0.1:" + std::to_string(port);
  if (!old_protocol && !client::recall_upload_coding(store, url, http).ok()) std::abort();
  client::Transport transport = client::http_transport(http);
  if (g_trace.on)
    transport = [&http, &sent, &received](const std::string& method, const std::string& target,
                                          const std::string& body, const client::Headers& headers) {
      sent = received = 0;
      g_trace("http: " + method + " " + target.substr(0, target.find('?')) + " " + std::to_string(body.size()) +
              " B of JSON: compressing, sending");
      auto r = http.request(method, target, body, headers);
      g_trace("http: answer read whole and decoded, " + std::to_string(received) + " B on the wire" +
              (r.ok() ? ", HTTP " + std::to_string(r->status) + ", " + std::to_string(r->body.size()) + " B"
                      : ": " + r.status().message()));
      return r;
    };
  client::SyncClient sc(store, transport, so);
  Phase p;
  g_trace.start();
  const auto t0 = Clock::now();
  auto s = sc.sync(1700000000000);
  p.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!old_protocol) (void)client::remember_upload_coding(store, url, http);
  p.http = http.stats();
  p.summary = sc.summary();
  p.ok = s.ok();
  if (!s.ok()) p.error = s.status().message();
  return p;
}

std::unique_ptr<store::TabletStore> tablet(const std::string& path, const std::string& actor, const std::string& token,
                                           std::uint16_t port) {
  auto s = store::TabletStore::open(path);
  if (!s.ok()) std::abort();
  if (!(*s)->init({actor, "127.0.0.1:" + std::to_string(port), token}, 42, 1700000000000).ok()) std::abort();
  return std::move(*s);
}

void report(const char* phase, const std::string& protocol, int kbits, int rtt, int faults, const Phase& p,
            double ideal_s, const client::FaultCounts& link, int records) {
  std::printf("%-4s %-3s %4d kbit/s %4d ms %-6s  %7.1f s  ratio %5.2f  requests %3llu (failed %llu)  up %7llu B  "
              "down %7llu B (%.0f/%.0f B/record)  re-sent %6llu B  cuts %zu stalls %zu  resumed %zu fetched %zu%s%s\n",
              phase, protocol.c_str(), kbits, rtt, faults ? "faulty" : "clean", p.seconds, p.seconds / ideal_s,
              static_cast<unsigned long long>(p.http.requests), static_cast<unsigned long long>(p.http.failed),
              static_cast<unsigned long long>(p.http.bytes_sent), static_cast<unsigned long long>(p.http.bytes_received),
              static_cast<double>(p.http.bytes_sent) / records, static_cast<double>(p.http.bytes_received) / records,
              static_cast<unsigned long long>(p.http.bytes_sent_failed), link.link_cuts, link.stalls,
              p.summary.resumed, p.summary.answers_fetched, p.ok ? "" : "  FAILED: ", p.error.c_str());
  std::fflush(stdout);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The medians of one point's runs: time, ratio, bytes per record each way, requests, bytes re-sent.
struct Runs {
  std::vector<double> seconds, up, down, requests, resent;
  void add(const Phase& p, int records) {
    seconds.push_back(p.seconds);
    up.push_back(static_cast<double>(p.http.bytes_sent) / records);
    down.push_back(static_cast<double>(p.http.bytes_received) / records);
    requests.push_back(static_cast<double>(p.http.requests));
    resent.push_back(static_cast<double>(p.http.bytes_sent_failed));
  }
  void print(const char* phase, const std::string& protocol, int kbits, int rtt, int faults, double ideal_s) const {
    std::printf("MEDIAN %-4s %-3s %4d kbit/s %4d ms %-6s  runs %zu  %7.1f s  ratio %5.2f  requests %4.0f  "
                "up %5.0f B/record  down %5.0f B/record  re-sent %6.0f B\n",
                phase, protocol.c_str(), kbits, rtt, faults ? "faulty" : "clean", seconds.size(), median(seconds),
                median(seconds) / ideal_s, median(requests), median(up), median(down), median(resent));
    std::fflush(stdout);
  }
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* v = argv[i + 1];
    if (flag == "--records") o.records = std::atoi(v);
    else if (flag == "--kbits") o.kbits = list(v);
    else if (flag == "--rtt") o.rtt = list(v);
    else if (flag == "--faults") o.faults = list(v);
    else if (flag == "--cut-every") o.cut_every_s = std::atoi(v);
    else if (flag == "--stall-ms") o.stall_ms = std::atoi(v);
    else if (flag == "--stall") o.stall = std::atof(v);
    else if (flag == "--batch") o.batch = std::atoi(v);
    else if (flag == "--pull-limit") o.pull_limit = std::atoi(v);
    else if (flag == "--runs") o.runs = std::max(1, std::atoi(v));
    else if (flag == "--compact") o.compact = std::atoi(v);
    else if (flag == "--target-ms") o.target_ms = std::atoi(v);
    else if (flag == "--coding" && (std::string(v) == "zstd" || std::string(v) == "gzip")) o.coding = v;
    else if (flag == "--skip-own") o.skip_own = std::atoi(v);
    else if (flag == "--trace") o.trace = std::atoi(v);
    else if (flag == "--protocol") {
      const std::string p = v;
      if (p == "both") o.protocols = {"old", "new"};
      else if (p == "old" || p == "new") o.protocols = {p};
      else return 2;
    } else {
      std::fprintf(stderr,
                   "usage: akt_link_bench [--records N] [--kbits 64,128,256] [--rtt 300,600] [--faults 0,1]\n"
                   "                      [--cut-every S] [--stall P] [--stall-ms MS] [--batch N] [--pull-limit N]\n"
                   "                      [--protocol new|old|both] [--runs N] [--compact 1|2] [--target-ms MS]\n"
                   "                      [--coding zstd|gzip] [--skip-own 1|0] [--trace 1]\n");
      return 2;
    }
  }
  if (o.records < 1) return 2;
  server::set_log_level("warn");
  g_trace.on = o.trace != 0;
  // The records, and their own gzip bytes: the floor any protocol is measured against.
  std::mt19937_64 rng(18);
  std::vector<client::GeneratedRecord> recs;
  std::string all_bodies;
  for (int i = 0; i < o.records; ++i) {
    recs.push_back(client::generate_survey_record(rng));
    all_bodies += recs.back().body + "\n";
  }
  const std::size_t gz = sync::gzip(all_bodies, 6).size();
  std::printf("%d records, %zu bytes of JSON bodies, %zu bytes gzipped (%.0f B/record); the client's coding: %s\n",
              o.records, all_bodies.size(), gz, static_cast<double>(gz) / o.records, o.coding.c_str());
  const std::string actor_a = "0190f5c2-7a1e-4cc0-9a4b-00000000000a", actor_b = "0190f5c2-7a1e-4cc0-9a4b-00000000000b";
  bool all_ok = true;
  for (int faults : o.faults) {
    for (int rtt : o.rtt) {
      for (int kbits : o.kbits) {
       for (const std::string& protocol : o.protocols) {
        const bool old_protocol = protocol == "old";
        Runs push_runs, pull_runs;
        double ideal = 0;
        for (int run = 0; run < o.runs; ++run) {
        test::TempDir dir;
        server::Config c;
        c.listen_port = 0;
        c.data_dir = dir.file("server");
        c.io_threads = 1;
        c.workers = 2;
        c.log_level = "warn";
        c.forms.validate = false;
        c.devices = {{actor_a, "tablet-a", server::sha256_hex("token-a")},
                     {actor_b, "tablet-b", server::sha256_hex("token-b")}};
        auto app = server::make_app_state(c);
        if (!app.ok()) return 1;
        auto srv = server::Server::start(*app);
        if (!srv.ok()) return 1;
        client::FaultOptions f;
        f.link.rate_bytes_per_s = static_cast<std::uint64_t>(kbits) * 1000 / 8;
        f.link.delay_ms = rtt / 2;
        if (g_trace.on) f.trace = [](const std::string& e) { g_trace(e); };
        if (faults) {
          f.link.cut_every_ms = o.cut_every_s * 1000;
          f.link.stall = o.stall;
          f.link.stall_ms = o.stall_ms;
        }
        auto proxy = client::FaultProxy::start((*srv)->port(), f);
        if (!proxy.ok()) return 1;
        ideal = static_cast<double>(gz) / static_cast<double>(f.link.rate_bytes_per_s);
        auto a = tablet(dir.file("a.db"), actor_a, "token-a", (*proxy)->port());
        {
          // Tablet A was enrolled on this server (aktsync init keeps the answer's zstd advertisement):
          // heard directly, off the emulated link, and kept as `init` keeps it.
          client::HttpClient direct("127.0.0.1", (*srv)->port());
          if (direct.request("GET", "/healthz").ok() && direct.server_takes_zstd() && !old_protocol)
            (void)a->set_server_takes_zstd("127.0.0.1:" + std::to_string((*proxy)->port()), true);
        }
        std::mt19937_64 ids(5);
        for (const auto& r : recs) {
          std::array<std::uint8_t, 10> random{};
          for (auto& b : random) b = static_cast<std::uint8_t>(ids());
          if (!a->create({"so1_interethnic_survey", 1, r.scope, r.body, r.changed}, 1700000000000, random).ok())
            return 1;
        }
        if (g_trace.on) std::printf("timeline of the push, %d kbit/s %d ms%s:\n", kbits, rtt, faults ? " faulty" : "");
        const auto before_push = (*proxy)->counts();
        Phase push = run_sync(*a, (*proxy)->port(), o, old_protocol);
        auto after_push = (*proxy)->counts();
        after_push.link_cuts -= before_push.link_cuts;
        after_push.stalls -= before_push.stalls;
        report("push", protocol, kbits, rtt, faults, push, ideal, after_push, o.records);
        push_runs.add(push, o.records);
        auto b = tablet(dir.file("b.db"), actor_b, "token-b", (*proxy)->port());
        {
          client::HttpClient direct("127.0.0.1", (*srv)->port());
          if (direct.request("GET", "/healthz").ok() && direct.server_takes_zstd() && !old_protocol)
            (void)b->set_server_takes_zstd("127.0.0.1:" + std::to_string((*proxy)->port()), true);
        }
        if (g_trace.on) std::printf("timeline of the pull, %d kbit/s %d ms%s:\n", kbits, rtt, faults ? " faulty" : "");
        Phase pull = run_sync(*b, (*proxy)->port(), o, old_protocol);
        auto after_pull = (*proxy)->counts();
        after_pull.link_cuts -= after_push.link_cuts + before_push.link_cuts;
        after_pull.stalls -= after_push.stalls + before_push.stalls;
        report("pull", protocol, kbits, rtt, faults, pull, ideal, after_pull, o.records);
        pull_runs.add(pull, o.records);
        all_ok = all_ok && push.ok && pull.ok && push.summary.pushed == recs.size() &&
                 pull.summary.pulled == recs.size();
        (*proxy)->stop();
        (*srv)->stop();
        }
        push_runs.print("push", protocol, kbits, rtt, faults, ideal);
        pull_runs.print("pull", protocol, kbits, rtt, faults, ideal);
       }
      }
    }
  }
  if (!all_ok) std::printf("failed: a run did not push or pull every record\n");
  return all_ok ? 0 : 1;
}

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
// --warmup N (50): before the measured runs tablet A pushes N other records and tablet B pulls them, over
// the same link (not reported), as a field tablet has synced before: the measured sync starts from the
// link rates that sync kept (--link-memory 0: the client neither keeps nor uses them). The floor printed
// is what the link alone needs: the bytes each way at the link rate and a round trip for each request
// and connection. --levels 3,6,... prints the bytes and CPU time of the push batches at those zstd levels
// (and with long-distance matching), no link; --zstd-level L forces the upload level.
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
#include <zstd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
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
#include "sync/zstd.hpp"
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
  // Records each tablet synced once before the measured runs (a field tablet's earlier sync: the link
  // rates it measured are kept in its store, and the measured sync's first requests are sized from them).
  // 0 = tablets that never synced before.
  int warmup = 50;
  int link_memory = 1;  // 0: the client neither recalls nor keeps link rates (SyncOptions::link_memory)
  int zstd_level = 0;   // the level of zstd uploads; 0 = the client's choice
  std::vector<int> levels;  // --levels: bytes and CPU of the push batches at these zstd levels, no link
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
  ho.zstd_level = o.zstd_level;
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
    if (o.link_memory == 0) so.link_memory = std::chrono::hours(0);
    so.upload_rate = [&http](double r) { http.set_upload_rate(r); };  // as the aktsync CLI
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

// What the link alone needs for a phase: its bytes each way at the link rate, and a round trip for each
// request and for the connection.
double floor_s(const Phase& p, double bytes_per_s, int rtt_ms) {
  return static_cast<double>(p.http.bytes_sent + p.http.bytes_received) / bytes_per_s +
         static_cast<double>(p.http.requests + p.http.connects) * rtt_ms / 1000.0;
}

void report(const char* phase, const std::string& protocol, int kbits, int rtt, int faults, const Phase& p,
            double ideal_s, const client::FaultCounts& link, int records) {
  const double floor = floor_s(p, kbits * 1000.0 / 8, rtt);
  std::printf("%-4s %-3s %4d kbit/s %4d ms %-6s  %7.1f s  ratio %5.2f  floor %5.2f  requests %3llu (failed %llu)  up %7llu B  "
              "down %7llu B (%.0f/%.0f B/record)  re-sent %6llu B  cuts %zu stalls %zu  resumed %zu fetched %zu%s%s\n",
              phase, protocol.c_str(), kbits, rtt, faults ? "faulty" : "clean", p.seconds, p.seconds / ideal_s,
              floor / ideal_s,
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

// The medians (min-max) of one point's runs: time, ratio, the floor's ratio, bytes per record each way,
// requests, bytes re-sent.
struct Runs {
  std::vector<double> seconds, floors, up, down, requests, resent;
  void add(const Phase& p, int records, double bytes_per_s, int rtt_ms) {
    seconds.push_back(p.seconds);
    floors.push_back(floor_s(p, bytes_per_s, rtt_ms));
    up.push_back(static_cast<double>(p.http.bytes_sent) / records);
    down.push_back(static_cast<double>(p.http.bytes_received) / records);
    requests.push_back(static_cast<double>(p.http.requests));
    resent.push_back(static_cast<double>(p.http.bytes_sent_failed));
  }
  void print(const char* phase, const std::string& protocol, int kbits, int rtt, int faults, double ideal_s) const {
    auto lo = [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); };
    auto hi = [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); };
    std::printf("MEDIAN %-4s %-3s %4d kbit/s %4d ms %-6s  runs %zu  %7.1f s  ratio %5.2f (%.2f-%.2f)  floor %5.2f  "
                "requests %4.0f (%.0f-%.0f)  up %5.0f B/record  down %5.0f B/record  re-sent %6.0f B\n",
                phase, protocol.c_str(), kbits, rtt, faults ? "faulty" : "clean", seconds.size(), median(seconds),
                median(seconds) / ideal_s, lo(seconds) / ideal_s, hi(seconds) / ideal_s, median(floors) / ideal_s,
                median(requests), lo(requests), hi(requests), median(up), median(down), median(resent));
    std::fflush(stdout);
  }
};

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// zstd with long-distance matching, its window within what aktsyncd's decoder takes (2^23, PROTOCOL §1).
std::string zstd_long(const std::string& in, int level) {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
  ZSTD_CCtx_setParameter(c, ZSTD_c_enableLongDistanceMatching, 1);
  ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, sync::kZstdWindowLogMax);
  std::string out(ZSTD_compressBound(in.size()), '\0');
  const std::size_t n = ZSTD_compress2(c, out.data(), out.size(), in.data(), in.size());
  ZSTD_freeCCtx(c);
  if (ZSTD_isError(n)) return {};
  out.resize(n);
  return out;
}

// --levels: the push batches tablet A forms for the records (one of up to 1000 edits, as a sized push
// over a known link sends them; and of 200, the first batch of a tablet that never measured its link),
// compressed at each level: bytes, bytes per record, CPU time (the median of 3), and that the server's
// decoder takes them. No server, no link.
int levels_mode(const Options& o, const std::vector<client::GeneratedRecord>& recs, std::size_t gz) {
  for (const std::size_t batch : {std::size_t{1000}, std::size_t{200}}) {
    test::TempDir dir;
    auto a = tablet(dir.file("a.db"), "0190f5c2-7a1e-4cc0-9a4b-00000000000a", "token-a", 1);
    std::mt19937_64 ids(5);
    for (const auto& r : recs) {
      std::array<std::uint8_t, 10> random{};
      for (auto& x : random) x = static_cast<std::uint8_t>(ids());
      if (!a->create({"so1_interethnic_survey", 1, r.scope, r.body, r.changed}, 1700000000000, random).ok()) return 1;
    }
    std::vector<std::string> batches;
    std::size_t json = 0;
    for (;;) {
      auto b = a->next_batch(batch);
      if (!b.ok()) return 1;
      if (!*b) break;
      sync::PushResponse resp{(*b)->batch_id, "e1", {}, true};
      for (std::size_t i = 0; i < (*b)->dots.size(); ++i) {
        sync::EditResult r;
        r.index = i;
        r.dot = (*b)->dots[i];
        r.outcome = sync::Outcome::kApplied;
        r.seq = static_cast<std::int64_t>(json + i + 1);
        r.live = 1;
        resp.results.push_back(r);
      }
      if (!a->acknowledge(**b, resp).ok()) return 1;
      json += (*b)->request.size();
      batches.push_back((*b)->request);
    }
    std::printf("push batches of up to %zu edits: %zu batches, %zu B of JSON (%.0f B/record); the records' own "
                "gzip: %zu B (%.1f B/record)\n",
                batch, batches.size(), json, static_cast<double>(json) / o.records, gz,
                static_cast<double>(gz) / o.records);
    std::size_t base = 0;
    for (const bool lng : {false, true}) {
      for (int level : o.levels) {
        std::vector<double> cpu;
        std::size_t bytes = 0;
        bool decodes = true;
        for (int run = 0; run < 3; ++run) {
          std::vector<std::string> coded;
          const double t0 = thread_cpu_ms();
          for (const auto& x : batches) coded.push_back(lng ? zstd_long(x, level) : sync::zstd(x, level));
          cpu.push_back(thread_cpu_ms() - t0);
          bytes = 0;
          for (std::size_t i = 0; i < coded.size(); ++i) {
            bytes += coded[i].size();
            auto back = sync::unzstd(coded[i], 64u << 20);
            decodes = decodes && back.ok() && *back == batches[i];
          }
        }
        if (base == 0) base = bytes;
        std::printf("  zstd -%-2d%s %8zu B  %6.1f B/record  x%.3f of the first  CPU %8.1f ms (%.2f ms/record)%s\n",
                    level, lng ? " long" : "     ", bytes, static_cast<double>(bytes) / o.records,
                    static_cast<double>(bytes) / static_cast<double>(base), median(cpu), median(cpu) / o.records,
                    decodes ? "" : "  NOT DECODED by the server's decoder");
      }
    }
  }
  return 0;
}

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
    else if (flag == "--warmup") o.warmup = std::max(0, std::atoi(v));
    else if (flag == "--link-memory") o.link_memory = std::atoi(v);
    else if (flag == "--zstd-level") o.zstd_level = std::atoi(v);
    else if (flag == "--levels") o.levels = list(v);
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
                   "                      [--coding zstd|gzip] [--skip-own 1|0] [--trace 1] [--warmup N]\n"
                   "                      [--link-memory 1|0] [--zstd-level L] [--levels 3,6,9,12,15,19]\n");
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
  if (!o.levels.empty()) return levels_mode(o, recs, gz);
  std::vector<client::GeneratedRecord> warmup;  // an earlier day's records, not those measured
  for (int i = 0; i < o.warmup; ++i) warmup.push_back(client::generate_survey_record(rng));
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
        auto b = tablet(dir.file("b.db"), actor_b, "token-b", (*proxy)->port());
        for (auto* t : {a.get(), b.get()}) {
          // Each tablet was enrolled on this server (aktsync init keeps the answer's zstd advertisement):
          // heard directly, off the emulated link, and kept as `init` keeps it.
          client::HttpClient direct("127.0.0.1", (*srv)->port());
          if (direct.request("GET", "/healthz").ok() && direct.server_takes_zstd() && !old_protocol)
            (void)t->set_server_takes_zstd("127.0.0.1:" + std::to_string((*proxy)->port()), true);
        }
        std::mt19937_64 ids(5);
        auto save = [&](const client::GeneratedRecord& r) {
          std::array<std::uint8_t, 10> random{};
          for (auto& x : random) x = static_cast<std::uint8_t>(ids());
          return a->create({"so1_interethnic_survey", 1, r.scope, r.body, r.changed}, 1700000000000, random).ok();
        };
        if (!warmup.empty()) {
          // An earlier day: A pushes its records and B pulls them, over the same link (not reported).
          const bool tracing = g_trace.on;
          g_trace.on = false;
          for (const auto& r : warmup)
            if (!save(r)) return 1;
          Phase wa = run_sync(*a, (*proxy)->port(), o, old_protocol);
          Phase wb = run_sync(*b, (*proxy)->port(), o, old_protocol);
          g_trace.on = tracing;
          if (!wa.ok || !wb.ok) {
            std::printf("warm-up failed: %s%s\n", wa.error.c_str(), wb.error.c_str());
            return 1;
          }
          if (g_trace.on)
            std::printf("warm-up: %zu records pushed in %.1f s (%llu requests), pulled in %.1f s; link rates kept: "
                        "push %zu B/s, pull %zu B/s of JSON\n",
                        warmup.size(), wa.seconds, static_cast<unsigned long long>(wa.http.requests), wb.seconds,
                        wa.summary.measured_push_rate, wb.summary.measured_pull_rate);
        }
        for (const auto& r : recs)
          if (!save(r)) return 1;
        if (g_trace.on) std::printf("timeline of the push, %d kbit/s %d ms%s:\n", kbits, rtt, faults ? " faulty" : "");
        const auto before_push = (*proxy)->counts();
        Phase push = run_sync(*a, (*proxy)->port(), o, old_protocol);
        auto after_push = (*proxy)->counts();
        after_push.link_cuts -= before_push.link_cuts;
        after_push.stalls -= before_push.stalls;
        report("push", protocol, kbits, rtt, faults, push, ideal, after_push, o.records);
        push_runs.add(push, o.records, kbits * 1000.0 / 8, rtt);
        if (g_trace.on)
          std::printf("push: first batch sized from a kept rate of %zu B/s; rate kept now %zu B/s\n",
                      push.summary.recalled_push_rate, push.summary.measured_push_rate);
        if (g_trace.on) std::printf("timeline of the pull, %d kbit/s %d ms%s:\n", kbits, rtt, faults ? " faulty" : "");
        Phase pull = run_sync(*b, (*proxy)->port(), o, old_protocol);
        auto after_pull = (*proxy)->counts();
        after_pull.link_cuts -= after_push.link_cuts + before_push.link_cuts;
        after_pull.stalls -= after_push.stalls + before_push.stalls;
        report("pull", protocol, kbits, rtt, faults, pull, ideal, after_pull, o.records);
        pull_runs.add(pull, o.records, kbits * 1000.0 / 8, rtt);
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

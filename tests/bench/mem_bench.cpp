// What aktsyncd's resident memory does as records are stored, pulled and exported (README, Memory; issue
// #21's memory row). Starts the real aktsyncd as a child process (plain HTTP on 127.0.0.1, form validation
// on, as deployed), pushes N survey records (the sync bench's generator: ~2.1 KB bodies, a `changed` list
// per create) from D devices in parallel, gzipped as the clients send them, in S steps; then pulls the
// whole feed once (gzip, the clients' page size) and exports it once as CSV. After each step and phase,
// with the server idle, it prints the server's memory: VmRSS and VmHWM, RSS split into anonymous and
// file-backed (/proc/PID/status), and from the server's /metrics the C allocator's bytes in use and freed
// but kept, and SQLite's own bytes. Not a timed test.
//
//   akt_mem_bench [--records N] [--devices D] [--batch B] [--steps S] [--limit L] [--server PATH]
//                 [--env NAME=VALUE]... [--max-growth-kib K] [--max-anon-kib K]
//     --env: set in the server's environment (e.g. MALLOC_ARENA_MAX=8 to undo server/heap.hpp's
//     setting); repeatable. With --max-growth-kib, exits 1 ("failed") when the server's anonymous RSS
//     after the last push step is more than K KiB above its value after the first; with --max-anon-kib,
//     when it is above K KiB after the last push step. CTest runs it so as a bound (mem_bound).
//     Defaults: 200000 records, 8 devices, batches of 500, 4 steps, limit 500.
//   "malloc free kept" counts free chunks whether or not their pages were given back (malloc_trim): the
//   anonymous RSS is what the system holds for them.
//
//   nice -n 10 build/rel/tests/bench/akt_mem_bench --records 1000000 --steps 10
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "clients/http_client.hpp"
#include "clients/record_gen.hpp"
#include "server/auth.hpp"
#include "sync/uuid.hpp"
#include "sync/wire_json.hpp"
#include "tests/bench/bench_support.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;
using namespace akt::bench;

namespace {

const std::string kForm = "so1_interethnic_survey";
const std::string kPw = "bench password 123";
const std::string kMetricsToken = "bench-metrics-token";

struct Options {
  int records = 200000, devices = 8, batch = 500, steps = 4, limit = 500;
  std::string server = AKTSYNCD_PATH;
  std::vector<std::string> env;
  double max_growth_kib = 0;  // no bound
  double max_anon_kib = 0;    // no bound
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The server's memory at one moment, in KiB.
struct Memory {
  long rss = 0, hwm = 0, anon = 0, file = 0, shmem = 0;
  double heap_in_use = 0, heap_free = 0, sqlite = 0;  // from /metrics; -1 when the server does not report it
};

long status_kib(const std::string& text, const char* key) {
  const std::size_t at = text.find(std::string("\n") + key);
  return at == std::string::npos ? -1 : std::atol(text.c_str() + at + 1 + std::strlen(key));
}

double metric(const std::string& text, const std::string& series) {
  const std::size_t at = text.find("\n" + series + " ");
  return at == std::string::npos ? -1.0 : std::atof(text.c_str() + at + series.size() + 2) / 1024.0;
}

Memory read_memory(pid_t pid, std::uint16_t port) {
  Memory m;
  const std::string status = "\n" + slurp("/proc/" + std::to_string(pid) + "/status");
  m.rss = status_kib(status, "VmRSS:");
  m.hwm = status_kib(status, "VmHWM:");
  m.anon = status_kib(status, "RssAnon:");
  m.file = status_kib(status, "RssFile:");
  m.shmem = status_kib(status, "RssShmem:");
  client::HttpClient cl("127.0.0.1", port);
  auto r = cl.request("GET", "/metrics", {}, {{"Authorization", "Bearer " + kMetricsToken}});
  if (!r.ok() || r->status != 200) die("metrics");
  const std::string text = "\n" + r->body;
  m.heap_in_use = metric(text, "aktsync_heap_bytes{state=\"in_use\"}");
  m.heap_free = metric(text, "aktsync_heap_bytes{state=\"free\"}");
  m.sqlite = metric(text, "aktsync_sqlite_memory_bytes");
  return m;
}

void print_memory(const char* phase, long stored, const Memory& m) {
  std::printf("%-14s %8ld records | RSS %7.1f MiB (peak %7.1f) = anon %7.1f + file %5.1f + shmem %4.1f | "
              "malloc in use %7.1f, free kept %7.1f | SQLite %5.1f MiB\n",
              phase, stored, m.rss / 1024.0, m.hwm / 1024.0, m.anon / 1024.0, m.file / 1024.0, m.shmem / 1024.0,
              m.heap_in_use / 1024.0, m.heap_free / 1024.0, m.sqlite / 1024.0);
  std::fflush(stdout);
}

// Runs the server binary with `args` and waits; its exit code.
int run_command(const std::vector<std::string>& args) {
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::pair<pid_t, std::uint16_t> start_server(const Options& o, const test::TempDir& dir) {
  std::remove(dir.file("port").c_str());
  const pid_t pid = fork();
  if (pid == 0) {
    for (const std::string& e : o.env) putenv(const_cast<char*>(e.c_str()));
    execl(o.server.c_str(), "aktsyncd", "--config", dir.file("aktsyncd.json").c_str(), "--port-file",
          dir.file("port").c_str(), "--log-level", "warn", static_cast<char*>(nullptr));
    _exit(127);
  }
  std::uint16_t port = 0;
  for (int i = 0; i < 6000 && port == 0; ++i) {  // 60 s: a loaded machine may start it slowly
    if (waitpid(pid, nullptr, WNOHANG) == pid) return {0, 0};
    std::ifstream in(dir.file("port"));
    int p = 0;
    if (in >> p) port = static_cast<std::uint16_t>(p);
    else std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return {pid, port};
}

// Pushes records [from, to) from the devices in parallel, each device its share in batches.
void push_range(std::uint16_t port, const Options& o, const std::vector<std::string>& actors, int from, int to,
                std::vector<std::int64_t>& counters) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int d = 0; d < o.devices; ++d) {
    threads.emplace_back([&, d] {
      const auto di = static_cast<std::size_t>(d);
      client::HttpOptions ho;
      ho.gzip_requests = true;  // as the tablets send
      client::HttpClient cl("127.0.0.1", port, ho);
      const std::vector<std::pair<std::string, std::string>> h{
          {"Authorization", "Bearer device-token-" + std::to_string(d)}, {"Content-Type", "application/json"}};
      std::mt19937_64 rng(static_cast<std::uint64_t>(from) * 131 + di);
      const std::uint64_t t0 = 1700000000000;
      // Device d takes the records i of [from, to) with i % devices == d.
      int i = from + ((d - from % o.devices) + o.devices) % o.devices;
      while (i < to) {
        sync::PushRequest req{"b-" + std::to_string(d) + "-" + std::to_string(i), {}};
        for (int k = 0; k < o.batch && i < to; ++k, i += o.devices) {
          client::GeneratedRecord g = client::generate_survey_record(rng);
          sync::Edit e;
          e.record_id = client::new_record_id(t0 + static_cast<std::uint64_t>(i), rng);
          e.form_id = kForm;
          e.form_version = 1;
          e.scope = g.scope;
          e.dot = {actors[di], ++counters[di]};
          e.changed = g.changed;
          e.body = g.body;
          e.device_time = static_cast<std::int64_t>(t0) + i;
          req.edits.push_back(std::move(e));
        }
        auto r = cl.request("POST", "/v1/push", sync::encode_push_request(req), h);
        if (!r.ok() || r->status != 200 || r->body.find("\"rejected\"") != std::string::npos) {
          if (failures++ == 0)
            std::fprintf(stderr, "push: %s\n",
                         r.ok() ? (std::to_string(r->status) + " " + r->body.substr(0, 300)).c_str()
                                : r.status().message().c_str());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  if (failures) die(std::to_string(failures.load()) + " push requests failed");
}

std::size_t pull_all(std::uint16_t port, const std::string& token, int limit) {
  client::HttpClient cl("127.0.0.1", port);  // gzip answers, as the tablets ask
  const std::vector<std::pair<std::string, std::string>> h{{"Authorization", "Bearer " + token}};
  std::string cursor;
  std::size_t pulled = 0;
  for (;;) {
    auto r = cl.request("GET", "/v1/changes?limit=" + std::to_string(limit) + "&since=" + cursor, {}, h);
    if (!r.ok() || r->status != 200) die("pull");
    const std::string& b = r->body;
    for (std::size_t p = b.find("{\"record\":"); p != std::string::npos; p = b.find("{\"record\":", p + 1)) ++pulled;
    const std::size_t next = b.rfind("\"next\":\"");
    cursor = b.substr(next + 8, b.find('"', next + 8) - (next + 8));
    if (b.find("\"more\":true", b.size() - 16) == std::string::npos) return pulled;
  }
}

// Lets the server settle (answers sent, threads back in their pools, one heap trim: server/heap.hpp)
// before memory is read.
void settle() { std::this_thread::sleep_for(std::chrono::milliseconds(2500)); }

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], v = argv[i + 1];
    if (flag == "--records") o.records = std::atoi(v.c_str());
    else if (flag == "--devices") o.devices = std::atoi(v.c_str());
    else if (flag == "--batch") o.batch = std::atoi(v.c_str());
    else if (flag == "--steps") o.steps = std::atoi(v.c_str());
    else if (flag == "--limit") o.limit = std::atoi(v.c_str());
    else if (flag == "--server") o.server = v;
    else if (flag == "--env") o.env.push_back(v);
    else if (flag == "--max-growth-kib") o.max_growth_kib = std::atof(v.c_str());
    else if (flag == "--max-anon-kib") o.max_anon_kib = std::atof(v.c_str());
    else {
      std::fprintf(stderr,
                   "usage: akt_mem_bench [--records N] [--devices D] [--batch B] [--steps S] [--limit L]\n"
                   "                     [--server PATH] [--env NAME=VALUE]... [--max-growth-kib K]\n"
                   "                     [--max-anon-kib K]\n");
      return 2;
    }
  }
  if (o.records < 1 || o.devices < 1 || o.batch < 1 || o.steps < 1 || o.limit < 1) return 2;
  test::TempDir dir;
  std::vector<std::string> actors;
  nlohmann::json devices = nlohmann::json::array();
  std::mt19937_64 rng(7);
  for (int d = 0; d < o.devices; ++d) {
    std::array<std::uint8_t, 16> r{};
    for (auto& b : r) b = static_cast<std::uint8_t>(rng());
    actors.push_back(sync::format_uuid(sync::make_uuid_v4(r)));
    devices.push_back({{"actor", actors.back()},
                       {"name", "bench-" + std::to_string(d)},
                       {"token_sha256", server::sha256_hex("device-token-" + std::to_string(d))}});
  }
  const nlohmann::json config = {
      {"listen", "127.0.0.1:0"},
      {"data_dir", dir.file("data")},
      {"metrics_token_sha256", server::sha256_hex(kMetricsToken)},
      {"accounts", {{"password_kdf_n", 1024}}},
      {"limits", {{"requests_per_minute", 1000000}, {"request_burst", 1000000}}},
      {"devices", devices}};
  std::ofstream(dir.file("aktsyncd.json")) << config.dump();
  std::ofstream(dir.file("pw")) << kPw << "\n";
  if (run_command({o.server, "--config", dir.file("aktsyncd.json"), "--log-level", "warn", "--create-user", "admin",
                   "--role", "admin", "--password-file", dir.file("pw")}) != 0)
    die("create the admin");

  auto [pid, port] = start_server(o, dir);
  if (port == 0) die("aktsyncd did not start");
  const pid_t server_pid = pid;
  auto stop = [&] {
    kill(server_pid, SIGTERM);
    waitpid(server_pid, nullptr, 0);
  };
  std::printf("aktsyncd pid %d: %d records (~2.1 KB bodies) from %d devices in batches of %d (gzip), %d steps; "
              "pull limit %d%s\n",
              static_cast<int>(pid), o.records, o.devices, o.batch, o.steps, o.limit,
              o.env.empty() ? "" : "; environment:");
  for (const std::string& e : o.env) std::printf("  %s\n", e.c_str());

  client::HttpClient cl("127.0.0.1", port);
  auto login = cl.request("POST", "/v1/login", nlohmann::json{{"username", "admin"}, {"password", kPw}}.dump(),
                          {{"Content-Type", "application/json"}});
  if (!login.ok() || login->status != 200) {
    stop();
    die("login");
  }
  const std::string admin = nlohmann::json::parse(login->body)["token"].get<std::string>();
  const std::vector<std::pair<std::string, std::string>> h{{"Authorization", "Bearer " + admin},
                                                           {"Content-Type", "application/json"}};
  const std::string form = slurp(std::string(AKT_SOURCE_DIR) + "/schema/forms/programme/" + kForm + ".json");
  auto up = cl.request("POST", "/v1/admin/forms", form, h);
  auto pub = cl.request("POST", "/v1/admin/forms/" + kForm + "/1/publish", "{}", h);
  if (!up.ok() || up->status != 201 || !pub.ok() || pub->status != 200) {
    stop();
    die("form upload");
  }
  settle();
  print_memory("idle", 0, read_memory(pid, port));

  std::vector<std::int64_t> counters(static_cast<std::size_t>(o.devices), 0);
  std::vector<Memory> after_step;
  for (int s = 1; s <= o.steps; ++s) {
    const int from = static_cast<int>(static_cast<long long>(o.records) * (s - 1) / o.steps);
    const int to = static_cast<int>(static_cast<long long>(o.records) * s / o.steps);
    const auto t = Clock::now();
    push_range(port, o, actors, from, to, counters);
    const double rate = (to - from) / seconds_since(t);
    settle();
    after_step.push_back(read_memory(pid, port));
    char label[32];
    std::snprintf(label, sizeof label, "push %d/%d", s, o.steps);
    print_memory(label, to, after_step.back());
    std::printf("               (%.0f rec/s)\n", rate);
  }
  const std::size_t pulled = pull_all(port, "device-token-0", o.limit);
  if (pulled != static_cast<std::size_t>(o.records)) {
    stop();
    die("pulled " + std::to_string(pulled) + " of " + std::to_string(o.records));
  }
  settle();
  print_memory("after pull", o.records, read_memory(pid, port));
  const Fetched csv = fetch_chunked(port, "/v1/exports/" + kForm + "?format=csv", admin);
  if (!csv.complete || csv.lines < static_cast<std::size_t>(o.records)) {
    stop();
    die("export incomplete");
  }
  settle();
  print_memory("after export", o.records, read_memory(pid, port));
  stop();

  int rc = 0;
  if (o.steps >= 2) {
    const double growth = static_cast<double>(after_step.back().anon - after_step.front().anon);
    const double records = static_cast<double>(o.records) * (o.steps - 1) / o.steps;
    std::printf("anonymous RSS after the last push step minus after the first: %.0f KiB over %.0f records "
                "(%.2f KiB per 1000 records)\n",
                growth, records, growth / records * 1000.0);
    if (o.max_growth_kib > 0 && growth > o.max_growth_kib) {
      std::printf("failed: the server's anonymous memory grew by %.0f KiB, above the bound of %.0f KiB\n", growth,
                  o.max_growth_kib);
      rc = 1;
    }
  }
  const double anon = static_cast<double>(after_step.back().anon);
  if (o.max_anon_kib > 0 && anon > o.max_anon_kib) {
    std::printf("failed: the server's anonymous memory after the pushes is %.0f KiB, above the bound of %.0f KiB\n",
                anon, o.max_anon_kib);
    rc = 1;
  }
  return rc;
}

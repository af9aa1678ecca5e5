// Benchmark of M&E exports: N survey records (the sync bench's generator) stored through the store
// API, then exported over HTTP from an in-process aktsyncd on 127.0.0.1 as CSV and as JSON Lines
// (streamed, chunked, no gzip: loopback), the client decoding the chunks and discarding the data.
// In the same run, interleaved, on the same rows copied into a plain SQLite table (seq, id, scope, body):
//   - read-splice ceiling: keyset pages of 5000 rows, each stored body spliced verbatim into a page of
//     text after its seq; no parse (as akt_sync_bench's pull ceiling). The ratio export / this ceiling
//     is the figure the issue tracks.
//   - in-process exporter over the plain table, no server: "text" hands each body to the exporter as
//     stored text (the server's path), "dom" parses it with nlohmann first (the path before the text
//     flattener). This was the earlier "raw ceiling" (EXPORTS.md §9), which already contained the whole
//     export engine: HTTP / that figure only measured the server's overhead around the engine.
// Each figure also gets the CPU seconds the process used per wall second (cores busy). With --runs,
// medians with min-max.
//
//   build/release/tests/bench/akt_export_bench --records 20000 --runs 5
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <malloc.h>
#include <random>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "clients/http_client.hpp"
#include "clients/record_gen.hpp"
#include "schema/export/csv_writer.hpp"
#include "schema/export/exporter.hpp"
#include "schema/export/jsonl_writer.hpp"
#include "schema/forms/form_def.hpp"
#include "schema/store/accounts_store.hpp"
#include "schema/store/db.hpp"
#include "schema/store/server_store.hpp"
#include "schema/store/store_tx.hpp"
#include "server/log.hpp"
#include "server/password.hpp"
#include "server/server.hpp"
#include "sync/uuid.hpp"
#include "tests/bench/bench_support.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;
using namespace akt::bench;

namespace {

const std::string kForm = "so1_interethnic_survey";
const std::string kPw = "bench password 123";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Figures {
  double http_csv = 0, http_jsonl = 0, splice = 0, text_csv = 0, text_jsonl = 0, dom_csv = 0, dom_jsonl = 0;
  double cores_http_csv = 0, cores_http_jsonl = 0, cores_text_csv = 0;
};

// What holds this process's memory: resident and peak (kernel), malloc in use and free-but-kept (glibc),
// SQLite's own allocations (page caches, statements) now and at most.
void print_memory(const char* when) {
  std::ifstream status("/proc/self/status");
  std::string line;
  long rss = 0, hwm = 0;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) rss = std::stol(line.substr(6));
    if (line.rfind("VmHWM:", 0) == 0) hwm = std::stol(line.substr(6));
  }
  const struct mallinfo2 m = mallinfo2();
  std::printf("memory %s: RSS %.1f MiB (peak %.1f); malloc in use %.1f MiB, free kept %.1f MiB, mmapped %.1f MiB; "
              "SQLite %.1f MiB (peak %.1f)\n",
              when, static_cast<double>(rss) / 1024, static_cast<double>(hwm) / 1024,
              static_cast<double>(m.uordblks) / (1 << 20), static_cast<double>(m.fordblks) / (1 << 20),
              static_cast<double>(m.hblkhd) / (1 << 20), static_cast<double>(sqlite3_memory_used()) / (1 << 20),
              static_cast<double>(sqlite3_memory_highwater(0)) / (1 << 20));
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct Setup {
  test::TempDir dir;
  std::shared_ptr<server::AppState> app;
  std::unique_ptr<server::Server> srv;
  std::string token;
  std::vector<client::GeneratedRecord> records;
  std::vector<std::string> ids;
};

void prepare(Setup& s, int n) {
  server::Config c;
  c.listen_address = "127.0.0.1";
  c.listen_port = 0;
  c.data_dir = s.dir.file("server");
  c.io_threads = 2;
  c.workers = 4;
  c.log_level = "warn";
  c.accounts.password_kdf_n = 1024;
  auto app = server::make_app_state(c);
  if (!app.ok()) die("app state: " + app.status().message());
  s.app = *app;
  auto srv = server::Server::start(s.app);
  if (!srv.ok()) die("server start");
  s.srv = std::move(*srv);
  store::User u;
  u.username = "admin";
  u.role = sync::Role::kAdmin;
  u.password_hash = server::hash_password(kPw, {1024, 8, 1});
  u.created_at = 1;
  if (!s.app->store->update([&](store::StoreWriter& tx) { return tx.insert_user(u).status(); }).ok())
    die("user");
  client::HttpClient cl("127.0.0.1", s.srv->port());
  auto login = cl.request("POST", "/v1/login", nlohmann::json{{"username", "admin"}, {"password", kPw}}.dump(),
                          {{"Content-Type", "application/json"}});
  if (!login.ok() || login->status != 200) die("login");
  s.token = nlohmann::json::parse(login->body)["token"].get<std::string>();
  const std::vector<std::pair<std::string, std::string>> h{{"Authorization", "Bearer " + s.token},
                                                           {"Content-Type", "application/json"}};
  auto up = cl.request("POST", "/v1/admin/forms",
                       slurp(std::string(AKT_SOURCE_DIR) + "/schema/forms/programme/" + kForm + ".json"), h);
  if (!up.ok() || up->status != 201) die("form upload");
  if (cl.request("POST", "/v1/admin/forms/" + kForm + "/1/publish", "{}", h)->status != 200) die("publish");

  std::mt19937_64 rng(7);
  const std::string actor = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
  for (int done = 0, b = 0; done < n; ++b) {
    sync::PushRequest req{"bulk-" + std::to_string(b), {}};
    for (int i = 0; i < 5000 && done < n; ++i, ++done) {
      client::GeneratedRecord g = client::generate_survey_record(rng);
      sync::Edit e;
      e.record_id = client::new_record_id(1700000000000 + static_cast<std::uint64_t>(done), rng);
      e.form_id = kForm;
      e.form_version = 1;
      e.scope = g.scope;
      e.dot = {actor, done + 1};
      e.changed = g.changed;
      e.body = g.body;
      e.device_time = 1700000000000 + done;
      s.ids.push_back(e.record_id);
      s.records.push_back(g);
      req.edits.push_back(std::move(e));
    }
    store::PushInput in{actor, &req, 1700000000000 + b};
    auto r = s.app->store->push(in);
    if (!r.ok()) die("push: " + r.status().message());
  }
}

// The exporter in-process over the plain table: bodies as text (the server's path) or parsed with
// nlohmann first (the path before). Returns records/s; `cores` gets CPU seconds per wall second.
double in_process(Setup& s, store::Db& db, const std::string& format, bool as_text, double& cores) {
  auto versions = s.app->forms.versions_of(kForm);
  std::vector<const forms::FormDef*> defs;
  for (const auto& v : versions) defs.push_back(v.get());
  exports::ExportOptions opt;
  opt.role = sync::Role::kAdmin;
  opt.pseudonym_key = s.app->store->server_actor();
  auto exporter = exports::FormExporter::create(defs, opt);
  if (!exporter.ok()) die("exporter");
  std::size_t bytes = 0;
  exports::Sink sink = [&](std::string_view d) { bytes += d.size(); };
  std::unique_ptr<exports::ExportWriter> writer;
  if (format == "csv") writer = std::make_unique<exports::CsvWriter>(sink);
  else writer = std::make_unique<exports::JsonlWriter>(sink);
  const auto t = Clock::now();
  const double c0 = cpu_seconds();
  auto stmt = db.stmt("SELECT id, municipality, community, component, seq, body FROM raw ORDER BY seq");
  if (!stmt.ok()) die("select");
  store::StmtGuard g(**stmt);
  bool first = true;
  exports::OpenPass open = [&]() -> exports::RecordPass {
    if (!first) die("second pass");
    first = false;
    return [&](exports::ExportRecord& r) -> bool {
      auto row = g->step();
      if (!row.ok() || !*row) return false;
      r.record_id = std::string(g->text(0));
      r.form_id = kForm;
      r.form_version = 1;
      r.scope.municipality = std::string(g->text(1));
      r.scope.community = std::string(g->text(2));
      r.scope.component = std::string(g->text(3));
      r.seq = g->int64(4);
      r.server_time_ms = 1700000000000;
      if (as_text) r.body_text.assign(g->text(5));
      else r.body = nlohmann::json::parse(g->text(5));
      return true;
    };
  };
  if (!exporter->run(open, *writer).ok()) die("in-process export");
  const double secs = seconds_since(t);
  cores = (cpu_seconds() - c0) / secs;
  return static_cast<double>(s.ids.size()) / secs;
}

// The read-splice ceiling: keyset pages of 5000 rows, each body spliced verbatim after its seq.
double splice_ceiling(Setup& s, store::Db& db) {
  auto stmt = db.stmt("SELECT seq, body FROM raw WHERE seq > ?1 ORDER BY seq LIMIT ?2");
  if (!stmt.ok()) die("select");
  constexpr std::int64_t kLimit = 5000;
  std::string page;
  std::size_t rows = 0;
  std::int64_t after = 0;
  const auto t = Clock::now();
  for (;;) {
    store::StmtGuard g(**stmt);
    g->bind(1, after);
    g->bind(2, kLimit);
    page.assign("{\"changes\":[");
    std::int64_t in_page = 0;
    for (;;) {
      auto row = g->step();
      if (!row.ok()) die("splice read");
      if (!*row) break;
      after = g->int64(0);
      if (in_page++) page.push_back(',');
      page += "{\"seq\":";
      page += std::to_string(after);
      page += ",\"body\":";
      page.append(g->text(1));
      page.push_back('}');
    }
    page += "]}";
    rows += static_cast<std::size_t>(in_page);
    if (in_page < kLimit) break;
  }
  const double rate = static_cast<double>(rows) / seconds_since(t);
  if (rows != s.ids.size()) die("read-splice read " + std::to_string(rows) + " rows");
  return rate;
}

double http_export(Setup& s, const std::string& format, double& cores) {
  const std::size_t n = s.ids.size();
  const auto t = Clock::now();
  const double c0 = cpu_seconds();
  Fetched got = fetch_chunked(s.srv->port(), "/v1/exports/" + kForm + "?format=" + format, s.token);
  const double secs = seconds_since(t);
  cores = (cpu_seconds() - c0) / secs;
  if (!got.complete) die("truncated export");
  if (got.lines < n) die("missing rows in " + format);
  return static_cast<double>(n) / secs;
}

// One round; the order of the figures rotates from round to round so that none always runs first.
Figures run_once(Setup& s, store::Db& raw, int round) {
  Figures f;
  double unused = 0;
  const std::vector<std::function<void()>> steps = {
      [&] { f.splice = splice_ceiling(s, raw); },
      [&] { f.http_csv = http_export(s, "csv", f.cores_http_csv); },
      [&] { f.http_jsonl = http_export(s, "jsonl", f.cores_http_jsonl); },
      [&] { f.text_csv = in_process(s, raw, "csv", true, f.cores_text_csv); },
      [&] { f.text_jsonl = in_process(s, raw, "jsonl", true, unused); },
      [&] { f.dom_csv = in_process(s, raw, "csv", false, unused); },
      [&] { f.dom_jsonl = in_process(s, raw, "jsonl", false, unused); },
  };
  for (std::size_t i = 0; i < steps.size(); ++i) steps[(i + static_cast<std::size_t>(round)) % steps.size()]();
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  int records = 200000, runs = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (flag == "--records") records = v;
    else if (flag == "--runs") runs = v;
    else {
      std::fprintf(stderr, "usage: akt_export_bench [--records N] [--runs N]\n");
      return 2;
    }
  }
  if (records < 1 || runs < 1) return 2;
  server::set_log_level("warn");
  Setup s;
  auto t = Clock::now();
  prepare(s, records);
  std::printf("stored %d records in %.1f s\n", records, seconds_since(t));
  // The same rows, one per record, in a plain table for the ceiling.
  store::DbOptions dbo;
  auto db = store::Db::open(s.dir.file("raw.db"), dbo);
  if (!db.ok()) die("raw db");
  (*db)->exec("CREATE TABLE raw(seq INTEGER PRIMARY KEY, id TEXT NOT NULL, municipality TEXT, community TEXT, "
              "component TEXT, body TEXT NOT NULL)");
  (*db)->exec("BEGIN IMMEDIATE");
  {
    auto ins = (*db)->stmt("INSERT INTO raw(seq, id, municipality, community, component, body) VALUES(?1,?2,?3,?4,?5,?6)");
    for (std::size_t i = 0; i < s.ids.size(); ++i) {
      store::StmtGuard g(**ins);
      g->bind(1, static_cast<std::int64_t>(i + 1));
      g->bind(2, s.ids[i]);
      g->bind(3, s.records[i].scope.municipality);
      g->bind(4, s.records[i].scope.community);
      g->bind(5, s.records[i].scope.component);
      g->bind(6, s.records[i].body);
      (void)g->run();
    }
  }
  (*db)->exec("COMMIT");
  print_memory("before the exports (the bench's own copy of the records included)");
  std::vector<Figures> all;
  for (int r = 0; r < runs; ++r) {
    Figures f = run_once(s, **db, r);
    std::printf("run %d: read-splice %.0f rec/s | http csv %.0f (%.2f cores), jsonl %.0f (%.2f cores) | "
                "in-process text csv %.0f (%.2f cores), jsonl %.0f | dom csv %.0f, jsonl %.0f\n",
                r + 1, f.splice, f.http_csv, f.cores_http_csv, f.http_jsonl, f.cores_http_jsonl, f.text_csv,
                f.cores_text_csv, f.text_jsonl, f.dom_csv, f.dom_jsonl);
    std::fflush(stdout);
    all.push_back(f);
  }
  auto col = [&](auto get) {
    std::vector<double> v;
    for (const Figures& f : all) v.push_back(get(f));
    return v;
  };
  std::printf("%d records, medians of %d runs (min-max):\n", records, runs);
  std::printf("  read-splice ceiling      %s rec/s\n", spread(col([](const Figures& f) { return f.splice; })).c_str());
  std::printf("  http csv                 %s rec/s; / ceiling %s; cores %s\n",
              spread(col([](const Figures& f) { return f.http_csv; })).c_str(),
              spread(col([](const Figures& f) { return f.http_csv / f.splice; }), "%.3f").c_str(),
              spread(col([](const Figures& f) { return f.cores_http_csv; }), "%.2f").c_str());
  std::printf("  http jsonl               %s rec/s; / ceiling %s; cores %s\n",
              spread(col([](const Figures& f) { return f.http_jsonl; })).c_str(),
              spread(col([](const Figures& f) { return f.http_jsonl / f.splice; }), "%.3f").c_str(),
              spread(col([](const Figures& f) { return f.cores_http_jsonl; }), "%.2f").c_str());
  std::printf("  in-process text csv      %s rec/s; jsonl %s; cores (csv) %s\n",
              spread(col([](const Figures& f) { return f.text_csv; })).c_str(),
              spread(col([](const Figures& f) { return f.text_jsonl; })).c_str(),
              spread(col([](const Figures& f) { return f.cores_text_csv; }), "%.2f").c_str());
  std::printf("  in-process dom csv       %s rec/s; jsonl %s\n",
              spread(col([](const Figures& f) { return f.dom_csv; })).c_str(),
              spread(col([](const Figures& f) { return f.dom_jsonl; })).c_str());
  std::printf("  http / in-process dom (the earlier ratio): csv %s, jsonl %s\n",
              spread(col([](const Figures& f) { return f.http_csv / f.dom_csv; }), "%.2f").c_str(),
              spread(col([](const Figures& f) { return f.http_jsonl / f.dom_jsonl; }), "%.2f").c_str());
  print_memory("after the exports");
  malloc_trim(0);
  print_memory("after malloc_trim(0)");
  s.srv->stop();
  return 0;
}

// Benchmark of M&E exports (issue 6): N survey records (the sync bench's generator) stored through the
// store API, then exported over HTTP from an in-process aktsyncd on 127.0.0.1 as CSV and as JSON Lines
// (streamed, chunked, no gzip: loopback), the client decoding the chunks and discarding the data.
// In the same run, the raw ceiling: the same rows in a plain SQLite table (id, scope, body), scanned
// in one SELECT, each body parsed and serialised by the same exporter and writer into a buffer, no
// server and no change-feed machinery. Prints records/s and the ratio HTTP / raw; with --runs, medians.
//
//   build/release/tests/bench/akt_export_bench --records 200000 --runs 3
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
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
  double http_csv = 0, http_jsonl = 0, raw_csv = 0, raw_jsonl = 0;
};

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
  if (!s.app->store->write([&](store::Db& db, std::int64_t&) { return store::insert_user(db, u).status(); }).ok())
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

// The raw ceiling for one format: one SELECT over a plain table, the same exporter and writer.
double raw_ceiling(Setup& s, store::Db& db, const std::string& format, std::size_t& bytes_out) {
  auto versions = s.app->forms.versions_of(kForm);
  std::vector<const forms::FormDef*> defs;
  for (const auto& v : versions) defs.push_back(v.get());
  exports::ExportOptions opt;
  opt.role = sync::Role::kAdmin;
  opt.pseudonym_key = s.app->store->server_actor();
  auto exporter = exports::FormExporter::create(defs, opt);
  if (!exporter.ok()) die("exporter");
  std::size_t bytes = 0;
  std::string sink_buf;
  exports::Sink sink = [&](std::string_view d) {
    sink_buf.assign(d);  // "write to a buffer"
    bytes += d.size();
  };
  std::unique_ptr<exports::ExportWriter> writer;
  if (format == "csv") writer = std::make_unique<exports::CsvWriter>(sink);
  else writer = std::make_unique<exports::JsonlWriter>(sink);
  const auto t = Clock::now();
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
      r.body = nlohmann::json::parse(g->text(5));
      return true;
    };
  };
  if (!exporter->run(open, *writer).ok()) die("raw export");
  const double secs = seconds_since(t);
  bytes_out = bytes;
  return static_cast<double>(s.ids.size()) / secs;
}

Figures run_once(Setup& s, store::Db& raw) {
  Figures f;
  const std::size_t n = s.ids.size();
  for (const std::string format : {"csv", "jsonl"}) {
    const auto t = Clock::now();
    Fetched got = fetch_chunked(s.srv->port(), "/v1/exports/" + kForm + "?format=" + format, s.token);
    const double rate = static_cast<double>(n) / seconds_since(t);
    if (!got.complete) die("truncated export");
    if (got.lines < n) die("missing rows in " + format);
    std::size_t raw_bytes = 0;
    const double ceiling = raw_ceiling(s, raw, format, raw_bytes);
    std::printf("  %s: http %.0f rec/s (%.1f MB), raw %.0f rec/s (%.1f MB)\n", format.c_str(), rate,
                static_cast<double>(got.bytes) / 1e6, ceiling, static_cast<double>(raw_bytes) / 1e6);
    (format == "csv" ? f.http_csv : f.http_jsonl) = rate;
    (format == "csv" ? f.raw_csv : f.raw_jsonl) = ceiling;
  }
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
  std::vector<double> csv, jsonl, rcsv, rjsonl;
  for (int r = 0; r < runs; ++r) {
    std::printf("run %d:\n", r + 1);
    Figures f = run_once(s, **db);
    std::printf("run %d: csv %.0f rec/s (raw %.0f, ratio %.2f), jsonl %.0f rec/s (raw %.0f, ratio %.2f)\n", r + 1,
                f.http_csv, f.raw_csv, f.http_csv / f.raw_csv, f.http_jsonl, f.raw_jsonl, f.http_jsonl / f.raw_jsonl);
    std::fflush(stdout);
    csv.push_back(f.http_csv);
    jsonl.push_back(f.http_jsonl);
    rcsv.push_back(f.raw_csv);
    rjsonl.push_back(f.raw_jsonl);
  }
  std::vector<double> ratio_csv, ratio_jsonl;
  for (int r = 0; r < runs; ++r) {
    ratio_csv.push_back(csv[static_cast<std::size_t>(r)] / rcsv[static_cast<std::size_t>(r)]);
    ratio_jsonl.push_back(jsonl[static_cast<std::size_t>(r)] / rjsonl[static_cast<std::size_t>(r)]);
  }
  std::printf("median of %d: csv %.0f rec/s, raw %.0f rec/s, ratio %.2f; jsonl %.0f rec/s, raw %.0f rec/s, ratio %.2f\n",
              runs, median(csv), median(rcsv), median(ratio_csv), median(jsonl), median(rjsonl), median(ratio_jsonl));
  s.srv->stop();
  return 0;
}

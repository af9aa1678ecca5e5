// The export engine alone against the read-splice ceiling, without server or HTTP (akt_export_bench
// measures those too; this one builds from akt_export alone). N survey records (the sync bench's
// generator) in a plain SQLite table (seq, id, scope, body); per round, interleaved and rotated:
//   - read-splice ceiling: keyset pages of 5000 rows, each body spliced verbatim after its seq;
//   - text: the exporter over the same scan, bodies handed on as stored text (the server's path);
//   - dom: the same with each body parsed by nlohmann first (the path before the text flattener).
// CSV and JSON Lines, admin and M&E officer. Medians with min-max.
//
//   build/release/tests/bench/akt_export_engine_bench --records 20000 --runs 5
#include <sqlite3.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "clients/record_gen.hpp"
#include "schema/export/csv_writer.hpp"
#include "schema/export/exporter.hpp"
#include "schema/export/jsonl_writer.hpp"
#include "schema/forms/form_parser.hpp"
#include "tests/bench/bench_support.hpp"

using namespace akt;
using namespace akt::bench;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Raw {
  sqlite3* db = nullptr;
  std::size_t rows = 0;
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) die(sqlite3_errmsg(db));
    return s;
  }
};

double splice(Raw& raw) {
  sqlite3_stmt* s = raw.prepare("SELECT seq, body FROM raw WHERE seq > ?1 ORDER BY seq LIMIT 5000");
  std::string page;
  std::size_t rows = 0;
  sqlite3_int64 after = 0;
  const auto t = Clock::now();
  for (;;) {
    sqlite3_bind_int64(s, 1, after);
    page.assign("{\"changes\":[");
    std::size_t in_page = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
      after = sqlite3_column_int64(s, 0);
      if (in_page++) page.push_back(',');
      page += "{\"seq\":";
      page += std::to_string(after);
      page += ",\"body\":";
      page.append(reinterpret_cast<const char*>(sqlite3_column_text(s, 1)),
                  static_cast<std::size_t>(sqlite3_column_bytes(s, 1)));
      page.push_back('}');
    }
    sqlite3_reset(s);
    page += "]}";
    rows += in_page;
    if (in_page < 5000) break;
  }
  const double rate = static_cast<double>(rows) / seconds_since(t);
  sqlite3_finalize(s);
  if (rows != raw.rows) die("splice rows");
  return rate;
}

double engine(Raw& raw, const forms::FormDef& form, sync::Role role, bool jsonl, bool as_text) {
  const forms::FormDef* defs[] = {&form};
  exports::ExportOptions opt;
  opt.role = role;
  opt.pseudonym_key = "bench-key";
  auto exporter = exports::FormExporter::create(defs, opt);
  if (!exporter.ok()) die("exporter");
  std::size_t bytes = 0;
  exports::Sink sink = [&](std::string_view d) { bytes += d.size(); };
  std::unique_ptr<exports::ExportWriter> writer;
  if (jsonl) writer = std::make_unique<exports::JsonlWriter>(sink);
  else writer = std::make_unique<exports::CsvWriter>(sink);
  sqlite3_stmt* s = raw.prepare("SELECT id, municipality, community, component, seq, body FROM raw ORDER BY seq");
  auto text = [s](int c) {
    return std::string_view(reinterpret_cast<const char*>(sqlite3_column_text(s, c)),
                            static_cast<std::size_t>(sqlite3_column_bytes(s, c)));
  };
  std::size_t rows = 0;
  const auto t = Clock::now();
  exports::OpenPass open = [&]() -> exports::RecordPass {
    return [&](exports::ExportRecord& r) -> bool {
      if (sqlite3_step(s) != SQLITE_ROW) return false;
      ++rows;
      r.record_id.assign(text(0));
      r.form_id = form.form_id;
      r.form_version = 1;
      r.scope.municipality.assign(text(1));
      r.scope.community.assign(text(2));
      r.scope.component.assign(text(3));
      r.seq = sqlite3_column_int64(s, 4);
      r.server_time_ms = 1700000000000;
      if (as_text) r.body_text.assign(text(5));
      else r.body = nlohmann::json::parse(text(5));
      return true;
    };
  };
  if (!exporter->run(open, *writer).ok()) die("export");
  const double rate = static_cast<double>(rows) / seconds_since(t);
  sqlite3_finalize(s);
  if (rows != raw.rows || bytes == 0) die("export rows");
  return rate;
}

}  // namespace

int main(int argc, char** argv) {
  int records = 20000, runs = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--records") records = std::atoi(argv[i + 1]);
    else if (flag == "--runs") runs = std::atoi(argv[i + 1]);
    else die("usage: akt_export_engine_bench [--records N] [--runs N]");
  }
  auto form = forms::parse_form(slurp(std::string(AKT_SOURCE_DIR) + "/schema/forms/programme/so1_interethnic_survey.json"));
  if (!form.ok()) die("form");
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("akt_export_engine_bench_" + std::to_string(::getpid()) + ".db")).string();
  Raw raw;
  if (sqlite3_open(path.c_str(), &raw.db) != SQLITE_OK) die("open");
  sqlite3_exec(raw.db, "PRAGMA journal_mode=WAL; CREATE TABLE raw(seq INTEGER PRIMARY KEY, id TEXT, municipality TEXT, "
               "community TEXT, component TEXT, body TEXT); BEGIN", nullptr, nullptr, nullptr);
  std::mt19937_64 rng(7);
  std::size_t body_bytes = 0;
  {
    sqlite3_stmt* ins = raw.prepare("INSERT INTO raw VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
    for (int i = 0; i < records; ++i) {
      client::GeneratedRecord g = client::generate_survey_record(rng);
      const std::string id = "0190a1b2-c3d4-7e5f-8a9b-" + std::to_string(100000000000 + i);
      sqlite3_bind_int64(ins, 1, i + 1);
      sqlite3_bind_text(ins, 2, id.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(ins, 3, g.scope.municipality.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(ins, 4, g.scope.community.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(ins, 5, g.scope.component.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(ins, 6, g.body.c_str(), -1, SQLITE_TRANSIENT);
      body_bytes += g.body.size();
      if (sqlite3_step(ins) != SQLITE_DONE) die("insert");
      sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
  }
  sqlite3_exec(raw.db, "COMMIT", nullptr, nullptr, nullptr);
  raw.rows = static_cast<std::size_t>(records);
  std::printf("%d records, %.0f B of body each\n", records, static_cast<double>(body_bytes) / records);
  struct Config {
    const char* name;
    std::function<double()> run;
    std::vector<double> rates;
  };
  std::vector<Config> configs = {
      {"read-splice ceiling", [&] { return splice(raw); }, {}},
      {"admin csv text", [&] { return engine(raw, *form, sync::Role::kAdmin, false, true); }, {}},
      {"admin csv dom", [&] { return engine(raw, *form, sync::Role::kAdmin, false, false); }, {}},
      {"admin jsonl text", [&] { return engine(raw, *form, sync::Role::kAdmin, true, true); }, {}},
      {"admin jsonl dom", [&] { return engine(raw, *form, sync::Role::kAdmin, true, false); }, {}},
      {"m&e csv text", [&] { return engine(raw, *form, sync::Role::kMeOfficer, false, true); }, {}},
      {"m&e csv dom", [&] { return engine(raw, *form, sync::Role::kMeOfficer, false, false); }, {}},
  };
  std::vector<std::vector<double>> ratio(configs.size());
  for (int r = 0; r < runs; ++r) {
    std::vector<double> got(configs.size());
    for (std::size_t i = 0; i < configs.size(); ++i) {
      const std::size_t k = (i + static_cast<std::size_t>(r)) % configs.size();  // rotate the order per round
      got[k] = configs[k].run();
    }
    for (std::size_t k = 0; k < configs.size(); ++k) {
      configs[k].rates.push_back(got[k]);
      ratio[k].push_back(got[k] / got[0]);
    }
    std::printf("round %d done\n", r + 1);
    std::fflush(stdout);
  }
  std::printf("medians of %d rounds (min-max), records/s and ratio to the read-splice ceiling:\n", runs);
  for (std::size_t k = 0; k < configs.size(); ++k)
    std::printf("  %-20s %s rec/s   ratio %s\n", configs[k].name, spread(configs[k].rates).c_str(),
                spread(ratio[k], "%.3f").c_str());
  sqlite3_close(raw.db);
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  return 0;
}

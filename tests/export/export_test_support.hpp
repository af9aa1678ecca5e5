// Helpers for the akt_export tests: the four instruments (parsed once), their valid fixtures as export
// records, golden-file comparison (AKT_UPDATE_GOLDEN=1 rewrites them), and collecting sinks.
#pragma once

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "schema/export/export_record.hpp"
#include "schema/export/exporter.hpp"
#include "schema/forms/form_parser.hpp"

namespace akt::exports::test {

// Every Albanian and Serbian Latin letter outside ASCII, with the digraphs, plus CSV/XML specials.
inline const std::string kLetters = "ë ç č ć š ž đ Ë Ç Č Ć Š Ž Đ dž lj nj, \"quoted\" <&> Đakovica–Gjakovë";

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string repo(const std::string& rel) { return std::string(AKT_SOURCE_DIR) + "/" + rel; }

inline const forms::FormDef& form(const std::string& id) {
  static std::map<std::string, forms::FormDef> cache;
  auto it = cache.find(id);
  if (it == cache.end()) {
    auto r = forms::parse_form(read_file(repo("schema/forms/programme/" + id + ".json")));
    REQUIRE_MESSAGE(r.ok(), r.status().message());
    it = cache.emplace(id, std::move(r).value()).first;
  }
  return it->second;
}

inline nlohmann::json fixture(const std::string& id) {
  auto j = nlohmann::json::parse(read_file(repo("tests/schema/fixtures/" + id + ".valid.json")), nullptr, false);
  REQUIRE(j.is_object());
  return j;
}

inline ExportRecord record(const std::string& form_id, int n, nlohmann::json body, bool deleted = false) {
  ExportRecord r;
  r.record_id = "0190a1b2-0000-7000-8000-00000000000" + std::to_string(n);
  r.form_id = form_id;
  r.form_version = 1;
  r.scope = {"gracanice", "serb", form_id.substr(0, 3) == "so1" ? "SO1" : form_id.substr(0, 3) == "so2" ? "SO2" : "SO3"};
  r.seq = 100 + n;
  r.server_time_ms = 1497425460000 + n * 1000;  // 2017-06-14T07:31:00Z + n s
  r.deleted = deleted;
  r.conflict = n == 2;
  r.body = std::move(body);
  return r;
}

// Compares `actual` with golden/<name>; with AKT_UPDATE_GOLDEN set, rewrites the file instead.
inline void check_golden(const std::string& name, const std::string& actual) {
  const std::string path = repo("tests/export/golden/" + name);
  if (std::getenv("AKT_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path, std::ios::binary) << actual;
    return;
  }
  const std::string expected = read_file(path);
  INFO("golden file " << name << " (rerun with AKT_UPDATE_GOLDEN=1 to refresh, then review the diff)");
  CHECK(actual == expected);
}

// Runs an export of `records` through `writer` and returns the status.
inline Status run_export(const FormExporter& e, const std::vector<ExportRecord>& records, ExportWriter& writer) {
  return e.run(
      [&records] {
        return RecordPass([&records, i = std::size_t{0}](ExportRecord& out) mutable {
          if (i >= records.size()) return false;
          out = records[i++];
          return true;
        });
      },
      writer);
}

}  // namespace akt::exports::test

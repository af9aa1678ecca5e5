// Golden-file tests: CSV, JSON Lines and XLSX structure for each of the four instruments, with repeat
// groups, multi-select, every Albanian and Serbian Latin letter, empty vs not-asked, tombstones.
#include <cstdlib>

#include "schema/export/csv_writer.hpp"
#include "schema/export/gzip_stream.hpp"
#include "schema/export/jsonl_writer.hpp"
#include "schema/export/xlsx_writer.hpp"
#include "schema/forms/serbian_script.hpp"
#include "tests/export/export_test_support.hpp"
#include "tests/support/temp_dir.hpp"
#include "sync/gzip.hpp"

namespace akt::exports::test {
namespace {

// Three records per form: the fixture with the letters in a kept text field (and in a repeat item),
// a variant flagged conflict with an asked-but-empty answer and a not-asked one, and a tombstone.
std::vector<ExportRecord> records_of(const std::string& id) {
  nlohmann::json a = fixture(id), b = fixture(id);
  if (id == "so1_interethnic_survey") {
    a["contact_settings_other"] = kLetters;
    b["contact_settings_other"] = "";
    b.erase("displacement_status");
  } else if (id == "so1_infra_monitoring") {
    a["project_title"] = kLetters;
    a["visit"][0]["v_photo_1_caption"] = kLetters;
    b.erase("cofin_community");
    b["visit"][0]["v_photo_1_caption"] = "";
    b["visit"][1].erase("v_followup_due");
  } else if (id == "so2_business_followup") {
    a["business_sector"] = "other";
    a["business_sector_other"] = kLetters;
    b["support_needed"] = nlohmann::json::array();
    b.erase("fiscal_receipts");
  } else {
    a["assessor_notes"] = kLetters;
    b["assessor_notes"] = "";
    b.erase("legal_deadline_days");
  }
  return {record(id, 1, a), record(id, 2, b), record(id, 3, nlohmann::json::object(), true)};
}

FormExporter exporter(const std::string& id, sync::Role role, LabelMode labels = LabelMode::kCodes,
                      bool label_row = false) {
  const forms::FormDef* v[] = {&form(id)};
  ExportOptions o;
  o.role = role;
  o.label_row = label_row;
  o.pseudonym_key = "golden-test-key";
  o.flatten.labels = labels;
  auto e = FormExporter::create(v, o);
  REQUIRE(e.ok());
  return std::move(e).value();
}

std::string csv(const std::string& id, sync::Role role, std::size_t table, LabelMode labels = LabelMode::kCodes,
                bool label_row = false) {
  std::string out;
  CsvWriter w([&](std::string_view s) { out += s; }, {}, table);
  REQUIRE(run_export(exporter(id, role, labels, label_row), records_of(id), w).ok());
  return out;
}

const char* kForms[] = {"so1_interethnic_survey", "so1_infra_monitoring", "so2_business_followup",
                        "so3_municipal_service"};

}  // namespace

TEST_CASE("golden: M&E CSV of each instrument (main table and repeats)") {
  for (const char* id : kForms) {
    CAPTURE(id);
    check_golden(std::string(id) + ".me.csv", csv(id, sync::Role::kMeOfficer, 0));
  }
  check_golden("so1_infra_monitoring.visit.me.csv", csv("so1_infra_monitoring", sync::Role::kMeOfficer, 1));
}

TEST_CASE("golden: labels in Serbian (Cyrillic and Latin) and Albanian") {
  check_golden("so1_interethnic_survey.me.sr.csv", csv("so1_interethnic_survey", sync::Role::kMeOfficer, 0, LabelMode::kSr));
  check_golden("so1_infra_monitoring.admin.sq.csv", csv("so1_infra_monitoring", sync::Role::kAdmin, 0, LabelMode::kSq));
  // sr-Latn is the transliteration of sr, cell for cell.
  check_golden("so1_interethnic_survey.me.sr-Latn.csv",
               csv("so1_interethnic_survey", sync::Role::kMeOfficer, 0, LabelMode::kSrLatn));
}

TEST_CASE("golden: a second header row with the question labels in the chosen language") {
  const auto kM = sync::Role::kMeOfficer;
  check_golden("so1_infra_monitoring.me.sq.labelrow.csv", csv("so1_infra_monitoring", kM, 0, LabelMode::kSq, true));
  check_golden("so1_infra_monitoring.visit.me.sq.labelrow.csv", csv("so1_infra_monitoring", kM, 1, LabelMode::kSq, true));
  check_golden("so1_interethnic_survey.me.sr.labelrow.csv", csv("so1_interethnic_survey", kM, 0, LabelMode::kSr, true));
  check_golden("so2_business_followup.me.en.labelrow.csv", csv("so2_business_followup", kM, 0, LabelMode::kEn, true));
  auto lines = [](const std::string& text) {
    std::vector<std::string> out;
    for (std::size_t at = 0; at < text.size();) {
      const std::size_t end = text.find("\r\n", at);
      out.push_back(text.substr(at, end - at));
      at = end + 2;
    }
    return out;
  };
  // The label row is the only difference: the first row (column names) and the data rows are as without it.
  for (const char* id : kForms) {
    CAPTURE(id);
    const auto plain = lines(csv(id, kM, 0, LabelMode::kSr)), labelled = lines(csv(id, kM, 0, LabelMode::kSr, true));
    REQUIRE(labelled.size() == plain.size() + 1);
    CHECK(labelled[0] == plain[0]);
    for (std::size_t i = 1; i < plain.size(); ++i) CHECK(labelled[i + 1] == plain[i]);
    // sr-Latn's label row is the transliteration of sr's.
    CHECK(lines(csv(id, kM, 0, LabelMode::kSrLatn, true))[1] == forms::to_serbian_latin(labelled[1]));
    // The label row names each question by its label in that language (no column left without a text).
    const forms::FormDef& f = form(id);
    const std::string& row = labelled[1];
    CHECK(row.find(f.find("municipality") ? f.find("municipality")->label.sr : "Општина") != std::string::npos);
    CHECK(row.find("ИД записа") != std::string::npos);
  }
  // Codes with a label row: the labels are English.
  CHECK(lines(csv("so3_municipal_service", kM, 0, LabelMode::kCodes, true))[1].rfind("Record id,Form version,", 0) == 0);
}

TEST_CASE("golden: admin JSON Lines of each instrument") {
  for (const char* id : kForms) {
    CAPTURE(id);
    std::string out;
    JsonlWriter w([&](std::string_view s) { out += s; });
    REQUIRE(run_export(exporter(id, sync::Role::kAdmin), records_of(id), w).ok());
    check_golden(std::string(id) + ".admin.jsonl", out);
    // Every line parses; the empty answer stays "" and the not-asked one null.
    std::istringstream lines(out);
    std::vector<nlohmann::json> rows;
    for (std::string line; std::getline(lines, line);) {
      rows.push_back(nlohmann::json::parse(line, nullptr, false));
      CHECK_FALSE(rows.back().is_discarded());
    }
    if (std::string(id) == "so1_interethnic_survey") {
      REQUIRE(rows.size() == 3);
      CHECK(rows[0].at("contact_settings_other") == kLetters);
      CHECK(rows[1].at("contact_settings_other") == "");
      CHECK(rows[1].at("displacement_status").is_null());
      CHECK(rows[2].at("deleted") == true);
    }
  }
}

TEST_CASE("export: conflicts=exclude drops flagged records, JSONL interleaves repeat rows") {
  const forms::FormDef* v[] = {&form("so1_infra_monitoring")};
  ExportOptions o;
  o.role = sync::Role::kAdmin;
  o.include_conflicted = false;
  auto e = FormExporter::create(v, o);
  REQUIRE(e.ok());
  std::string out;
  JsonlWriter w([&](std::string_view s) { out += s; });
  REQUIRE(run_export(*e, records_of("so1_infra_monitoring"), w).ok());
  std::vector<std::string> tables;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    tables.push_back(nlohmann::json::parse(line, nullptr, false).value("_table", ""));
  }
  CHECK(tables == std::vector<std::string>{"records", "visit", "visit", "records"});  // record 2 (conflict) left out
}

TEST_CASE("golden: multi-table CSV in a ZIP has one file per table") {
  std::string out;
  CsvZipWriter w([&](std::string_view s) { out += s; }, "so1_infra_monitoring_", CsvOptions{true, "", true, 64 * 1024});
  REQUIRE(run_export(exporter("so1_infra_monitoring", sync::Role::kMeOfficer), records_of("so1_infra_monitoring"), w).ok());
  akt::test::TempDir dir;
  std::ofstream(dir.file("t.zip"), std::ios::binary) << out;
  const std::string cmd = "cd " + dir.path() + " && unzip -q t.zip && test -f so1_infra_monitoring_records.csv" +
                          " && test -f so1_infra_monitoring_visit.csv";
  REQUIRE(std::system(cmd.c_str()) == 0);
  const std::string bom = "\xEF\xBB\xBF";
  CHECK(read_file(dir.file("so1_infra_monitoring_records.csv")) == bom + csv("so1_infra_monitoring", sync::Role::kMeOfficer, 0));
  CHECK(read_file(dir.file("so1_infra_monitoring_visit.csv")) == bom + csv("so1_infra_monitoring", sync::Role::kMeOfficer, 1));
}

TEST_CASE("xlsx: each instrument opens as a workbook with the expected sheets and rows") {
  for (const char* id : kForms) {
    CAPTURE(id);
    const FormExporter e = exporter(id, sync::Role::kAdmin);
    std::string out;
    XlsxWriter w([&](std::string_view s) { out += s; });
    REQUIRE(run_export(e, records_of(id), w).ok());
    nlohmann::json expect = {{"contains", kLetters}, {"sheets", nlohmann::json::array()}};
    expect["sheets"].push_back({"records", 4, "record_id"});  // header + 3 records (one tombstone)
    if (e.layout().tables.size() > 1) expect["sheets"].push_back({"visit", 5, "record_id"});  // header + 2 x 2 visits
    akt::test::TempDir dir;
    std::ofstream(dir.file("x.xlsx"), std::ios::binary) << out;
    std::ofstream(dir.file("expect.json"), std::ios::binary) << expect.dump();
    const std::string cmd = "python3 " + repo("tests/export/check_xlsx.py") + " " + dir.file("x.xlsx") + " " +
                            dir.file("expect.json") + " > " + dir.file("log.txt") + " 2>&1";
    const int rc = std::system(cmd.c_str());
    INFO(read_file(dir.file("log.txt")));
    CHECK(rc == 0);
    CHECK(std::system(("unzip -tq " + dir.file("x.xlsx") + " > /dev/null").c_str()) == 0);
    // The checker itself rejects a wrong expectation (so a pass above means something).
    expect["sheets"][0][1] = 99;
    std::ofstream(dir.file("expect.json"), std::ios::binary | std::ios::trunc) << expect.dump();
    CHECK(std::system(cmd.c_str()) != 0);
  }
}

TEST_CASE("xlsx: the label row is the second row of every sheet") {
  const FormExporter e = exporter("so1_infra_monitoring", sync::Role::kMeOfficer, LabelMode::kSq, true);
  std::string out;
  XlsxWriter w([&](std::string_view s) { out += s; });
  REQUIRE(run_export(e, records_of("so1_infra_monitoring"), w).ok());
  nlohmann::json expect = {{"contains", "Shuma e grantit"}, {"sheets", nlohmann::json::array()}};
  expect["sheets"].push_back({"records", 5, "record_id"});  // names, labels, 3 records
  expect["sheets"].push_back({"visit", 6, "record_id"});    // names, labels, 2 x 2 visits
  akt::test::TempDir dir;
  std::ofstream(dir.file("x.xlsx"), std::ios::binary) << out;
  std::ofstream(dir.file("expect.json"), std::ios::binary) << expect.dump();
  const std::string cmd = "python3 " + repo("tests/export/check_xlsx.py") + " " + dir.file("x.xlsx") + " " +
                          dir.file("expect.json") + " > " + dir.file("log.txt") + " 2>&1";
  const int rc = std::system(cmd.c_str());
  INFO(read_file(dir.file("log.txt")));
  CHECK(rc == 0);
}

TEST_CASE("ExportRun: any step size gives the bytes of run(), for every writer and instrument") {
  for (const char* id : kForms) {
    CAPTURE(id);
    const FormExporter e = exporter(id, sync::Role::kMeOfficer);
    const std::vector<ExportRecord> records = records_of(id);
    auto open = [&records] {
      return RecordPass([&records, i = std::size_t{0}](ExportRecord& out) mutable {
        if (i >= records.size()) return false;
        out = records[i++];
        return true;
      });
    };
    using Make = std::function<std::unique_ptr<ExportWriter>(Sink)>;
    const std::vector<std::pair<const char*, Make>> writers = {
        {"csv", [](Sink s) { return std::make_unique<CsvWriter>(std::move(s)); }},
        {"jsonl", [](Sink s) { return std::make_unique<JsonlWriter>(std::move(s), 16); }},
        {"zip", [](Sink s) { return std::make_unique<CsvZipWriter>(std::move(s), "p_", CsvOptions{}); }},
        {"xlsx", [](Sink s) { return std::make_unique<XlsxWriter>(std::move(s)); }}};
    for (const auto& [name, make] : writers) {
      const std::string& writer = name;  // CAPTURE's lambda cannot take a structured binding (clang 14)
      CAPTURE(writer);
      std::string whole, stepped;
      auto w1 = make([&](std::string_view d) { whole += d; });
      REQUIRE(e.run(open, *w1).ok());
      for (std::size_t step : {std::size_t{1}, std::size_t{2}, std::size_t{1000}}) {
        stepped.clear();
        auto w2 = make([&](std::string_view d) { stepped += d; });
        ExportRun run(e, open, *w2);
        int calls = 0;
        for (;;) {
          auto more = run.step(step);
          REQUIRE(more.ok());
          ++calls;
          if (!*more) break;
        }
        CHECK(run.finished());
        CHECK(stepped == whole);
        if (step == 1) CHECK(calls > static_cast<int>(records.size()));  // really resumed record by record
        auto after = run.step(1);  // finished is final
        REQUIRE(after.ok());
        CHECK_FALSE(*after);
      }
    }
  }
}

TEST_CASE("GzipStream: pieces form one gzip stream, each piece decodable as it arrives") {
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "row " + std::to_string(i) + "," + kLetters + "\r\n";
  GzipStream gz(5);
  std::string stream;
  std::size_t flushed_prefixes = 0;
  for (std::size_t at = 0; at < text.size(); at += 7000) {
    const std::string_view piece = std::string_view(text).substr(at, 7000);
    const bool last = at + 7000 >= text.size();
    REQUIRE(gz.write(piece, last, stream).ok());
    // A sync-flushed prefix ends on the 00 00 FF FF marker: everything so far can be inflated.
    if (!last && stream.size() >= 4 && stream.compare(stream.size() - 4, 4, std::string("\0\0\xFF\xFF", 4)) == 0)
      ++flushed_prefixes;
  }
  CHECK(flushed_prefixes > 10);
  auto back = sync::gunzip(stream, 1u << 26);
  REQUIRE(back.ok());
  CHECK(*back == text);
  CHECK(stream.size() < text.size() / 4);
  std::string empty;
  GzipStream gz2;
  REQUIRE(gz2.write({}, true, empty).ok());
  CHECK(sync::gunzip(empty, 16).value().empty());
}

}  // namespace akt::exports::test

// The export's text path (stored body text through simdjson, text_flatten.hpp) against the DOM path
// (nlohmann parse, redact_body, flatten) that defines the output: the same bytes for every writer,
// table, role and label language, over records of the four instruments with repeats, multi-selects,
// tombstones, sensitive fields, Albanian and Serbian (Cyrillic) text, values needing CSV quoting or the
// formula guard, and numbers in every JSON spelling.
#include <algorithm>
#include <functional>
#include <random>

#include "schema/export/csv_writer.hpp"
#include "schema/export/jsonl_writer.hpp"
#include "schema/export/text_flatten.hpp"
#include "schema/export/xlsx_writer.hpp"
#include "tests/export/export_test_support.hpp"

namespace akt::exports::test {
namespace {

const char* kInstruments[] = {"so1_interethnic_survey", "so1_infra_monitoring", "so2_business_followup",
                              "so3_municipal_service"};

// Text values a field may hold: every case the CSV and JSON writers treat apart.
const std::vector<std::string> kTexts = {
    kLetters,
    "Грачаница, \"Ново Брдо\" – Штрпце",  // Serbian Cyrillic, a comma and quotes
    "line one\r\nline two\nthree",
    "=HYPERLINK(\"http://x\")",
    " \xC2\xA0-1",  // the formula guard looks past spaces and no-break spaces
    "@user",
    "tab\there",
    "",
    "a,b",
    "\"",
    "ëeë",
    "control \x01 and \\ backslash / slash",
    "emoji 😀 and U+2028 \u2028",
};

// Number spellings, each as JSON text: the DOM prints what nlohmann parsed, the text path must match.
const std::vector<std::string> kNumbers = {"0",    "-0",    "7",     "-12",   "1.5",  "2.50", "1e2",     "1E-7",
                                           "-0.0", "38500", "38500.0", "0.1", "123456789012345678", "-9223372036854775808",
                                           "18446744073709551615", "1e400", "17", "24", "65", "151", "44.9"};

// A record body as text, mutated from the instrument's valid fixture by a seeded generator.
std::string mutated_body(const std::string& id, std::mt19937& rng, int variant) {
  nlohmann::json body = fixture(id);
  auto pick = [&](const auto& v) { return v[std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng)]; };
  std::string text = body.dump();
  // Mutate at the JSON level: strings become special texts, numbers other spellings, some keys go.
  std::function<void(nlohmann::json&, int)> walk = [&](nlohmann::json& obj, int depth) {
    std::vector<std::string> erase;
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      nlohmann::json& v = it.value();
      const int dice = std::uniform_int_distribution<int>(0, 9)(rng);
      if (v.is_array() && !v.empty() && v[0].is_object()) {  // a repeat: its items too
        for (auto& item : v) walk(item, depth + 1);
        if (dice == 0) v = nlohmann::json::array();
        continue;
      }
      if (dice == 0 && variant > 0) erase.push_back(it.key());
      else if (dice == 1) v = nullptr;
      else if (v.is_string() && dice < 6) v = pick(kTexts);
      else if (v.is_array() && dice == 2) v = nlohmann::json::array();
      else if (v.is_array() && dice == 3) v.push_back("not_a_code");
      else if (v.is_array() && dice == 4) v.push_back(7);
      else if (v.is_object() && dice == 2) v["lat"] = "north";
      else if (v.is_object() && dice == 3) v.erase("acc");
    }
    for (const std::string& k : erase) obj.erase(k);
  };
  walk(body, 0);
  text = body.dump();
  // Numbers in other spellings: replace some number tokens in the text (keys never hold digits first).
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    const bool starts = (c == '-' || (c >= '0' && c <= '9')) && i > 0 && (text[i - 1] == ':' || text[i - 1] == '[' ||
                                                                        text[i - 1] == ',');
    if (starts && out.size() > 0 && out.back() != '"') {
      std::size_t j = i + 1;
      while (j < text.size() && std::string_view("0123456789.eE+-").find(text[j]) != std::string_view::npos) ++j;
      out += std::uniform_int_distribution<int>(0, 5)(rng) == 0 ? pick(kNumbers) : text.substr(i, j - i);
      i = j;
      continue;
    }
    out.push_back(c);
    ++i;
  }
  return out;
}

struct Role {
  const char* name;
  sync::Role role;
  bool grant;
  std::string key;
};

std::vector<ExportRecord> dom_records(const std::vector<ExportRecord>& text) {
  std::vector<ExportRecord> out;
  for (ExportRecord r : text) {
    if (!r.deleted) {
      r.body = nlohmann::json::parse(r.body_text, nullptr, false);
      if (!r.body.is_object()) continue;  // the feed never handed such a record to the DOM path
    }
    r.body_text.clear();
    out.push_back(std::move(r));
  }
  return out;
}

std::string export_bytes(const FormExporter& e, const std::vector<ExportRecord>& records, const std::string& writer,
                         std::size_t table) {
  std::string out;
  Sink sink = [&](std::string_view d) { out += d; };
  std::unique_ptr<ExportWriter> w;
  if (writer == "csv") w = std::make_unique<CsvWriter>(sink, CsvOptions{}, table);
  else if (writer == "jsonl") w = std::make_unique<JsonlWriter>(sink);
  else if (writer == "zip") w = std::make_unique<CsvZipWriter>(sink, "p_", CsvOptions{});
  else w = std::make_unique<XlsxWriter>(sink);
  REQUIRE(run_export(e, records, *w).ok());
  return out;
}

}  // namespace

TEST_CASE("text path: the same bytes as the DOM path for every instrument, role, language and writer") {
  const std::vector<Role> roles = {{"admin", sync::Role::kAdmin, false, "k"},
                                   {"enumerator", sync::Role::kEnumerator, false, "k"},
                                   {"me", sync::Role::kMeOfficer, false, "text-path-key"},
                                   {"me+grant", sync::Role::kMeOfficer, true, "text-path-key"},
                                   {"me without key", sync::Role::kMeOfficer, false, ""}};
  std::size_t compared = 0, rows_seen = 0;
  for (const char* id : kInstruments) {
    const std::string form_id = id;
    CAPTURE(form_id);
    const unsigned seed = 20261206u + static_cast<unsigned>(std::string(id).size());
    std::mt19937 rng(seed);
    std::vector<ExportRecord> text;
    for (int n = 0; n < 40; ++n) {
      ExportRecord r = record(id, n, nlohmann::json::object(), n % 9 == 4);
      r.scope.community = n % 3 == 0 ? "serb" : n % 3 == 1 ? "albanian" : "";
      r.body = nlohmann::json::object();
      if (!r.deleted) r.body_text = n == 0 ? fixture(id).dump() : mutated_body(id, rng, n);
      text.push_back(std::move(r));
    }
    const std::vector<ExportRecord> dom = dom_records(text);
    for (const Role& role : roles) {
      for (LabelMode labels : {LabelMode::kCodes, LabelMode::kSq, LabelMode::kSr, LabelMode::kSrLatn}) {
        const std::string role_name = role.name;
        CAPTURE(role_name);
        CAPTURE(static_cast<int>(labels));
        const forms::FormDef* v[] = {&form(id)};
        ExportOptions o;
        o.role = role.role;
        o.special_category = role.grant;
        o.pseudonym_key = role.key;
        o.flatten.labels = labels;
        auto e = FormExporter::create(v, o);
        REQUIRE(e.ok());
        const std::size_t tables = e->layout().tables.size();
        // Most of these records really take the text path (the rest, with -0, numbers out of range or
        // values where a scalar belongs: the nlohmann path, by design).
        auto flattener = TextFlattener::create(e->layout(), v, {o.role, o.pseudonym_key, o.special_category, o.flatten});
        REQUIRE(flattener != nullptr);
        std::size_t taken = 0;
        for (const ExportRecord& r : text) taken += flattener->rows(0, r, [](std::span<const Cell>) {}) ? 1 : 0;
        CHECK(taken * 2 >= text.size());
        for (const char* writer : {"csv", "jsonl", "zip", "xlsx"}) {
          const std::string writer_name = writer;
          CAPTURE(writer_name);
          const std::size_t n_tables = std::string(writer) == "csv" ? tables : 1;
          for (std::size_t t = 0; t < n_tables; ++t) {
            CAPTURE(t);
            const std::string a = export_bytes(*e, dom, writer, t);
            const std::string b = export_bytes(*e, text, writer, t);
            CHECK(a == b);
            if (a != b) {
              for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
                if (a[i] == b[i]) continue;
                const std::size_t from = i > 200 ? i - 200 : 0;
                MESSAGE("first difference at byte " << i << "\nDOM:  " << a.substr(from, 400) << "\nTEXT: "
                                                    << b.substr(from, 400));
                break;
              }
            }
            ++compared;
            rows_seen += static_cast<std::size_t>(std::count(a.begin(), a.end(), '\n'));
          }
        }
      }
    }
  }
  CHECK(compared > 300);
  CHECK(rows_seen > 10000);
}

TEST_CASE("text path: a stored body that is not a JSON object gives no rows, as the feed skipped it") {
  const forms::FormDef* v[] = {&form("so3_municipal_service")};
  auto e = FormExporter::create(v, ExportOptions{});
  REQUIRE(e.ok());
  std::vector<ExportRecord> records;
  for (const char* body : {"[1,2]", "not json", "{\"a\":", "\"text\""}) {
    ExportRecord r = record("so3_municipal_service", 1, nlohmann::json::object());
    r.body_text = body;
    records.push_back(r);
  }
  std::string out;
  CsvWriter w([&](std::string_view d) { out += d; });
  REQUIRE(run_export(*e, records, w).ok());
  CHECK(std::count(out.begin(), out.end(), '\n') == 1);  // the header alone
}

TEST_CASE("text path: every published instrument takes it (no layout falls back to the DOM)") {
  for (const char* id : kInstruments) {
    const std::string form_id = id;
    CAPTURE(form_id);
    const forms::FormDef* v[] = {&form(id)};
    for (sync::Role role : {sync::Role::kAdmin, sync::Role::kMeOfficer}) {
      CAPTURE(static_cast<int>(role));
      ExportOptions o;
      o.role = role;
      o.pseudonym_key = "k";
      auto e = FormExporter::create(v, o);
      REQUIRE(e.ok());
      auto flattener = TextFlattener::create(e->layout(), v, {role, "k", false, {}});
      CHECK(flattener != nullptr);
      // The fixture itself goes through the text path, table by table.
      ExportRecord r = record(id, 1, nlohmann::json::object());
      r.body_text = fixture(id).dump();
      for (std::size_t t = 0; t < e->layout().tables.size(); ++t) {
        std::size_t rows = 0;
        CHECK(flattener->rows(t, r, [&](std::span<const Cell>) { ++rows; }));
        CHECK(rows >= (t == 0 ? 1u : 0u));
      }
    }
  }
}

}  // namespace akt::exports::test

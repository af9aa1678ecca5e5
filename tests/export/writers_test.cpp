// Writers and layout: CSV encoding, bounded memory, ZIP, column union across versions, helpers.
#include "schema/export/csv_writer.hpp"
#include "schema/export/jsonl_writer.hpp"
#include "schema/export/xlsx_writer.hpp"
#include "tests/export/export_test_support.hpp"
#include "tests/support/temp_dir.hpp"

namespace akt::exports::test {
namespace {

std::string csv_row(std::vector<Cell> cells, CsvOptions o = {}) {
  std::string out;
  append_csv_row(out, cells, o);
  return out;
}

std::string mini_form(int version, const std::string& fields) {
  return R"({"v":1,"form_id":"mini","version":)" + std::to_string(version) +
         R"(,"title":{"en":"Mini"},"choice_lists":{"c":[{"code":"a","label":{"en":"A"}},{"code":"b","label":{"en":"B"}}]},"fields":[)" +
         fields + "]}";
}

forms::FormDef parse(const std::string& text) {
  forms::ParseOptions po;
  po.include_common_header = false;
  auto r = forms::parse_form(text, po);
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  return std::move(r).value();
}

}  // namespace

TEST_CASE("csv: RFC 4180 quoting, empty vs not asked, formulas") {
  CHECK(csv_row({Cell::str("a,b"), Cell::str("say \"hi\""), Cell::str("x\r\ny")}) ==
        "\"a,b\",\"say \"\"hi\"\"\",\"x\r\ny\"\r\n");
  CHECK(csv_row({Cell::null(), Cell::str(""), Cell::number("-3.5"), Cell::boolean(true)}) == ",\"\",-3.5,1\r\n");
  CHECK(csv_row({Cell::null(), Cell::str("")}, CsvOptions{false, "(empty)", true, 1024}) == ",(empty)\r\n");
  CHECK(csv_row({Cell::str("=HYPERLINK(\"x\")"), Cell::str("-1"), Cell::str("@a")}) ==
        "\"'=HYPERLINK(\"\"x\"\")\",'-1,'@a\r\n");
  CHECK(csv_row({Cell::str("=1")}, CsvOptions{false, "", false, 1024}) == "=1\r\n");
  CHECK(csv_row({Cell::str(kLetters)}) == "\"" + std::string("ë ç č ć š ž đ Ë Ç Č Ć Š Ž Đ dž lj nj, \"\"quoted\"\" <&> Đakovica–Gjakovë") + "\"\r\n");
}

TEST_CASE("csv: the formula guard also sees through leading whitespace") {
  CHECK(csv_row({Cell::str(" =1+1"), Cell::str("  @SUM(A1)"), Cell::str("\n+1"), Cell::str("\xC2\xA0-2")}) ==
        "' =1+1,'  @SUM(A1),\"'\n+1\",'\xC2\xA0-2\r\n");
  CHECK(csv_row({Cell::str(" plain"), Cell::str("a=b")}) == " plain,a=b\r\n");
}

TEST_CASE("csv: 200,000 rows stream with a bounded buffer") {
  std::size_t bytes = 0, calls = 0;
  CsvOptions o;
  o.bom = true;
  o.buffer_bytes = 16 * 1024;
  CsvWriter w([&](std::string_view s) { bytes += s.size(); ++calls; }, o);
  TableSpec t{"records", {"record_id", "n", "text", "flag"}};
  REQUIRE(w.begin({t}).ok());
  std::vector<Cell> row(4);
  std::size_t longest = 0;
  for (int i = 0; i < 200'000; ++i) {
    row[0] = Cell::str("0190a1b2-0000-7000-8000-" + std::to_string(1'000'000'000'000 + i));
    row[1] = Cell::number(std::to_string(i));
    row[2] = Cell::str(i % 7 == 0 ? kLetters : "plain");
    row[3] = Cell::boolean(i % 2 == 0);
    longest = std::max(longest, csv_row(row).size());
    REQUIRE(w.add_row(0, row).ok());
  }
  REQUIRE(w.finish().ok());
  CHECK(bytes > 200'000 * 40);
  CHECK(calls > 100);
  // The writer never held more than its buffer plus one row, however many rows went through.
  CHECK(w.high_water() < o.buffer_bytes + longest);
}

TEST_CASE("zip + xlsx: many rows stream in bounded chunks into a valid archive") {
  std::string out;
  std::size_t largest_chunk = 0;
  XlsxWriter w([&](std::string_view s) {
    out += s;
    largest_chunk = std::max(largest_chunk, s.size());
  });
  REQUIRE(w.begin({TableSpec{"records", {"a", "b"}}, TableSpec{"empty", {"x"}}}).ok());
  std::vector<Cell> row{Cell::str(kLetters), Cell::number("1")};
  for (int i = 0; i < 20'000; ++i) REQUIRE(w.add_row(0, row).ok());
  REQUIRE(w.finish().ok());
  CHECK(largest_chunk <= 32 * 1024);
  akt::test::TempDir dir;
  std::ofstream(dir.file("x.xlsx"), std::ios::binary) << out;
  CHECK(std::system(("unzip -tq " + dir.file("x.xlsx") + " > /dev/null").c_str()) == 0);
  const std::string listing = dir.file("list.txt");
  REQUIRE(std::system(("unzip -Z1 " + dir.file("x.xlsx") + " > " + listing).c_str()) == 0);
  CHECK(read_file(listing) ==
        "[Content_Types].xml\n_rels/.rels\nxl/workbook.xml\nxl/_rels/workbook.xml.rels\nxl/styles.xml\n"
        "xl/worksheets/sheet1.xml\nxl/worksheets/sheet2.xml\n");
  XlsxWriter bad([](std::string_view) {});
  REQUIRE(bad.begin({TableSpec{"records", {"a", "b"}}}).ok());
  CHECK_FALSE(bad.add_row(0, std::vector<Cell>{Cell::null()}).ok());  // wrong width: final error
  CHECK_FALSE(bad.finish().ok());
}

TEST_CASE("xlsx: tables out of order are refused, helper names") {
  XlsxWriter w([](std::string_view) {});
  REQUIRE(w.begin({TableSpec{"a", {"x"}}, TableSpec{"b", {"y"}}}).ok());
  std::vector<Cell> row{Cell::str("1")};
  REQUIRE(w.add_row(1, row).ok());
  CHECK(w.add_row(0, row).code() == Status::Code::kInvalidArgument);
  CHECK(column_letters(0) == "A");
  CHECK(column_letters(25) == "Z");
  CHECK(column_letters(26) == "AA");
  CHECK(column_letters(701) == "ZZ");
  CHECK(column_letters(702) == "AAA");
  CHECK(sheet_name("a:b/c[d]*?\\") == "a_b_c_d____");
  CHECK(sheet_name("abcdefghijklmnopqrstuvwxyz0123456789") == "abcdefghijklmnopqrstuvwxyz01234");
}

TEST_CASE("layout: union of versions in form order, options, geopoints, role") {
  const forms::FormDef v1 = parse(mini_form(1, R"({"key":"a","type":"text","label":{"en":"A"},"sensitivity":"-"},
    {"key":"old","type":"integer","label":{"en":"O"},"sensitivity":"-"},
    {"key":"pick","type":"select_multiple","choices":"c","label":{"en":"P"},"sensitivity":"-"})"));
  const forms::FormDef v2 = parse(mini_form(2, R"({"key":"a","type":"text","label":{"en":"A"},"sensitivity":"D"},
    {"key":"where","type":"geopoint","label":{"en":"W"},"sensitivity":"-"},
    {"key":"pick","type":"select_multiple","choices":"c","label":{"en":"P"},"sensitivity":"-"})"));
  const forms::FormDef* both[] = {&v1, &v2};
  auto admin = build_layout(both, LayoutOptions{sync::Role::kAdmin, true, true});
  REQUIRE(admin.ok());
  std::vector<std::string> expect = {"record_id", "form_version", "scope_municipality", "scope_community", "scope_component",
                                     "seq", "server_time", "deleted", "conflict", "a", "old", "where__lat", "where__lon",
                                     "where__acc", "pick", "pick__a", "pick__b"};
  CHECK(admin->specs()[0].columns == expect);
  // M&E: `a` became D in version 2, so no version's records show it (strictest class wins).
  auto me = build_layout(both, LayoutOptions{sync::Role::kMeOfficer, true, false});
  REQUIRE(me.ok());
  expect = {"record_id", "form_version", "scope_municipality", "scope_community", "scope_component", "seq", "server_time",
            "deleted", "conflict", "old", "where__lat", "where__lon", "where__acc", "pick"};
  CHECK(me->specs()[0].columns == expect);
  nlohmann::json body = {{"a", "secret"}, {"old", 3}};
  const forms::FormDef* one[] = {&v1};
  redact_body(both, body, sync::Role::kMeOfficer, "k", "r");
  CHECK_FALSE(body.contains("a"));
  CHECK(body.at("old") == 3);
  CHECK_FALSE(build_layout(std::span<const forms::FormDef* const>(), {}).ok());
  // A body key equal to a metadata column gets a prefix, so names stay unique.
  const forms::FormDef v3 = parse(mini_form(3, R"({"key":"seq","type":"integer","label":{"en":"S"},"sensitivity":"-"})"));
  const forms::FormDef* clash[] = {&v3};
  auto c = build_layout(clash, {});
  REQUIRE(c.ok());
  CHECK(c->specs()[0].columns.back() == "body_seq");
  CHECK(build_layout(one, {}).ok());
}

TEST_CASE("records: from a RecordState, ISO times") {
  sync::RecordState s;
  s.record_id = "r1";
  s.form_id = "mini";
  s.form_version = 2;
  s.seq = 7;
  s.live.push_back(sync::Version{});
  s.live.back().body = R"({"a":"x"})";
  s.live.back().server_time = 1497425460123;
  auto r = export_record_from(s);
  REQUIRE(r.ok());
  CHECK(r->body.at("a") == "x");
  CHECK(r->server_time_ms == 1497425460123);
  CHECK_FALSE(r->conflict);
  s.live.back().body = "[1]";
  CHECK(export_record_from(s).status().code() == Status::Code::kCorruption);
  s.live.clear();
  CHECK(export_record_from(s).status().code() == Status::Code::kInvalidArgument);
  s.deleted = true;
  CHECK(export_record_from(s).ok());
  CHECK(iso_utc(1497425460123) == "2017-06-14T07:31:00.123Z");
  CHECK(iso_utc(0) == "1970-01-01T00:00:00.000Z");
  CHECK(iso_utc(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(iso_utc(951782400000) == "2000-02-29T00:00:00.000Z");
}

TEST_CASE("jsonl: typed values, null vs empty") {
  std::string out;
  JsonlWriter w([&](std::string_view s) { out += s; });
  REQUIRE(w.begin({TableSpec{"records", {"a", "b", "c", "d"}}}).ok());
  std::vector<Cell> row{Cell::null(), Cell::str(""), Cell::number("2.5"), Cell::boolean(false)};
  REQUIRE(w.add_row(0, row).ok());
  REQUIRE(w.finish().ok());
  CHECK(out == "{\"_table\":\"records\",\"a\":null,\"b\":\"\",\"c\":2.5,\"d\":false}\n");
}

TEST_CASE("jsonl: text cells use the one escaper, invalid UTF-8 becomes U+FFFD, valid text passes through") {
  auto esc = [](std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
  };
  CHECK(esc("plain text, long enough for words") == "\"plain text, long enough for words\"");
  CHECK(esc("a\"b\\c\n\x01 Graçanicë 𝄞") == "\"a\\\"b\\\\c\\n\\u0001 Graçanicë 𝄞\"");
  // Invalid bytes (a lone 0xFF, a cut 2-byte and a cut 3-byte sequence) each become U+FFFD; the rest,
  // escapes included, is as for valid text.
  CHECK(esc("a\xff\"b\xc3(\xe2\x82") == "\"a\xef\xbf\xbd\\\"b\xef\xbf\xbd(\xef\xbf\xbd\"");
}

}  // namespace akt::exports::test

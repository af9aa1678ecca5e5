// validate_record, one field type at a time: accepted shapes and the exact error path and code.
#include "schema/forms/validator.hpp"
#include "schema/forms/value_check.hpp"
#include "tests/schema/test_support.hpp"

using namespace akt::forms;
using namespace akt::forms::test;

namespace {

// A one-field form; the field is `f` with the given type and extra properties.
FormDef field_form(const std::string& type, const std::string& extra = "") {
  return must_parse(form_json(
      R"([{"key":"f","type":")" + type + R"(","label":{"en":"F"},"sensitivity":"-")" + extra + "}]",
      R"({"c":[{"code":"a","label":{"en":"A"}},{"code":"b","label":{"en":"B"}},{"code":"none","label":{"en":"None"}}]})"));
}

// Errors for body {"f": <value_json>}.
std::vector<FieldError> check_value(const FormDef& f, const std::string& value_json) {
  return errors_of(f, R"({"f":)" + value_json + "}");
}

bool only(const std::vector<FieldError>& errs, const char* path, const char* code) {
  if (errs.size() != 1) MESSAGE(describe(errs));
  return errs.size() == 1 && errs[0].path == path && errs[0].code == code;
}

}  // namespace

TEST_CASE("types: text") {
  FormDef f = field_form("text", R"(,"length":{"min":2,"max":5},"pattern":"[a-zč]+")");
  CHECK(check_value(f, R"("abc")").empty());
  CHECK(check_value(f, R"("čaj")").empty());  // length counts code points
  CHECK(only(check_value(f, "12"), "f", "type"));
  CHECK(only(check_value(f, R"(["a"])"), "f", "type"));
  CHECK(only(check_value(f, R"("a")"), "f", "length"));
  CHECK(only(check_value(f, R"("abcdef")"), "f", "length"));
  CHECK(only(check_value(f, R"("ab1")"), "f", "regex"));
}

TEST_CASE("types: integer and decimal with ranges") {
  FormDef i = field_form("integer", R"(,"range":{"min":1,"max":999})");
  CHECK(check_value(i, "1").empty());
  CHECK(check_value(i, "999").empty());
  CHECK(only(check_value(i, "0"), "f", "range"));
  CHECK(only(check_value(i, "1000"), "f", "range"));
  CHECK(only(check_value(i, "1.5"), "f", "type"));
  CHECK(only(check_value(i, R"("3")"), "f", "type"));
  CHECK(only(check_value(i, "true"), "f", "type"));
  CHECK(only(check_value(i, "18446744073709551615"), "f", "range"));
  FormDef d = field_form("decimal", R"(,"range":{"min":0,"min_exclusive":true,"max":100000})");
  CHECK(check_value(d, "0.01").empty());
  CHECK(check_value(d, "100000").empty());
  CHECK(only(check_value(d, "0"), "f", "range"));
  CHECK(only(check_value(d, "100000.5"), "f", "range"));
  CHECK(only(check_value(d, R"("1.5")"), "f", "type"));
}

TEST_CASE("types: date") {
  FormDef f = field_form("date", R"(,"range":{"min":"2014-01-01","max":"2018-12-31"})");
  CHECK(check_value(f, R"("2016-02-29")").empty());
  CHECK(only(check_value(f, R"("2017-02-29")"), "f", "type"));
  CHECK(only(check_value(f, R"("2017-2-1")"), "f", "type"));
  CHECK(only(check_value(f, R"("2017-06-01T10:00:00Z")"), "f", "type"));
  CHECK(only(check_value(f, R"("2013-12-31")"), "f", "range"));
  CHECK(only(check_value(f, R"("2019-01-01")"), "f", "range"));
}

TEST_CASE("types: datetime needs an offset and is compared in UTC") {
  FormDef f = field_form("datetime");
  CHECK(check_value(f, R"("2017-06-14T09:05:00+02:00")").empty());
  CHECK(check_value(f, R"("2017-06-14T07:05:00.250Z")").empty());
  CHECK(only(check_value(f, R"("2017-06-14T09:05:00")"), "f", "type"));
  CHECK(only(check_value(f, R"("2017-06-14 09:05:00Z")"), "f", "type"));
  CHECK(only(check_value(f, R"("2017-06-14T25:05:00Z")"), "f", "type"));
  CHECK(normalize_datetime("2017-06-14T01:30:00+02:00") == "2017-06-13T23:30:00.000Z");
  CHECK(normalize_datetime("2016-12-31T23:59:59.5-01:00") == "2017-01-01T00:59:59.500Z");
  CHECK(normalize_datetime("2017-06-14T09:05:00+2:00").empty());
  // ended_at >= started_at across time zones (the common header rule).
  FormDef h = must_parse(form_json("[]"), true);
  nlohmann::json body = {{"enumerator_id", "enum_07"},
                         {"team_id", "t"},
                         {"device_id", "d"},
                         {"started_at", "2017-06-14T09:05:00+02:00"},
                         {"ended_at", "2017-06-14T07:30:00Z"},
                         {"app_version", "1"},
                         {"review_status", "draft"}};
  CHECK(validate_record(h, body, ctx()).empty());
  body["ended_at"] = "2017-06-14T08:30:00+02:00";
  CHECK(only(validate_record(h, body, ctx()), "ended_at", "constraint"));
}

TEST_CASE("types: select_one and select_multiple") {
  FormDef one = field_form("select_one", R"(,"choices":"c")");
  CHECK(check_value(one, R"("a")").empty());
  CHECK(only(check_value(one, R"("z")"), "f", "choice"));
  CHECK(only(check_value(one, R"(["a"])"), "f", "type"));
  FormDef many = field_form("select_multiple", R"(,"choices":"c","exclusive":["none"])");
  CHECK(check_value(many, R"(["a","b"])").empty());
  CHECK(check_value(many, R"(["none"])").empty());
  CHECK(only(check_value(many, R"(["a","none"])"), "f", "exclusive"));
  CHECK(only(check_value(many, R"(["a","z"])"), "f", "choice"));
  CHECK(only(check_value(many, R"(["a","a"])"), "f", "choice"));
  CHECK(only(check_value(many, R"("a")"), "f", "type"));
  CHECK(only(check_value(many, R"([1])"), "f", "type"));
  CHECK(only(check_value(many, R"(["a","b","none","a"])"), "f", "choice"));
}

TEST_CASE("types: boolean, photo and note") {
  FormDef b = field_form("boolean");
  CHECK(check_value(b, "false").empty());
  CHECK(only(check_value(b, R"("true")"), "f", "type"));
  CHECK(only(check_value(b, "1"), "f", "type"));
  FormDef p = field_form("photo");
  const std::string digest(64, 'a');
  CHECK(check_value(p, "\"sha256:" + digest + ";size=1523044;type=image/jpeg\"").empty());
  CHECK(check_value(p, "\"sha256:" + digest + ";size=1;type=image/png\"").empty());
  CHECK(only(check_value(p, R"("att-5f2c9a.jpg")"), "f", "type"));
  CHECK(only(check_value(p, R"("")"), "f", "type"));
  CHECK(only(check_value(p, "\"" + std::string(300, 'x') + "\""), "f", "type"));
  CHECK(only(check_value(p, R"({"digest":"x"})"), "f", "type"));
}

TEST_CASE("types: a photo's attachment reference is refused with a message naming what is wrong") {
  FormDef p = field_form("photo");
  const std::string digest(64, 'a');
  auto message_of = [&](const std::string& value) {
    auto errs = check_value(p, "\"" + value + "\"");
    REQUIRE(errs.size() == 1);
    CHECK(errs[0].code == "type");
    return errs[0].message;
  };
  CHECK(message_of("sha256:" + std::string(64, 'A') + ";size=1;type=image/png").find("64 lowercase hex") !=
        std::string::npos);
  CHECK(message_of("sha256:" + digest.substr(1) + ";size=1;type=image/png").find("64 lowercase hex") !=
        std::string::npos);
  CHECK(message_of("sha256:" + digest + ";type=image/png").find("size=") != std::string::npos);
  CHECK(message_of("sha256:" + digest + ";size=0;type=image/png").find("from 1") != std::string::npos);
  CHECK(message_of("sha256:" + digest + ";size=012;type=image/png").find("leading zeros") != std::string::npos);
  CHECK(message_of("sha256:" + digest + ";size=99999999999999999999;type=image/png").find("2^53") !=
        std::string::npos);
  CHECK(message_of("sha256:" + digest + ";size=12").find("type=") != std::string::npos);
  CHECK(message_of("sha256:" + digest + ";size=12;type=text/html").find("image/jpeg") != std::string::npos);
  CHECK(message_of("sha256:" + digest + ";size=12;type=image/jpeg;x=1").find("image/jpeg") != std::string::npos);
  CHECK(message_of("md5:" + digest).find("starts with 'sha256:'") != std::string::npos);
  FormDef n = must_parse(form_json(R"([{"key":"f","type":"note","label":{"en":"Read aloud"}}])"));
  CHECK(errors_of(n, "{}").empty());
  CHECK(only(errors_of(n, R"({"f":"x"})"), "f", "type"));
}

TEST_CASE("types: geopoint") {
  FormDef g = field_form("geopoint", R"(,"constraint":"accuracy(.) <= 100")");
  CHECK(check_value(g, R"({"lat":42.6,"lon":21.1,"acc":8.5})").empty());
  CHECK(check_value(g, R"({"lat":42.6,"lon":21.1,"alt":600})").empty());  // no accuracy: rule undecidable, passes
  CHECK(only(check_value(g, R"({"lat":42.6,"lon":21.1,"acc":150})"), "f", "constraint"));
  CHECK(only(check_value(g, R"({"lat":42.6})"), "f", "type"));
  CHECK(only(check_value(g, R"({"lat":91,"lon":21})"), "f", "type"));
  CHECK(only(check_value(g, R"({"lat":42,"lon":21,"acc":-1})"), "f", "type"));
  CHECK(only(check_value(g, R"({"lat":"42","lon":21})"), "f", "type"));
  CHECK(only(check_value(g, R"({"lat":42,"lon":21,"speed":3})"), "f", "type"));
  CHECK(only(check_value(g, "[42,21]"), "f", "type"));
}

TEST_CASE("types: calculated values must equal the calculation") {
  FormDef f = must_parse(form_json(R"j([
    {"key":"a","type":"integer","label":{"en":"a"},"sensitivity":"-"},
    {"key":"b","type":"integer","label":{"en":"b"},"sensitivity":"-"},
    {"key":"total","type":"integer","label":{"en":"t"},"sensitivity":"-","calculate":"sum(${a}, ${b})"},
    {"key":"big","type":"calculated","label":{"en":"big"},"sensitivity":"-","calculate":"${total} > 10"},
    {"key":"rate","type":"decimal","label":{"en":"r"},"sensitivity":"-","calculate":"${a} / ${b} * 100"}])j"));
  CHECK(f.find("total")->computed);
  CHECK(errors_of(f, R"({"a":4,"b":9,"total":13,"big":true,"rate":44.44444444444})").empty());
  CHECK(only(errors_of(f, R"({"a":4,"b":9,"total":12})"), "total", "calculation"));
  CHECK(only(errors_of(f, R"({"a":4,"b":9,"total":13,"big":false})"), "big", "calculation"));
  CHECK(only(errors_of(f, R"({"a":4,"b":9,"big":[1]})"), "big", "type"));
  CHECK(only(errors_of(f, R"({"a":4,"b":9,"rate":50})"), "rate", "calculation"));
  CHECK(errors_of(f, R"({"a":4,"b":0,"rate":50})").empty());  // division by zero: undecidable
}

TEST_CASE("types: repeat groups, item ids and item paths") {
  FormDef f = must_parse(form_json(R"([
    {"key":"site","type":"integer","label":{"en":"s"},"sensitivity":"-"},
    {"key":"visit","type":"repeat","label":{"en":"v"},"item_id":"visit_id","max_items":3,"required":true,"fields":[
      {"key":"visit_id","type":"text","label":{"en":"id"},"sensitivity":"-"},
      {"key":"pct","type":"integer","label":{"en":"p"},"sensitivity":"-","required":true,"range":{"min":0,"max":100},
       "constraint":". <= ${site}"},
      {"key":"detail","type":"text","label":{"en":"d"},"sensitivity":"D","required":true,"relevant":"${pct} < 100"}]}])"));
  CHECK(errors_of(f, R"({"site":100,"visit":[{"visit_id":"v1","pct":100},{"visit_id":"v2","pct":20,"detail":"slow"}]})")
            .empty());
  CHECK(only(errors_of(f, R"({"site":100})"), "visit", "required"));
  CHECK(only(errors_of(f, R"({"site":100,"visit":[]})"), "visit", "required"));
  CHECK(only(errors_of(f, R"({"site":100,"visit":{}})"), "visit", "type"));
  CHECK(only(errors_of(f, R"({"site":200,"visit":[{"visit_id":"v1","pct":101}]})"), "visit[v1].pct", "range"));
  CHECK(only(errors_of(f, R"({"site":50,"visit":[{"visit_id":"v1","pct":60,"detail":"x"}]})"), "visit[v1].pct",
             "constraint"));
  CHECK(only(errors_of(f, R"({"site":100,"visit":[{"visit_id":"v1","pct":60}]})"), "visit[v1].detail", "required"));
  CHECK(only(errors_of(f, R"({"site":100,"visit":[{"visit_id":"v1","pct":100,"detail":"x"}]})"), "visit[v1].detail",
             "not_relevant"));
  CHECK(only(errors_of(f, R"({"site":100,"visit":[{"visit_id":"v1","pct":100,"extra":1}]})"), "visit[v1].extra",
             "unknown_field"));
  CHECK(only(errors_of(f, R"({"site":100,"visit":[{"pct":100}]})"), "visit[0]", "repeat_item_id"));
  CHECK(only(errors_of(f, R"({"site":100,"visit":[{"visit_id":"","pct":100}]})"), "visit[0]", "repeat_item_id"));
  CHECK(only(errors_of(f, R"({"site":100,"visit":[{"visit_id":7,"pct":100}]})"), "visit[0]", "repeat_item_id"));
  CHECK(only(errors_of(f, R"({"site":100,"visit":[{"visit_id":"v1","pct":100},{"visit_id":"v1","pct":100}]})"),
             "visit[v1]", "repeat_item_id"));
  CHECK(only(errors_of(f, R"({"site":100,"visit":[{"visit_id":"v1","pct":100},3]})"), "visit[1]", "type"));
  CHECK(only(
      errors_of(f,
                R"({"site":100,"visit":[{"visit_id":"a","pct":1,"detail":"x"},{"visit_id":"b","pct":1,"detail":"x"},)"
                R"({"visit_id":"c","pct":1,"detail":"x"},{"visit_id":"d","pct":1,"detail":"x"}]})"),
      "visit", "too_large"));
}

TEST_CASE("types: nested repeats give nested paths") {
  FormDef f = must_parse(form_json(R"([
    {"key":"hh","type":"repeat","label":{"en":"h"},"item_id":"hid","fields":[
      {"key":"hid","type":"text","label":{"en":"id"},"sensitivity":"-"},
      {"key":"member","type":"repeat","label":{"en":"m"},"item_id":"mid","fields":[
        {"key":"mid","type":"text","label":{"en":"id"},"sensitivity":"-"},
        {"key":"age","type":"integer","label":{"en":"a"},"sensitivity":"Q","range":{"min":0,"max":120}}]}]}])"));
  CHECK(only(errors_of(f, R"({"hh":[{"hid":"h1","member":[{"mid":"m1","age":130}]}]})"), "hh[h1].member[m1].age",
             "range"));
}

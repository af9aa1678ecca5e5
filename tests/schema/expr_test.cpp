// Expression language: parsing (errors, limits, references) and evaluation (three-valued logic, functions).
#include "schema/forms/expr.hpp"

#include <map>
#include <string>

#include <doctest/doctest.h>

#include "tests/schema/cpu_time.hpp"

#include "schema/forms/expr_eval.hpp"

using namespace akt::forms;

using akt::forms::test::thread_cpu_seconds;

namespace {

Value eval(const std::string& text, const std::map<std::string, Value>& vars = {}, const Value* self = nullptr,
           std::string today = "2017-06-15") {
  auto e = parse_expression(text);
  REQUIRE_MESSAGE(e.ok(), text << ": " << e.status().message());
  EvalEnv env;
  env.self = self;
  env.today = std::move(today);
  env.lookup = [&vars](const std::string& k) -> const Value* {
    auto it = vars.find(k);
    return it == vars.end() ? nullptr : &it->second;
  };
  return evaluate(*e->root, env);
}

std::string parse_error(const std::string& text) {
  auto e = parse_expression(text);
  return e.ok() ? std::string() : e.status().message();
}

const Value kNull;

}  // namespace

TEST_CASE("expr: parse errors name the position and the problem") {
  CHECK(parse_error("1 +").find("unexpected end") != std::string::npos);
  CHECK(parse_error("foo(1)").find("unknown function 'foo'") != std::string::npos);
  CHECK(parse_error("selected(${a})").find("wrong number of arguments") != std::string::npos);
  CHECK(parse_error("today(1)").find("wrong number of arguments") != std::string::npos);
  CHECK(parse_error("'abc").find("unterminated string") != std::string::npos);
  CHECK(parse_error("1 2").find("unexpected trailing input") != std::string::npos);
  CHECK(parse_error("${}").find("empty field reference") != std::string::npos);
  CHECK(parse_error("${a b}").find("invalid character") != std::string::npos);
  CHECK(parse_error("${a").find("unterminated") != std::string::npos);
  CHECK(parse_error("! 1").find("'!'") != std::string::npos);
  CHECK(parse_error("regex(., ${p})").find("string literal") != std::string::npos);
  CHECK(parse_error("regex(., '(a')").find("regex") != std::string::npos);
  CHECK(parse_error(".5").find("digit") != std::string::npos);
  CHECK(parse_error("1.2.3").find("bad number") != std::string::npos);
  CHECK(parse_error("a = 1").find("unknown function") != std::string::npos);
  CHECK(parse_error("(1").find("expected ')'") != std::string::npos);
  CHECK(parse_error("1 # 2").find("at 2") != std::string::npos);
}

TEST_CASE("expr: references are collected, sorted and unique") {
  auto e = parse_expression("${b} > 1 and ${a} = ${b} or selected(., 'x')");
  REQUIRE(e.ok());
  CHECK(e->refs == std::vector<std::string>{"a", "b"});
  CHECK(e->uses_self);
  CHECK(e->source == "${b} > 1 and ${a} = ${b} or selected(., 'x')");
}

TEST_CASE("expr: limits on length, depth and size") {
  CHECK(parse_expression(std::string(64, '(') + "1" + std::string(64, ')')).ok());
  CHECK(parse_error(std::string(65, '(') + "1" + std::string(65, ')')).find("too deeply nested") != std::string::npos);
  const double start = thread_cpu_seconds();
  CHECK(parse_error(std::string(2000, '(') + "1" + std::string(2000, ')')).find("too deeply nested") !=
        std::string::npos);
  std::string nots;
  for (int i = 0; i < 500; ++i) nots += "not ";
  CHECK(parse_error(nots + "true").find("too deeply nested") != std::string::npos);
  CHECK(parse_error(std::string(5000, '1')).find("longer than") != std::string::npos);
  std::string wide = "1";
  for (int i = 0; i < 1100; ++i) wide += "+1";
  CHECK(parse_error(wide).find("too large") != std::string::npos);
  CHECK(thread_cpu_seconds() - start < 1.0);  // linear work; a blow-up would take far longer
}

TEST_CASE("expr: arithmetic and comparison") {
  CHECK(eval("1 + 2 * 3") == Value(7.0));
  CHECK(eval("(1 + 2) * 3") == Value(9.0));
  CHECK(eval("10 / 4 - 1") == Value(1.5));
  CHECK(eval("-2 + 5") == Value(3.0));
  CHECK(eval("1 / 0") == kNull);
  CHECK(eval("1 < 2 and 2 <= 2 and 3 > 2 and 3 >= 3 and 1 != 2 and 2 = 2") == Value(true));
  CHECK(eval("'2017-01-02' > '2016-12-31'") == Value(true));
  CHECK(eval("'a' = 1") == kNull);  // mixed types are undecidable, not false
  CHECK(eval("true = true") == Value(true));
  CHECK(eval("'b' < 'a'") == Value(false));
}

TEST_CASE("expr: null operands and Kleene logic") {
  CHECK(eval("${x} = 'a'") == kNull);
  CHECK(eval("${x} != 'a'") == kNull);
  CHECK(eval("${x} + 1") == kNull);
  CHECK(eval("${x} = 'a' or true") == Value(true));
  CHECK(eval("${x} = 'a' and false") == Value(false));
  CHECK(eval("${x} = 'a' and true") == kNull);
  CHECK(eval("not (${x} = 'a')") == kNull);
  CHECK(eval("not(false)") == Value(true));
  CHECK(eval("not 1") == kNull);
}

TEST_CASE("expr: functions of forms.md §0.1") {
  std::map<std::string, Value> v{{"m", std::vector<std::string>{"a", "b"}},
                                 {"s", std::string("gracanice")},
                                 {"n1", 2.0},
                                 {"n2", 3.5},
                                 {"g1", GeoPoint{42.0, 21.0, 7.5}},
                                 {"g2", GeoPoint{42.001, 21.0, std::nullopt}},
                                 {"d", std::string("2017-06-01")},
                                 {"empty_s", std::string()}};
  CHECK(eval("selected(${m}, 'b')", v) == Value(true));
  CHECK(eval("selected(${m}, 'c')", v) == Value(false));
  CHECK(eval("selected(${none}, 'c')", v) == Value(false));
  CHECK(eval("count-selected(${m})", v) == Value(2.0));
  CHECK(eval("count-selected(${none})", v) == Value(0.0));
  CHECK(eval("sum(${n1}, ${n2}, ${none})", v) == Value(5.5));
  CHECK(eval("sum(${n1}, ${s})", v) == kNull);
  CHECK(eval("empty(${none}) and empty(${empty_s}) and not(empty(${s}))", v) == Value(true));
  CHECK(eval("in(${s}, 'x', 'gracanice')", v) == Value(true));
  CHECK(eval("in(${none}, 'x')", v) == Value(false));
  CHECK(eval("regex(${s}, '[a-z]+')", v) == Value(true));
  CHECK(eval("regex(${s}, '[0-9]+')", v) == Value(false));
  CHECK(eval("regex(${none}, '[0-9]+')", v) == kNull);
  CHECK(eval("today()", v) == Value(std::string("2017-06-15")));
  CHECK(eval("today()", v, nullptr, "") == kNull);
  auto d = std::get<double>(eval("distance_m(${g1}, ${g2})", v));
  CHECK(d == doctest::Approx(111.2).epsilon(0.01));
  CHECK(eval("distance_m(${g1}, ${none})", v) == kNull);
  CHECK(eval("accuracy(${g1})", v) == Value(7.5));
  CHECK(eval("accuracy(${g2})", v) == kNull);
  CHECK(eval("latitude(${g1}) = 42 and longitude(${g1}) = 21", v) == Value(true));
  CHECK(eval("string-length('Dečani')", v) == Value(6.0));  // code points, not bytes
  CHECK(eval("string-length(${none})", v) == Value(0.0));
  CHECK(eval("days-between(${d}, today())", v) == Value(14.0));
  CHECK(eval("days-between('2016-02-28', '2016-03-01')", v) == Value(2.0));
  CHECK(eval("days-between('2017-02-30', '2017-03-01')", v) == kNull);
  CHECK(eval("starts-with('gracanice-03', concat(${s}, '-'))", v) == Value(true));
  CHECK(eval("starts-with('kamenice-03', concat(${s}, '-'))", v) == Value(false));
  CHECK(eval("concat(${s}, ${none})", v) == kNull);
}

TEST_CASE("expr: `.` is the field's own value") {
  Value self = 42.0;
  CHECK(eval(". >= 1 and . <= 999", {}, &self) == Value(true));
  CHECK(eval(". > 100", {}, &self) == Value(false));
  CHECK(eval(". = 1", {}, nullptr) == kNull);
}

TEST_CASE("expr: days_from_iso validates the calendar") {
  CHECK(days_from_iso("1970-01-01") == 0L);
  CHECK(days_from_iso("2016-02-29").has_value());
  CHECK_FALSE(days_from_iso("2017-02-29").has_value());
  CHECK_FALSE(days_from_iso("2017-13-01").has_value());
  CHECK_FALSE(days_from_iso("2017-1-01").has_value());
}

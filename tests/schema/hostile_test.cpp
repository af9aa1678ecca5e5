// Hostile definitions and bodies: every one gets a clear error quickly, none crashes or hangs.
#include <string>

#include "schema/forms/value_check.hpp"
#include "tests/schema/cpu_time.hpp"
#include "tests/schema/test_support.hpp"

using namespace akt::forms;
using namespace akt::forms::test;

namespace {

const std::string kT = R"("label":{"en":"x"},"sensitivity":"-")";

std::vector<DefinitionError> errors_for_field(const std::string& extra) {
  return def_errors(form_json(R"([{"key":"a","type":"text",)" + kT + extra + "}]"));
}

}  // namespace

TEST_CASE("hostile definitions: nesting, size, encoding") {
  const double start = thread_cpu_seconds();
  std::string deep(100000, '[');
  auto e = def_errors(deep);
  REQUIRE(e.size() == 1);
  CHECK(e[0].code == "too_deep");
  std::string deep_obj;
  for (int i = 0; i < 50000; ++i) deep_obj += R"({"a":)";
  CHECK(def_errors(deep_obj)[0].code == "too_deep");
  CHECK(def_errors(std::string(kMaxDefinitionBytes + 1, ' '))[0].code == "too_large");
  // Invalid UTF-8 inside a label string.
  std::string bad_utf8 = form_json(R"([{"key":"a","type":"text","label":{"en":"x)" + std::string("\xC3\x28") +
                                   R"("},"sensitivity":"-"}])");
  CHECK(def_errors(bad_utf8)[0].code == "invalid_json");
  CHECK(def_errors(form_json("[]") + "garbage")[0].code == "invalid_json");
  CHECK(def_errors(std::string("\0\0\0", 3))[0].code == "invalid_json");
  CHECK(def_errors("")[0].code == "invalid_json");
  // A brace inside a string does not count as nesting.
  std::string braces_in_strings =
      form_json(R"([{"key":"a","type":"text","label":{"en":")" + std::string(1000, '[') + R"("},"sensitivity":"-"}])");
  CHECK(def_errors(braces_in_strings).empty());
  CHECK(thread_cpu_seconds() - start < 2.0);
}

TEST_CASE("hostile definitions: expressions") {
  const double start = thread_cpu_seconds();
  // 10k-deep parentheses exceed the length limit; 2k-deep ones fit it and hit the depth limit.
  for (int depth : {10000, 2000}) {
    std::string parens = R"(,"constraint":")" + std::string(depth, '(') + "1" + std::string(depth, ')') + "\"";
    auto e = errors_for_field(parens);
    REQUIRE(e.size() == 1);
    CHECK(e[0].path == "fields[0].constraint");
    CHECK(e[0].code == "bad_expression");
    CHECK(e[0].message.find(depth == 10000 ? "longer than" : "too deeply nested") != std::string::npos);
  }
  CHECK(errors_for_field(R"(,"relevant":")" + std::string(5000, '1') + "\"")[0].message.find("longer than") !=
        std::string::npos);
  std::string many_nots;
  for (int i = 0; i < 2000; ++i) many_nots += "not ";
  CHECK(errors_for_field(R"(,"relevant":")" + many_nots + "true\"")[0].code == "bad_expression");
  CHECK(errors_for_field(R"j(,"constraint":"regex(., '(a{1000}){1000}')")j")[0].code == "bad_expression");
  CHECK(errors_for_field(
            R"j(,"pattern":"(((((((((((((((((((((((((((((((((((((((a)))))))))))))))))))))))))))))))))))))))")j")[0]
            .code == "bad_regex");
  CHECK(thread_cpu_seconds() - start < 2.0);
}

TEST_CASE("hostile definitions: long reference cycles and too many fields") {
  const double start = thread_cpu_seconds();
  std::string fields = "[";
  const int n = 1500;
  for (int i = 0; i < n; ++i) {
    if (i > 0) fields += ",";
    fields += R"({"key":"f)" + std::to_string(i) + R"(","type":"integer",)" + kT + R"(,"relevant":"${f)" +
              std::to_string((i + 1) % n) + R"(} > 0"})";
  }
  fields += "]";
  auto e = def_errors(form_json(fields));
  REQUIRE(e.size() == 1);
  CHECK(e[0].code == "cycle");
  std::string too_many = "[";
  for (int i = 0; i < 2100; ++i) {
    if (i > 0) too_many += ",";
    too_many += R"({"key":"f)" + std::to_string(i) + R"(","type":"integer",)" + kT + "}";
  }
  too_many += "]";
  CHECK(has(def_errors(form_json(too_many)), "fields", "too_large"));
  CHECK(thread_cpu_seconds() - start < 3.0);
}

TEST_CASE("hostile bodies") {
  FormDef f = must_parse(form_json(R"j([
    {"key":"name","type":"text","label":{"en":"n"},"sensitivity":"D","pattern":"(a|aa)*b"},
    {"key":"n","type":"integer","label":{"en":"n"},"sensitivity":"-"},
    {"key":"r","type":"repeat","label":{"en":"r"},"item_id":"id","fields":[
      {"key":"id","type":"text","label":{"en":"id"},"sensitivity":"-"}]}])j"));
  const double start = thread_cpu_seconds();
  // Over-long text.
  nlohmann::json body = {{"name", std::string(kMaxTextBytes + 1, 'a')}};
  CHECK(has(validate_record(f, body, ctx()), "name", "too_large"));
  // Long input to a pathological pattern: linear time, no stack growth.
  body = {{"name", std::string(60000, 'a')}};
  CHECK(has(validate_record(f, body, ctx()), "name", "regex"));
  // Invalid UTF-8 smuggled into a JSON value built in code.
  body = {{"name", std::string("\xFF\xFE")}};
  CHECK(has(validate_record(f, body, ctx()), "name", "type"));
  body = {{"name", std::string("\xED\xA0\x80")}};  // a UTF-16 surrogate encoded in UTF-8
  CHECK(has(validate_record(f, body, ctx()), "name", "type"));
  // A deeply nested value where a number is expected is just the wrong type.
  nlohmann::json nested = 1;
  for (int i = 0; i < 10000; ++i) {
    nlohmann::json outer = nlohmann::json::array();
    outer.push_back(std::move(nested));
    nested = std::move(outer);
  }
  // Moved, never copied: nlohmann's copy constructor and dump() recurse (its parser and destructor do not).
  body = nlohmann::json::object();
  body["n"] = std::move(nested);
  CHECK(has(validate_record(f, body, ctx()), "n", "type"));
  // Too many repeat items.
  nlohmann::json items = nlohmann::json::array();
  for (int i = 0; i < 5000; ++i) items.push_back({{"id", std::to_string(i)}});
  body = {{"r", items}};
  CHECK(has(validate_record(f, body, ctx()), "r", "too_large"));
  // A huge unknown key is reported with a truncated path.
  body = {{std::string(100000, 'k'), 1}};
  auto e = validate_record(f, body, ctx());
  REQUIRE(e.size() == 1);
  CHECK(e[0].code == "unknown_field");
  CHECK(e[0].path.size() == 64);
  // A huge item id is refused rather than echoed.
  body = {{"r", nlohmann::json::array({{{"id", std::string(1000, 'i')}}})}};
  CHECK(has(validate_record(f, body, ctx()), "r[0]", "repeat_item_id"));
  CHECK(thread_cpu_seconds() - start < 3.0);
}

TEST_CASE("hostile text in messages is clipped on a code-point boundary") {
  std::string name;
  for (int i = 0; i < 30; ++i) name += "Dečani";
  std::string clipped = excerpt(name);
  CHECK(clipped.size() <= 64);
  CHECK(is_valid_utf8(clipped));
  CHECK(excerpt("\xFF") == "(invalid UTF-8)");
  FormDef f = must_parse(
      form_json(R"([{"key":"c","type":"select_one","label":{"en":"c"},"choices":"L:yes_no","sensitivity":"-"}])"));
  nlohmann::json body = {{"c", std::string(63, 'x') + "\xC5\xA1"}};  // a 2-byte character straddles the cut
  auto e = validate_record(f, body, ctx());
  REQUIRE(e.size() == 1);
  CHECK(e[0].code == "choice");
  CHECK(is_valid_utf8(e[0].message));
  CHECK_NOTHROW((void)nlohmann::json(e[0].message).dump());
}

// validate_record: skip logic, required-if-relevant, constraints and warnings, server date, body shape.
#include "schema/forms/validator.hpp"
#include "tests/schema/programme_support.hpp"
#include "tests/schema/test_support.hpp"

using namespace akt::forms;
using namespace akt::forms::test;

namespace {

const char* kLists = R"({"yn":[{"code":"yes","label":{"en":"Yes"}},{"code":"no","label":{"en":"No"}}]})";

FormDef skip_form() {
  return must_parse(form_json(R"j([
    {"key":"consent","type":"select_one","label":{"en":"c"},"required":true,"choices":"yn","sensitivity":"-"},
    {"key":"age","type":"integer","label":{"en":"a"},"required":true,"relevant":"${consent} = 'yes'","sensitivity":"Q",
     "range":{"min":18,"max":120}},
    {"key":"job","type":"text","label":{"en":"j"},"required":true,"relevant":"${age} >= 65","sensitivity":"-"},
    {"key":"why","type":"text","label":{"en":"w"},"relevant":"${consent} = 'no'","sensitivity":"-"},
    {"key":"tags","type":"select_multiple","label":{"en":"t"},"required":true,"choices":"yn","sensitivity":"-",
     "relevant":"not(${consent} = 'no')"}])j",
                              kLists));
}

}  // namespace

TEST_CASE("logic: required when relevant, absent when not") {
  FormDef f = skip_form();
  CHECK(errors_of(f, R"({"consent":"yes","age":30,"tags":["yes"]})").empty());
  CHECK(errors_of(f, R"({"consent":"no"})").empty());               // age, job, tags not asked
  CHECK(errors_of(f, R"({"consent":"no","why":"busy"})").empty());  // optional when relevant
  auto e = errors_of(f, R"({"consent":"yes","tags":["yes"]})");
  CHECK(has(e, "age", "required"));
  CHECK(e.size() == 1);
  CHECK(has(errors_of(f, R"({})"), "consent", "required"));
}

TEST_CASE("logic: answers to questions that do not apply are rejected") {
  FormDef f = skip_form();
  auto e = errors_of(f, R"({"consent":"no","age":30})");
  CHECK(has(e, "age", "not_relevant"));
  CHECK(e.size() == 1);
  CHECK(has(errors_of(f, R"({"consent":"yes","age":30,"tags":["no"],"why":"x"})"), "why", "not_relevant"));
}

TEST_CASE("logic: relevance cascades through non-relevant fields") {
  FormDef f = skip_form();
  // age is not relevant, so it reads as null and job (${age} >= 65) is not relevant either,
  // even though the body carries an age.
  auto e = errors_of(f, R"({"consent":"no","age":70,"job":"retired"})");
  CHECK(has(e, "age", "not_relevant"));
  CHECK(has(e, "job", "not_relevant"));
  CHECK(has(errors_of(f, R"({"consent":"yes","age":70,"tags":["no"]})"), "job", "required"));
}

TEST_CASE("logic: absent, null and empty") {
  FormDef f = skip_form();
  CHECK(has(errors_of(f, R"({"consent":"yes","age":null,"tags":["yes"]})"), "age", "required"));  // null = absent
  CHECK(errors_of(f, R"({"consent":"no","age":null})").empty());                                  // null is "not asked"
  CHECK(has(errors_of(f, R"({"consent":"yes","age":70,"job":"","tags":["yes"]})"), "job", "required"));
  CHECK(has(errors_of(f, R"({"consent":"yes","age":30,"tags":[]})"), "tags", "required"));
  // Null relevance (consent absent) means not relevant; the missing consent is the one error.
  auto e = errors_of(f, R"({})");
  CHECK(e.size() == 1);
}

TEST_CASE("logic: body shape") {
  FormDef f = skip_form();
  CHECK(has(errors_of(f, R"([])"), "", "type"));
  CHECK(has(errors_of(f, R"("x")"), "", "type"));
  auto e = errors_of(f, R"({"consent":"no","record_id":"x","Consent":"no"})");
  CHECK(has(e, "record_id", "unknown_field"));
  CHECK(has(e, "Consent", "unknown_field"));
}

TEST_CASE("logic: constraints, messages and warnings") {
  FormDef f = must_parse(form_json(R"j([
    {"key":"total","type":"integer","label":{"en":"t"},"sensitivity":"-"},
    {"key":"women","type":"integer","label":{"en":"w"},"sensitivity":"-","constraint":". <= ${total}",
     "constraint_message":"more women than members"},
    {"key":"size","type":"integer","label":{"en":"s"},"sensitivity":"-","range":{"min":1,"max":25},
     "checks":[{"expr":". <= 15","message":"large household: confirm","level":"warn"},
               {"expr":". != 13"}]}])j"));
  CHECK(errors_of(f, R"({"total":5,"women":5,"size":4})").empty());
  auto e = errors_of(f, R"({"total":5,"women":6})");
  REQUIRE(e.size() == 1);
  CHECK(e[0] == FieldError{"women", "constraint", "more women than members"});
  CHECK(errors_of(f, R"({"women":6})").empty());  // total not given: undecidable, passes
  Validation v = check_record(f, nlohmann::json::parse(R"({"size":20})"), ctx());
  CHECK(v.ok());
  REQUIRE(v.warnings.size() == 1);
  CHECK(v.warnings[0] == FieldError{"size", "constraint", "large household: confirm"});
  auto m = errors_of(f, R"({"size":13})");
  REQUIRE(m.size() == 1);
  CHECK(m[0].message == "constraint failed: . != 13");  // default message names the rule
}

TEST_CASE("logic: today() is the server date from the context") {
  FormDef f = must_parse(form_json(R"j([{"key":"d","type":"date","label":{"en":"d"},"sensitivity":"-",
                                        "constraint":". <= today()"}])j"));
  auto body = nlohmann::json::parse(R"({"d":"2017-06-16"})");
  CHECK(has(validate_record(f, body, ValidationContext{"2017-06-15"}), "d", "constraint"));
  CHECK(validate_record(f, body, ValidationContext{"2017-06-16"}).empty());
  CHECK(validate_record(f, body, ValidationContext{""}).empty());            // no date given: cannot decide
  CHECK(validate_record(f, body, ValidationContext{"15/06/2017"}).empty());  // ill-formed: treated as none
}

TEST_CASE("logic: the common header's device-time window is a warning") {
  FormDef f = must_parse(form_json("[]"), true);
  nlohmann::json body = {{"enumerator_id", "enum_07"},
                         {"team_id", "t"},
                         {"device_id", "d"},
                         {"started_at", "2015-01-01T10:00:00Z"},
                         {"ended_at", "2015-01-01T10:30:00Z"},
                         {"app_version", "1"},
                         {"review_status", "draft"}};
  Validation v = check_record(f, body, ctx());
  CHECK(v.ok());
  CHECK(has(v.warnings, "started_at", "constraint"));
  body["enumerator_id"] = "Enumerator Seven";
  body["review_status"] = "published";
  auto e = validate_record(f, body, ctx());
  CHECK(has(e, "enumerator_id", "regex"));
  CHECK(has(e, "review_status", "choice"));
}

TEST_CASE("logic: errors are capped") {
  FormDef f = skip_form();
  nlohmann::json body = nlohmann::json::object();
  for (int i = 0; i < 1000; ++i) body["x" + std::to_string(i)] = i;
  auto e = validate_record(f, body, ctx());
  CHECK(e.size() == kMaxReportedErrors + 1);
  CHECK(e.back().code == "too_many_errors");
}

TEST_CASE("logic: recompute_calculated sets computed fields from the other answers (after a merge)") {
  const FormDef& b = akt::forms::test::form(akt::forms::test::B);
  nlohmann::json body = akt::forms::test::patched(akt::forms::test::B, R"({"ben_serb":315,"ben_roma":52})");
  REQUIRE(has(validate_record(b, body, ctx()), "ben_total", "calculation"));
  const int before = body["ben_total"].get<int>();
  CHECK(recompute_calculated(b, body, ctx()));
  CHECK(body["ben_total"] == before + 12);
  CHECK(body["ben_total"].is_number_integer());  // an integer field stays an integer in the JSON
  CHECK(validate_record(b, body, ctx()).empty());
  CHECK_FALSE(recompute_calculated(b, body, ctx()));  // nothing left to change
  nlohmann::json not_object = nlohmann::json::array();
  CHECK_FALSE(recompute_calculated(b, not_object, ctx()));
}

TEST_CASE("logic: field states and settling a body for an app that fills the form") {
  FormDef f = must_parse(form_json(R"j([
    {"key":"consent","type":"select_one","label":{"en":"c"},"required":true,"choices":"yn","sensitivity":"-"},
    {"key":"n","type":"integer","label":{"en":"n"},"relevant":"${consent} = 'yes'","sensitivity":"-"},
    {"key":"twice","type":"integer","label":{"en":"t"},"calculate":"${n} * 2","sensitivity":"-"},
    {"key":"big","type":"text","label":{"en":"b"},"relevant":"${twice} > 10","sensitivity":"-"},
    {"key":"visit","type":"repeat","label":{"en":"v"},"item_id":"vid","fields":[
      {"key":"vid","type":"text","label":{"en":"id"},"computed":true,"sensitivity":"-"},
      {"key":"ok","type":"select_one","label":{"en":"ok"},"choices":"yn","sensitivity":"-"},
      {"key":"why","type":"text","label":{"en":"w"},"relevant":"${ok} = 'no'","sensitivity":"-"}]}])j",
                                   kLists));
  const ValidationContext ctx{"2017-06-15"};
  auto body = nlohmann::json::parse(R"({"consent":"yes","n":7,"visit":[{"vid":"a","ok":"yes","why":"x"}]})");
  auto states = field_states(f, body, ctx);
  auto find = [&](const std::string& path) -> const FieldState* {
    for (const auto& s : states)
      if (s.path == path) return &s;
    return nullptr;
  };
  REQUIRE(find("twice") != nullptr);
  CHECK(find("twice")->has_computed);
  CHECK(find("twice")->computed == "14");
  REQUIRE(find("visit[a].why") != nullptr);
  CHECK_FALSE(find("visit[a].why")->relevant);
  CHECK(find("visit[a].why")->pointer == "/visit/0/why");
  CHECK(find("big") != nullptr);
  CHECK_FALSE(find("big")->relevant);  // twice is absent from the body, so null
  // Settling sets the computed value (twice = 14 makes `big` relevant) and drops the item's `why`.
  CHECK(settle_body(f, body, ctx));
  CHECK(body["twice"] == 14);
  CHECK_FALSE(body["visit"][0].contains("why"));
  CHECK(validate_record(f, body, ctx).empty());
  CHECK(find("big") != nullptr);
  bool big_relevant = false;
  for (const auto& s : field_states(f, body, ctx))
    if (s.path == "big") big_relevant = s.relevant;
  CHECK(big_relevant);
  // consent = no: n and the computed value's inputs go; twice is then null and stays as last set
  // only if relevant: it is (no relevance), but its expression gives null, so the stored value is kept
  // and the validator accepts it (a null result leaves the stored value, as recompute_calculated).
  body["consent"] = "no";
  CHECK(settle_body(f, body, ctx));
  CHECK_FALSE(body.contains("n"));
  CHECK(validate_record(f, body, ctx).empty());
  CHECK_FALSE(settle_body(f, body, ctx));  // settled: nothing moves
}

// parse_form: the definition format, lookups for the merge engine, and precise definition errors.
#include "schema/forms/form_parser.hpp"

#include "tests/schema/test_support.hpp"

using namespace akt::forms;
using namespace akt::forms::test;

namespace {

const char* kYesNo =
    R"({"yn":[{"code":"yes","label":{"en":"Yes","sq":"Po","sr":"Da"}},{"code":"no","label":{"en":"No"}}]})";

std::string one(const std::string& field) { return form_json("[" + field + "]", kYesNo); }

}  // namespace

TEST_CASE("parse_form: a complete small form and its lookups") {
  FormDef f = must_parse(form_json(R"([
    {"key":"a","type":"select_one","label":{"en":"A","sq":"A sq","sr":"A sr"},"required":true,"choices":"yn","sensitivity":"-"},
    {"key":"b","type":"integer","label":{"en":"B"},"relevant":"${a} = 'yes'","range":{"min":1,"max":9},
     "constraint":". != 5","constraint_message":"not five","sensitivity":"S-agg"},
    {"key":"langs","type":"select_multiple","label":{"en":"L"},"choices":"L:language","sensitivity":"Q",
     "merge_policy":"set_union","exclusive":["sq"]},
    {"key":"v","type":"repeat","label":{"en":"Visits"},"item_id":"vid","fields":[
      {"key":"vid","type":"text","label":{"en":"id"},"sensitivity":"-"},
      {"key":"x","type":"decimal","label":{"en":"x"},"sensitivity":"C","merge_policy":"admin_only",
       "constraint":". < ${b}"}]}
  ])",
                                   kYesNo));
  CHECK(f.form_id == "t");
  CHECK(f.version == 1);
  CHECK(f.header_keys.empty());
  REQUIRE(f.find("a") != nullptr);
  CHECK(f.find("a")->label.sq == "A sq");
  CHECK(f.list("yn")->choices[0].label.sr == "Da");
  CHECK(f.list("L:language") != nullptr);  // shared list copied in because it is used
  CHECK(f.list("L:municipality") == nullptr);
  const FieldDef* b = f.find("b");
  REQUIRE(b != nullptr);
  CHECK(b->sensitivity == Sensitivity::kSAgg);
  CHECK(b->min == 1.0);
  CHECK(b->checks.size() == 1);
  CHECK(b->checks[0].message == "not five");
  CHECK(b->checks[0].def_path == "fields[1].constraint");
  CHECK(f.find("langs")->merge_policy == MergePolicy::kSetUnion);
  const FieldDef* x = f.find("x");
  REQUIRE(x != nullptr);
  CHECK(x->repeat == "v");
  CHECK(x->merge_policy == MergePolicy::kAdminOnly);
  CHECK(f.find("vid")->required);  // the item id is always required and immutable
  CHECK(f.find("vid")->immutable);
  CHECK(f.find("nope") == nullptr);
  std::vector<std::string> keys;
  for (const FieldDef* d : f.all_fields()) keys.push_back(d->key);
  CHECK(keys == std::vector<std::string>{"a", "b", "langs", "v", "vid", "x"});
}

TEST_CASE("parse_form: names of types, sensitivity classes and policies round-trip") {
  for (const char* t : {"text", "integer", "decimal", "date", "datetime", "select_one", "select_multiple", "boolean",
                        "geopoint", "photo", "note", "calculated", "repeat"}) {
    CHECK(to_string(*field_type_from(t)) == t);
  }
  for (const char* s : {"D", "Q", "S", "S*", "S-agg", "P", "C", "-"}) CHECK(to_string(*sensitivity_from(s)) == s);
  for (const char* p : {"default", "set_union", "admin_only"}) CHECK(to_string(*merge_policy_from(p)) == p);
  CHECK_FALSE(field_type_from("string").has_value());
}

TEST_CASE("parse_form: evaluation order puts dependencies first") {
  FormDef f = must_parse(form_json(R"([
    {"key":"c","type":"integer","label":{"en":"c"},"relevant":"${b} > 0","sensitivity":"-"},
    {"key":"b","type":"integer","label":{"en":"b"},"relevant":"${a} > 0","sensitivity":"-"},
    {"key":"a","type":"integer","label":{"en":"a"},"sensitivity":"-"}])"));
  CHECK(f.order == std::vector<std::size_t>{2, 1, 0});
}

TEST_CASE("parse_form: the common header is prepended unless disabled") {
  FormDef f = must_parse(one(R"({"key":"q","type":"text","label":{"en":"Q"},"sensitivity":"-"})"), true);
  CHECK(f.header_keys == std::vector<std::string>{"enumerator_id", "team_id", "device_id", "started_at", "ended_at",
                                                  "app_version", "review_status", "review_comment"});
  CHECK(f.fields.size() == 9);
  CHECK(f.find("review_comment")->merge_policy == MergePolicy::kAdminOnly);
  CHECK(f.find("review_comment")->sensitivity == Sensitivity::kD);
  ParseOptions opts;
  auto clash =
      parse_form_detailed(one(R"({"key":"team_id","type":"text","label":{"en":"Q"},"sensitivity":"-"})"), opts);
  CHECK(has(clash.errors, "fields[0].key", "duplicate_key"));
}

TEST_CASE("parse_form: definition errors carry a JSON path and a code") {
  struct Case {
    std::string text;
    std::string path;
    std::string code;
  };
  const std::string t = R"("label":{"en":"x"},"sensitivity":"-")";
  std::vector<Case> cases = {
      {"not json", "", "invalid_json"},
      {"[]", "", "type"},
      {R"({"v":2,"form_id":"t","version":1,"title":{"en":"T"},"fields":[]})", "v", "unsupported_version"},
      {R"({"v":1,"form_id":"t","version":0,"title":{"en":"T"},"fields":[]})", "version", "type"},
      {R"({"v":1,"form_id":"Bad-Id","version":1,"title":{"en":"T"},"fields":[]})", "form_id", "bad_key"},
      {R"({"v":1,"form_id":"t","version":1,"title":{"en":"T"}})", "fields", "missing"},
      {R"({"v":1,"form_id":"t","version":1,"title":{"en":"T"},"fields":[],"extra":1})", "extra", "unknown_property"},
      {R"({"v":1,"form_id":"t","version":1,"title":{"fr":"T"},"fields":[]})", "title.fr", "unknown_property"},
      {one(R"({"key":"a","type":"string",)" + t + "}"), "fields[0].type", "unknown_type"},
      {one(R"({"key":"A","type":"text",)" + t + "}"), "fields[0].key", "bad_key"},
      {one(R"({"key":"a","type":"text","label":{"en":"x"}})"), "fields[0].sensitivity", "missing"},
      {one(R"({"key":"a","type":"text","label":{"en":"x"},"sensitivity":"X"})"), "fields[0].sensitivity",
       "unknown_sensitivity"},
      {one(R"({"key":"a","type":"text","sensitivity":"-"})"), "fields[0].label", "missing"},
      {one(R"({"key":"a","type":"text",)" + t + R"(,"colour":"red"})"), "fields[0].colour", "unknown_property"},
      {one(R"({"key":"a","type":"text",)" + t + R"(,"range":{"min":1}})"), "fields[0].range", "misplaced_property"},
      {one(R"({"key":"a","type":"date",)" + t + R"(,"range":{"min":"2014-13-01"}})"), "fields[0].range.min", "type"},
      {one(R"({"key":"a","type":"integer",)" + t + R"(,"length":{"max":3}})"), "fields[0].length",
       "misplaced_property"},
      {one(R"({"key":"a","type":"text",)" + t + R"(,"pattern":"(a"})"), "fields[0].pattern", "bad_regex"},
      {one(R"({"key":"a","type":"text",)" + t + R"(,"choices":"yn"})"), "fields[0].choices", "misplaced_property"},
      {one(R"({"key":"a","type":"select_one",)" + t + "}"), "fields[0].choices", "missing"},
      {one(R"({"key":"a","type":"select_one",)" + t + R"(,"choices":"nope"})"), "fields[0].choices",
       "unknown_choice_list"},
      {one(R"({"key":"a","type":"select_multiple",)" + t + R"(,"choices":"yn","exclusive":["maybe"]})"),
       "fields[0].exclusive", "unknown_code"},
      {one(R"({"key":"a","type":"select_one",)" + t + R"(,"choices":"yn","merge_policy":"set_union"})"),
       "fields[0].merge_policy", "misplaced_property"},
      {one(R"({"key":"a","type":"text",)" + t + R"(,"merge_policy":"lww"})"), "fields[0].merge_policy",
       "unknown_merge_policy"},
      {one(R"({"key":"a","type":"text",)" + t + R"(,"relevant":"${zz} = 1"})"), "fields[0].relevant",
       "dangling_reference"},
      {one(R"({"key":"a","type":"text",)" + t + R"(,"relevant":"${a} = 'x'"})"), "fields[0].relevant", "cycle"},
      {one(R"({"key":"a","type":"text",)" + t + R"(,"constraint":". = (1"})"), "fields[0].constraint",
       "bad_expression"},
      {one(R"({"key":"a","type":"text",)" + t + R"(,"relevant":3})"), "fields[0].relevant", "type"},
      {one(R"({"key":"a","type":"text",)" + t + R"(,"constraint_message":"m"})"), "fields[0].constraint_message",
       "misplaced_property"},
      {one(R"({"key":"a","type":"text",)" + t + R"(,"checks":[{"expr":". = 1","level":"fatal"}]})"),
       "fields[0].checks[0].level", "unknown_property"},
      {one(R"({"key":"a","type":"calculated",)" + t + "}"), "fields[0].calculate", "missing"},
      {one(R"({"key":"a","type":"note","label":{"en":"x"},"required":true})"), "fields[0]", "misplaced_property"},
      {one(R"({"key":"a","type":"text",)" + t + R"(,"required":"yes"})"), "fields[0].required", "type"},
      {one(R"({"key":"r","type":"repeat","label":{"en":"r"},"fields":[]})"), "fields[0].item_id", "missing"},
      {one(R"({"key":"r","type":"repeat","label":{"en":"r"},"item_id":"id","fields":[{"key":"id","type":"integer",)" +
           t + "}]}"),
       "fields[0].item_id", "bad_item_id"},
      {one(R"({"key":"a","type":"text",)" + t + R"(,"item_id":"x"})"), "fields[0]", "misplaced_property"},
      {form_json(std::string("[") + R"({"key":"a","type":"text",)" + t + "},{" + R"("key":"a","type":"text",)" + t +
                 "}]"),
       "fields[1].key", "duplicate_key"},
      {form_json(R"([{"key":"a","type":"text",)" + t +
                 R"(},{"key":"n","type":"note","label":{"en":"n"}},)"
                 R"({"key":"b","type":"text",)" +
                 t + R"j(,"relevant":"empty(${n})"}])j"),
       "fields[2].relevant", "bad_reference"},
      {form_json(
           R"([{"key":"r","type":"repeat","label":{"en":"r"},"item_id":"id","fields":[{"key":"id","type":"text",)" + t +
           R"(}]},{"key":"b","type":"text",)" + t + R"(,"relevant":"${id} = 'x'"}])"),
       "fields[1].relevant", "bad_reference"},
      {R"({"v":1,"form_id":"t","version":1,"title":{"en":"T"},"choice_lists":{"l":[{"code":"a","label":{"en":"A"}},{"code":"a","label":{"en":"B"}}]},"fields":[]})",
       "choice_lists.l[1].code", "duplicate_code"},
      {R"({"v":1,"form_id":"t","version":1,"title":{"en":"T"},"unique_key":["nope"],"fields":[]})", "unique_key[0]",
       "dangling_reference"},
      {R"({"v":1,"form_id":"t","version":1,"title":{"en":"T"},"unique_key":[],"fields":[]})", "unique_key", "type"},
      {R"({"v":1,"form_id":"t","version":1,"title":{"en":"T"},"unique_key":["a","a"],)"
       R"("fields":[{"key":"a","type":"text","label":{"en":"a"},"sensitivity":"-"}]})",
       "unique_key[1]", "duplicate_key"},
      {R"({"v":1,"form_id":"t","version":1,"title":{"en":"T"},"unique_key":[3],"fields":[]})", "unique_key[0]", "type"},
      {R"({"v":1,"form_id":"t","version":1,"title":{"en":"T"},"choice_lists":{"l":[]},"fields":[]})", "choice_lists.l",
       "type"},
  };
  for (const Case& c : cases) {
    auto errs = def_errors(c.text);
    INFO(c.text << "\n" << describe(errs));
    CHECK(has(errs, c.path, c.code));
  }
}

TEST_CASE("parse_form: reference cycles are found and named") {
  auto errs = def_errors(form_json(R"([
    {"key":"a","type":"integer","label":{"en":"a"},"sensitivity":"-","relevant":"${c} > 0"},
    {"key":"b","type":"integer","label":{"en":"b"},"sensitivity":"-","constraint":". < ${a}"},
    {"key":"c","type":"integer","label":{"en":"c"},"sensitivity":"-","calculate":"${b} + 1"},
    {"key":"d","type":"integer","label":{"en":"d"},"sensitivity":"-","relevant":"${a} > 0"}])"));
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].code == "cycle");
  CHECK(errs[0].message.find("a") != std::string::npos);
  CHECK(errs[0].message.find("b") != std::string::npos);
  CHECK(errs[0].message.find("c") != std::string::npos);
  // A constraint may name its own field instead of `.`: not a cycle.
  CHECK(def_errors(
            form_json(R"([{"key":"a","type":"integer","label":{"en":"a"},"sensitivity":"-","constraint":"${a} > 0"}])"))
            .empty());
}

TEST_CASE("parse_form: repeat scoping and nesting limits") {
  const std::string t = R"("label":{"en":"x"},"sensitivity":"-")";
  // An item field may read its siblings and top-level fields.
  must_parse(form_json(R"([{"key":"top","type":"integer",)" + t + R"(},
    {"key":"r","type":"repeat","label":{"en":"r"},"item_id":"id","fields":[{"key":"id","type":"text",)" +
                       t + R"(},
      {"key":"x","type":"integer",)" +
                       t + R"(,"relevant":"${top} > 0","constraint":". < ${y}"},
      {"key":"y","type":"integer",)" +
                       t + R"(}]}])"));
  // Repeats nest at most kMaxRepeatNesting deep.
  std::string inner = R"({"key":"leaf","type":"text",)" + t + "}";
  for (int i = 0; i < 4; ++i) {
    std::string k = "r" + std::to_string(i);
    inner = R"({"key":")" + k + R"(","type":"repeat","label":{"en":"r"},"item_id":")" + k +
            R"(_id","fields":[{"key":")" + k + R"(_id","type":"text",)" + t + "}," + inner + "]}";
  }
  auto errs = def_errors(form_json("[" + inner + "]"));
  CHECK(has(errs, "fields[0].fields[1].fields[1].fields[1]", "too_deep"));
}

TEST_CASE("parse_form: Result form joins every error") {
  auto r = parse_form(one(R"({"key":"a","type":"string","label":{"en":"x"},"sensitivity":"-"})"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == akt::Status::Code::kInvalidArgument);
  CHECK(r.status().message().find("fields[0].type: unknown_type") != std::string::npos);
}

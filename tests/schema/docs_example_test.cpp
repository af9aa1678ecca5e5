// docs/FORMS.md §7: the example definition and body in the documentation parse and behave as described.
#include <string>

#include "tests/schema/test_support.hpp"

using namespace akt::forms;
using namespace akt::forms::test;

namespace {

// The text of the fenced block whose info string is "json <tag>".
std::string fenced_block(const std::string& doc, const std::string& tag) {
  std::string open = "```json " + tag + "\n";
  auto start = doc.find(open);
  REQUIRE_MESSAGE(start != std::string::npos, "no block " << tag);
  start += open.size();
  auto end = doc.find("```", start);
  REQUIRE(end != std::string::npos);
  return doc.substr(start, end - start);
}

}  // namespace

TEST_CASE("docs: the FORMS.md example form and body") {
  std::string doc = read_repo_file("docs/FORMS.md");
  auto form = parse_form(fenced_block(doc, "form-example"));
  REQUIRE_MESSAGE(form.ok(), form.status().message());
  auto body = nlohmann::json::parse(fenced_block(doc, "body-example"));
  Validation v = check_record(*form, body, ctx());
  INFO(describe(v.errors) << describe(v.warnings));
  CHECK(v.errors.empty());
  CHECK(v.warnings.empty());

  auto with = [&](const char* patch) {
    nlohmann::json b = body;
    auto p = nlohmann::json::parse(patch);
    b = p.is_array() ? b.patch(p) : (b.merge_patch(p), b);
    return validate_record(*form, b, ctx());
  };
  CHECK(has(with(R"({"broken_since":"2017-07-01"})"), "broken_since", "constraint"));
  CHECK(has(with(R"({"condition":"working"})"), "broken_since", "not_relevant"));
  CHECK(has(with(R"([{"op":"replace","path":"/inspection/0/issues","value":["none","leak"]}])"),
            "inspection[3f1c8a52-0d4e-4b6f-9a1b-2c3d4e5f6a7b].issues", "exclusive"));
  CHECK(has(with(R"([{"op":"remove","path":"/inspection/0/inspection_id"}])"), "inspection[0]", "repeat_item_id"));
  CHECK(has(with(R"({"households_other":80})"), "households_other", "calculation"));
}

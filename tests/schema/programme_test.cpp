// The four programme instruments (schema/forms/programme/*.json): they parse, and a realistic
// record of each (tests/schema/fixtures/) validates cleanly.
#include <string>

#include "tests/schema/test_support.hpp"

using namespace akt::forms;
using namespace akt::forms::test;

namespace {

const char* const kForms[] = {"so1_interethnic_survey", "so1_infra_monitoring", "so2_business_followup",
                              "so3_municipal_service"};

FormDef load_form(const std::string& id) {
  FormParse r = parse_form_detailed(read_repo_file("schema/forms/programme/" + id + ".json"));
  INFO(id << "\n" << describe(r.errors));
  REQUIRE(r.form.has_value());
  return std::move(*r.form);
}

}  // namespace

TEST_CASE("programme: the four instruments parse with the common header") {
  for (const char* id : kForms) {
    FormDef f = load_form(id);
    CHECK(f.form_id == id);
    CHECK(f.version == 1);
    CHECK(f.find("enumerator_id") != nullptr);
    CHECK(f.find("review_status") != nullptr);
    CHECK(f.find("record_id") == nullptr);  // envelope, not body
  }
  // The uniqueness keys of forms.md (duplicate check).
  CHECK(load_form("so1_interethnic_survey").unique_key == std::vector<std::string>{"survey_wave", "cluster_id", "hh_number"});
  CHECK(load_form("so1_infra_monitoring").unique_key == std::vector<std::string>{"project_id"});
  CHECK(load_form("so2_business_followup").unique_key == std::vector<std::string>{"business_id", "followup_round"});
  CHECK(load_form("so3_municipal_service").unique_key ==
        std::vector<std::string>{"municipality", "service", "assessment_round"});
}

TEST_CASE("programme: a realistic record of each instrument is valid") {
  for (const char* id : kForms) {
    FormDef f = load_form(id);
    auto body = nlohmann::json::parse(read_repo_file("tests/schema/fixtures/" + std::string(id) + ".valid.json"));
    Validation v = check_record(f, body, ctx());
    INFO(std::string(id) << "\n" << describe(v.errors));
    CHECK(v.errors.empty());
    INFO("warnings:\n" << describe(v.warnings));
    CHECK(v.warnings.empty());
  }
}

// Shared by the programme rule tests: the four instruments (parsed once), their valid fixtures, and a
// runner that patches a fixture and expects an exact (path, code) error or warning.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tests/schema/test_support.hpp"

namespace akt::forms::test {

struct Case {
  const char* form;
  const char* patch;
  const char* path;
  const char* code;
  bool is_warning = false;
};

inline const FormDef& form(const std::string& id) {
  static std::map<std::string, FormDef> cache;
  auto it = cache.find(id);
  if (it == cache.end()) {
    auto r = parse_form(read_repo_file("schema/forms/programme/" + id + ".json"));
    REQUIRE_MESSAGE(r.ok(), r.status().message());
    it = cache.emplace(id, std::move(r).value()).first;
  }
  return it->second;
}

inline nlohmann::json patched(const std::string& id, const std::string& patch) {
  auto body = nlohmann::json::parse(read_repo_file("tests/schema/fixtures/" + id + ".valid.json"));
  auto p = nlohmann::json::parse(patch);
  if (p.is_array()) return body.patch(p);
  body.merge_patch(p);
  return body;
}

inline void run(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    Validation v = check_record(form(c.form), patched(c.form, c.patch), ctx());
    INFO(std::string(c.form) << " " << std::string(c.patch) << "\nerrors:\n"
                             << describe(v.errors) << "warnings:\n"
                             << describe(v.warnings));
    if (c.is_warning) {
      CHECK(v.errors.empty());
      CHECK(has(v.warnings, c.path, c.code));
    } else {
      CHECK(has(v.errors, c.path, c.code));
    }
  }
}

inline void valid(const char* id, const char* patch) {
  Validation v = check_record(form(id), patched(id, patch), ctx());
  INFO(std::string(id) << " " << std::string(patch) << "\n" << describe(v.errors));
  CHECK(v.errors.empty());
}

inline constexpr const char* A = "so1_interethnic_survey";
inline constexpr const char* B = "so1_infra_monitoring";
inline constexpr const char* C = "so2_business_followup";
inline constexpr const char* D = "so3_municipal_service";

// Form A without contact: only section A1 and the outcome remain.
inline constexpr const char* kNoContact = R"({"respondent_available":"no","not_interviewed_reason":"nobody_home",
  "interview_outcome":"no_contact","interview_language":null,"adult_confirmed":null,"consent":null,"gps":null,
  "photo_context":null,"resp_gender":null,"resp_age_band":null,"resp_community":null,"langs_spoken":null,
  "resp_education":null,"resp_employment":null,"hh_size":null,"displacement_status":null,"contact_freq":null,
  "contact_communities":null,"contact_settings":null,"contact_settings_other":null,"contact_language":null,
  "contact_quality":null,"unfair_treatment_12m":null,"unfair_treatment_where":null,"comfort_neighbour":null,
  "comfort_coworker":null,"comfort_shop":null,"joint_activity_12m":null,"joint_activity_count":null,
  "joint_activity_programme":null,"relations_change":null,"contacted_municipality_12m":null,
  "service_language_ok":null,"service_satisfaction":null,"trust_municipality":null,"trust_mun_assembly":null,
  "trust_central_gov":null,"trust_police":null,"equal_services":null,"mun_listens":null,"public_meeting_12m":null,
  "public_meeting_count":null,"public_meeting_spoke":null,"public_meeting_interpretation":null,
  "public_meeting_mixed":null,"local_initiative_12m":null,"mun_request_12m":null,"safety_other_areas":null,
  "coop_necessary":null,"relations_outlook":null,"top_problem":null,"comments":null,"backcheck_consent":null,
  "backcheck_phone":null,"third_party_present":null})";

}  // namespace akt::forms::test

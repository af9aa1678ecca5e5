// Form A (so1_interethnic_survey) and the common header: every documented rule rejects a violating record.
// Each case patches the valid fixture (merge patch, or JSON Patch when it starts with '[').
#include <string>

#include "tests/schema/programme_support.hpp"

using namespace akt::forms;
using namespace akt::forms::test;

TEST_CASE("rules: common header (forms.md §0.4)") {
  run({
      {A, R"({"enumerator_id":"Ana Petrovic"})", "enumerator_id", "regex"},
      {A, R"({"enumerator_id":null})", "enumerator_id", "required"},
      {A, R"({"ended_at":"2017-06-14T08:00:00+02:00"})", "ended_at", "constraint"},
      {A, R"({"started_at":"2016-01-01T09:00:00+01:00"})", "started_at", "constraint", true},
      {A, R"({"started_at":"2017-06-17T09:00:00+02:00","ended_at":"2017-06-17T10:00:00+02:00"})", "started_at",
       "constraint", true},
      {A, R"({"review_status":"published"})", "review_status", "choice"},
      {A, R"({"started_at":"2017-06-14 09:05"})", "started_at", "type"},
      {B, R"({"record_id":"0b7e4f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"})", "record_id", "unknown_field"},
  });
  std::string long_comment = R"({"review_comment":")" + std::string(1001, 'x') + "\"}";
  Validation v = check_record(form(A), patched(A, long_comment), ctx());
  CHECK(has(v.errors, "review_comment", "length"));
}

TEST_CASE("rules: A. inter-ethnic survey, sampling, consent and outcome") {
  valid(A, kNoContact);
  valid(A, R"({"consent":"no","refusal_reason":"no_time","interview_outcome":"refused","gps":null,"photo_context":null,
    "resp_gender":null,"resp_age_band":null,"resp_community":null,"langs_spoken":null,"resp_education":null,
    "resp_employment":null,"hh_size":null,"displacement_status":null,"contact_freq":null,"contact_communities":null,
    "contact_settings":null,"contact_settings_other":null,"contact_language":null,"contact_quality":null,
    "unfair_treatment_12m":null,"unfair_treatment_where":null,"comfort_neighbour":null,"comfort_coworker":null,
    "comfort_shop":null,"joint_activity_12m":null,"joint_activity_count":null,"joint_activity_programme":null,
    "relations_change":null,"contacted_municipality_12m":null,"service_language_ok":null,"service_satisfaction":null,
    "trust_municipality":null,"trust_mun_assembly":null,"trust_central_gov":null,"trust_police":null,
    "equal_services":null,"mun_listens":null,"public_meeting_12m":null,"public_meeting_count":null,
    "public_meeting_spoke":null,"public_meeting_interpretation":null,"public_meeting_mixed":null,
    "local_initiative_12m":null,"mun_request_12m":null,"safety_other_areas":null,"coop_necessary":null,
    "relations_outlook":null,"top_problem":null,"comments":null,"backcheck_consent":null,"backcheck_phone":null,
    "third_party_present":null})");
  run({
      {A, R"({"cluster_id":"gracanice-3"})", "cluster_id", "regex"},
      {A, R"({"cluster_id":"kamenice-03"})", "cluster_id", "constraint"},
      {A, R"({"municipality":"atlantis"})", "municipality", "choice"},
      {A, R"({"hh_number":0})", "hh_number", "range"},
      {A, R"({"hh_number":1000})", "hh_number", "range"},
      {A, R"({"settlement_name":"L"})", "settlement_name", "length"},
      {A, R"({"visit_attempt":4})", "visit_attempt", "range"},
      {A, R"({"not_interviewed_reason":"nobody_home"})", "not_interviewed_reason", "not_relevant"},
      {A, R"({"interview_outcome":"partial","survey_wave":"final"})", "survey_wave", "choice"},
      {A, R"({"interview_outcome":"refused"})", "interview_outcome", "constraint"},
      {A, R"({"consent":"no","interview_outcome":"completed"})", "interview_outcome", "constraint"},
      {A, R"({"adult_confirmed":false})", "consent", "not_relevant"},
      {A, R"({"adult_confirmed":false})", "interview_outcome", "constraint"},
      {A, R"({"adult_confirmed":"yes"})", "adult_confirmed", "type"},
      {A, R"({"refusal_reason":"no_time"})", "refusal_reason", "not_relevant"},
  });
  auto no_contact = [](const std::string& extra) {
    auto body = patched(A, kNoContact);
    body.merge_patch(nlohmann::json::parse(extra));
    return validate_record(form(A), body, ctx());
  };
  CHECK(has(no_contact(R"({"not_interviewed_reason":null})"), "not_interviewed_reason", "required"));
  CHECK(has(no_contact(R"({"interview_outcome":"completed"})"), "interview_outcome", "constraint"));
  CHECK(has(no_contact(R"({"consent":"yes"})"), "consent", "not_relevant"));
  CHECK(has(no_contact(R"({"interview_language":"sq"})"), "interview_language", "not_relevant"));
}

TEST_CASE("rules: A. inter-ethnic survey, location, profile and contact") {
  run({
      {A, R"({"gps":{"lat":42.59,"lon":21.19,"acc":50}})", "gps", "constraint", true},
      {A, R"({"gps":{"lat":42.59,"lon":21.19,"acc":150}})", "gps", "constraint"},
      {A, R"({"gps":{"lat":44.8,"lon":20.46,"acc":5}})", "gps", "constraint"},
      {A, R"({"gps":null})", "gps_missing_reason", "required"},
      {A, R"({"gps_missing_reason":"no_fix"})", "gps_missing_reason", "not_relevant"},
      {A, R"({"resp_community":"other","resp_community_other":"X"})", "resp_community_other", "length"},
      {A, R"({"resp_community_other":"Vlach"})", "resp_community_other", "not_relevant"},
      {A, R"({"resp_community":"unknown"})", "resp_community", "choice"},
      {A, R"({"langs_spoken":[]})", "langs_spoken", "required"},
      {A, R"({"hh_size":26})", "hh_size", "range"},
      {A, R"({"hh_size":16})", "hh_size", "constraint", true},
      {A, R"({"contact_communities":["serb","albanian"]})", "contact_communities", "constraint"},
      {A, R"({"contact_freq":"never"})", "contact_communities", "not_relevant"},
      {A, R"({"contact_freq":"never"})", "contact_quality", "not_relevant"},
      {A, R"({"contact_settings_other":null})", "contact_settings_other", "required"},
      {A, R"({"contact_settings":["workplace"]})", "contact_settings_other", "not_relevant"},
      {A, R"({"unfair_treatment_where":["police","no_answer"]})", "unfair_treatment_where", "exclusive"},
      {A, R"({"unfair_treatment_12m":"no"})", "unfair_treatment_where", "not_relevant"},
      {A, R"({"joint_activity_count":0})", "joint_activity_count", "range"},
      {A, R"({"joint_activity_count":31})", "joint_activity_count", "constraint", true},
      {A, R"({"joint_activity_count":101})", "joint_activity_count", "range"},
  });
  // Own-community check is skipped for `other` and `no_answer`.
  valid(A, R"({"resp_community":"no_answer","contact_communities":["serb","albanian"]})");
  valid(A, R"({"resp_community":"other","resp_community_other":"Vlach","contact_communities":["other","albanian"]})");
}

TEST_CASE("rules: A. inter-ethnic survey, institutions, participation, close") {
  run({
      {A, R"({"contacted_municipality_12m":"no"})", "service_language_ok", "not_relevant"},
      {A, R"({"service_satisfaction":null})", "service_satisfaction", "required"},
      {A, R"({"public_meeting_count":51})", "public_meeting_count", "range"},
      {A, R"({"public_meeting_12m":"no"})", "meeting_barriers", "required"},
      {A, R"({"meeting_barriers":["timing"]})", "meeting_barriers", "not_relevant"},
      {A, R"({"top_problem":"other"})", "top_problem_other", "required"},
      {A, R"({"top_problem":"other","top_problem_other":"x"})", "top_problem_other", "length"},
      {A, R"({"backcheck_phone":"044 123 456"})", "backcheck_phone", "regex"},
      {A, R"({"backcheck_phone":"1234567"})", "backcheck_phone", "regex"},
      {A, R"({"backcheck_phone":null})", "backcheck_phone", "required"},
      {A, R"({"backcheck_consent":"no"})", "backcheck_phone", "not_relevant"},
      {A, R"({"third_party_present":null})", "third_party_present", "required"},
  });
  for (const char* key : {"comments", "enumerator_notes"}) {
    Validation v =
        check_record(form(A), patched(A, std::string(R"({")") + key + R"(":")" + std::string(501, 'a') + "\"}"), ctx());
    CHECK(has(v.errors, key, "length"));
  }
}

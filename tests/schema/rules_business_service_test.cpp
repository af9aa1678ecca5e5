// Forms C (so2_business_followup) and D (so3_municipal_service): every documented rule rejects a violating
// record; sensitivity classes and merge policies are exposed for the merge engine.
#include <string>

#include "tests/schema/programme_support.hpp"

using namespace akt::forms;
using namespace akt::forms::test;

TEST_CASE("rules: C. business follow-up") {
  valid(C, R"({"consent":"no","respondent_role":null,"owner_gender":null,"female_ownership_pct":null,"women_owned":null,
    "owner_age_years":null,"owner_age_band":null,"youth_flag":null,"owner_community":null,"owner_nonmajority":null,
    "business_sector":null,"business_stage_at_grant":null,"grant_type":null,"grant_amount":null,"grant_currency":null,
    "grant_date":null,"business_status":null,"equipment_in_use":null,"equipment_photo":null,"premises_home_based":null,
    "premises_photo":null,"business_gps":null,"emp_before_ft":null,"emp_before_pt":null,"emp_now_ft":null,
    "emp_now_pt":null,"emp_now_female":null,"emp_now_youth":null,"emp_now_other_community":null,
    "revenue_band_before":null,"revenue_band_now":null,"business_registered":null,"tax_registered":null,
    "tax_evidence_seen":null,"fiscal_receipts":null,"training_attended":null,"training_applied":null,
    "b2b_other_community":null,"customers_other_community":null,"finance_access_12m":null,"support_needed":null})");
  run({
      {C, R"({"business_id":"SO1-0321"})", "business_id", "regex"},
      {C, R"({"visit_date":"2017-06-16"})", "visit_date", "constraint"},
      {C, R"({"visit_date":"2013-12-01","grant_date":"2013-11-01"})", "visit_date", "range"},
      {C, R"({"consent":"no"})", "respondent_role", "not_relevant"},
      {C, R"({"female_ownership_pct":101})", "female_ownership_pct", "range"},
      {C, R"({"female_ownership_pct":50})", "women_owned", "calculation"},
      {C, R"({"owner_age_years":17})", "owner_age_years", "range"},
      {C, R"({"owner_age_years":86})", "owner_age_years", "range"},
      {C, R"({"owner_age_band":"30_35"})", "owner_age_band", "constraint"},
      {C, R"({"owner_age_years":36,"owner_age_band":"36_44"})", "youth_flag", "calculation"},
      {C, R"({"owner_community":"no_answer"})", "owner_nonmajority", "not_relevant"},
      {C, R"({"business_sector":"other"})", "business_sector_other", "required"},
      {C, R"({"grant_amount":0})", "grant_amount", "range"},
      {C, R"({"grant_amount":50001})", "grant_amount", "range"},
      {C, R"({"grant_amount":25000})", "grant_amount", "constraint", true},
      {C, R"({"grant_date":"2017-05-19"})", "grant_date", "constraint"},
      {C, R"({"grant_date":"2013-12-31"})", "grant_date", "range"},
      {C, R"({"business_status":"temporarily_closed"})", "closure_reason", "required"},
      {C, R"({"closure_reason":["competition"]})", "closure_reason", "not_relevant"},
      {C, R"({"grant_type":"cash"})", "equipment_in_use", "not_relevant"},
      {C, R"({"equipment_photo":null})", "equipment_photo", "required"},
      {C, R"({"equipment_in_use":"sold"})", "equipment_photo", "not_relevant"},
      {C, R"({"premises_home_based":"yes"})", "premises_photo", "not_relevant"},
      {C, R"({"business_gps":{"lat":42.3697,"lon":21.3823,"acc":40}})", "business_gps", "constraint", true},
      {C, R"({"emp_before_ft":251})", "emp_before_ft", "range"},
      {C, R"({"emp_now_pt":-1})", "emp_now_pt", "range"},
      {C, R"({"business_status":"permanently_closed","closure_reason":["few_customers"]})", "emp_now_ft", "constraint"},
      {C, R"({"business_status":"permanently_closed","closure_reason":["few_customers"]})", "emp_now_pt", "constraint"},
      {C, R"({"emp_now_female":6})", "emp_now_female", "constraint"},
      {C, R"({"emp_now_youth":6})", "emp_now_youth", "constraint"},
      {C, R"({"emp_now_other_community":6})", "emp_now_other_community", "constraint"},
      {C, R"({"revenue_band_now":"lt_1k"})", "revenue_band_now", "choice"},
      {C, R"({"tax_evidence_seen":null})", "tax_evidence_seen", "required"},
      {C, R"({"tax_registered":"no"})", "tax_evidence_seen", "not_relevant"},
      {C, R"({"training_attended":["none","business_planning"]})", "training_attended", "exclusive"},
      {C, R"({"training_attended":["none"]})", "training_applied", "not_relevant"},
      {C, R"({"support_needed":["none","finance"]})", "support_needed", "exclusive"},
  });
  Validation v = check_record(form(C), patched(C, R"({"comments":")" + std::string(501, 'c') + "\"}"), ctx());
  CHECK(has(v.errors, "comments", "length"));
}

TEST_CASE("rules: D. municipal service assessment") {
  run({
      {D, R"({"assessment_date":"2017-06-16"})", "assessment_date", "constraint"},
      {D, R"({"assessment_date":"2013-12-31","period_end":"2013-12-30","period_start":"2013-07-01"})",
       "assessment_date", "range"},
      {D, R"({"period_start":"2016-12-31"})", "period_start", "constraint"},
      {D, R"({"period_end":"2017-03-11"})", "period_end", "constraint"},
      {D, R"({"service":"other","new_businesses_registered":null,"new_businesses_female_owner":null,
              "applications_received":null,"applications_decided":null,"files_sampled":null,"avg_processing_days":null,
              "median_processing_days":null,"legal_deadline_days":null,"files_within_deadline":null,"backlog_open":null})",
       "service_other", "required"},
      {D, R"({"ta_types":["none_yet","training"]})", "ta_types", "exclusive"},
      {D, R"({"assessment_round":"baseline"})", "ta_types", "constraint", true},
      {D, R"({"applications_received":100001})", "applications_received", "range"},
      {D, R"({"applications_decided":130})", "applications_decided", "constraint", true},
      {D, R"({"files_sampled":501})", "files_sampled", "range"},
      {D, R"({"files_sampled":10,"files_within_deadline":8})", "files_sampled", "constraint", true},
      {D, R"({"avg_processing_days":366})", "avg_processing_days", "range"},
      {D, R"({"median_processing_days":-1})", "median_processing_days", "range"},
      {D, R"({"files_sampled":0,"files_within_deadline":0})", "avg_processing_days", "not_relevant"},
      {D, R"({"legal_deadline_days":0})", "legal_deadline_days", "range"},
      {D, R"({"files_within_deadline":26})", "files_within_deadline", "constraint"},
      {D, R"({"legal_deadline_days":null})", "files_within_deadline", "not_relevant"},
      {D, R"({"backlog_open":-1})", "backlog_open", "range"},
      {D, R"({"new_businesses_registered":20001})", "new_businesses_registered", "range"},
      {D, R"({"new_businesses_female_owner":62})", "new_businesses_female_owner", "constraint"},
      {D, R"({"licences_issued":3})", "licences_issued", "not_relevant"},
      {D, R"({"both_official_languages":false})", "both_official_languages", "calculation"},
      {D, R"({"docs_languages":["sq"]})", "both_official_languages", "calculation"},
      {D, R"({"staff_total":501})", "staff_total", "range"},
      {D, R"({"staff_trained":5})", "staff_trained", "constraint"},
      {D, R"({"staff_nonmajority":5})", "staff_nonmajority", "constraint"},
      {D, R"({"complaints_received":null})", "complaints_received", "required"},
      {D, R"({"complaints_mechanism":"no"})", "complaints_received", "not_relevant"},
      {D, R"({"exit_n":501})", "exit_n", "range"},
      {D, R"({"exit_n":20,"exit_satisfied_n":20})", "exit_n", "constraint", true},
      {D, R"({"exit_satisfied_n":33})", "exit_satisfied_n", "constraint"},
      {D, R"({"exit_female_n":33})", "exit_female_n", "constraint"},
      {D, R"({"exit_female_satisfied_n":13})", "exit_female_satisfied_n", "constraint"},
      {D, R"({"exit_nonmajority_n":33})", "exit_nonmajority_n", "constraint"},
      {D, R"({"exit_nonmajority_satisfied_n":7})", "exit_nonmajority_satisfied_n", "constraint"},
      {D, R"({"exit_n":0})", "exit_satisfied_n", "not_relevant"},
  });
  Validation v = check_record(form(D), patched(D, R"({"assessor_notes":")" + std::string(1001, 'n') + "\"}"), ctx());
  CHECK(has(v.errors, "assessor_notes", "length"));
}

TEST_CASE("rules: D. property tax and local development planning services") {
  const std::string off_d2d3 = R"("new_businesses_registered":null,"new_businesses_female_owner":null,
    "applications_received":null,"applications_decided":null,"files_sampled":null,"avg_processing_days":null,
    "median_processing_days":null,"legal_deadline_days":null,"files_within_deadline":null,"backlog_open":null)";
  const std::string tax = R"({"service":"property_tax","property_tax_billed":200000,"property_tax_collected":150000,
    "property_tax_rate":75,)" +
                          off_d2d3 + "}";
  valid(D, tax.c_str());
  auto tax_with = [&](const std::string& extra) {
    auto body = patched(D, tax);
    body.merge_patch(nlohmann::json::parse(extra));
    return check_record(form(D), body, ctx());
  };
  CHECK(has(tax_with(R"({"property_tax_rate":80})").errors, "property_tax_rate", "calculation"));
  CHECK(has(tax_with(R"({"property_tax_billed":-1})").errors, "property_tax_billed", "range"));
  CHECK(has(tax_with(R"({"property_tax_collected":310000,"property_tax_rate":155})").warnings, "property_tax_collected",
            "constraint"));
  const std::string ldp = R"({"service":"local_dev_planning","ldp_status":"adopted","ldp_adopted_date":"2016-11-30",
    "ldp_consultations":3,"ldp_participants_total":140,"ldp_participants_female":52,"ldp_participants_nonmajority":30,)" +
                          off_d2d3 + "}";
  valid(D, ldp.c_str());
  auto ldp_with = [&](const std::string& extra) {
    auto body = patched(D, ldp);
    body.merge_patch(nlohmann::json::parse(extra));
    return validate_record(form(D), body, ctx());
  };
  CHECK(has(ldp_with(R"({"ldp_adopted_date":"2017-07-01"})"), "ldp_adopted_date", "constraint"));
  CHECK(has(ldp_with(R"({"ldp_status":"drafting"})"), "ldp_adopted_date", "not_relevant"));
  CHECK(has(ldp_with(R"({"ldp_adopted_date":null})"), "ldp_adopted_date", "required"));
  CHECK(has(ldp_with(R"({"ldp_consultations":101})"), "ldp_consultations", "range"));
  CHECK(has(ldp_with(R"({"ldp_participants_female":141})"), "ldp_participants_female", "constraint"));
  CHECK(has(ldp_with(R"({"ldp_participants_nonmajority":141})"), "ldp_participants_nonmajority", "constraint"));
  CHECK(has(ldp_with(R"({"ldp_consultations":0})"), "ldp_participants_total", "not_relevant"));
  CHECK(has(ldp_with(R"({"ldp_participants_total":-1})"), "ldp_participants_total", "range"));
}

TEST_CASE("rules: sensitivity classes and merge policies reach the merge engine") {
  const FormDef& a = form(A);
  CHECK(a.find("resp_community")->sensitivity == Sensitivity::kS);
  CHECK(a.find("trust_police")->sensitivity == Sensitivity::kSStar);
  CHECK(a.find("gps")->sensitivity == Sensitivity::kD);
  CHECK(a.find("backcheck_phone")->sensitivity == Sensitivity::kD);
  CHECK(a.find("contact_freq")->sensitivity == Sensitivity::kP);
  CHECK(a.find("hh_number")->sensitivity == Sensitivity::kQ);
  const FormDef& b = form(B);
  CHECK(b.find("ben_roma")->sensitivity == Sensitivity::kSAgg);
  CHECK(b.find("project_id")->merge_policy == MergePolicy::kAdminOnly);
  CHECK(b.find("project_id")->immutable);
  CHECK(b.find("jc_languages")->merge_policy == MergePolicy::kSetUnion);
  CHECK(b.find("v_pct_observed")->repeat == "visit");
  CHECK(b.find("visit")->item_id == "visit_id");
  CHECK(form(C).find("grant_amount")->sensitivity == Sensitivity::kC);
  CHECK(form(C).find("business_gps")->sensitivity_note.find("home") != std::string::npos);
  CHECK(form(D).find("exit_nonmajority_n")->sensitivity == Sensitivity::kSAgg);
}

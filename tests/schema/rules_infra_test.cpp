// Form B (so1_infra_monitoring): every documented rule, including the visit repeat, rejects a violating record.
#include <string>

#include "tests/schema/programme_support.hpp"

using namespace akt::forms;
using namespace akt::forms::test;

TEST_CASE("rules: B. infrastructure project card") {
  run({
      {B, R"({"project_id":"SO1-12"})", "project_id", "regex"},
      {B, R"({"project_id":"SO2-0142"})", "project_id", "regex"},
      {B, R"({"settlement_name":"B"})", "settlement_name", "length"},
      {B, R"({"project_title":"Road"})", "project_title", "length"},
      {B, R"({"project_type":"other"})", "project_type_other", "required"},
      {B, R"({"project_type_other":"Bus stop"})", "project_type_other", "not_relevant"},
      {B, R"({"grant_amount":0})", "grant_amount", "range"},
      {B, R"({"grant_amount":100001})", "grant_amount", "range"},
      {B, R"({"grant_amount":60000})", "grant_amount", "constraint", true},
      {B, R"({"cofin_municipality":-1})", "cofin_municipality", "range"},
      {B, R"({"cofin_community":-0.5})", "cofin_community", "range"},
      {B, R"({"planned_start":"2013-12-31"})", "planned_start", "range"},
      {B, R"({"planned_end":"2016-03-31"})", "planned_end", "constraint"},
      {B, R"({"site_gps":{"lat":42.6152,"lon":21.4321,"acc":25}})", "site_gps", "constraint", true},
      {B, R"({"site_gps":{"lat":41.5,"lon":21.4321,"acc":5}})", "site_gps", "constraint"},
      {B, R"({"target_communities":["serb"]})", "target_communities", "constraint", true},
      {B, R"({"status":"completed","actual_end":"2016-10-20","maintenance_agreement":"written"})", "pct_complete",
       "constraint"},
      {B, R"({"status":"not_started","works_quality":null})", "pct_complete", "constraint"},
      {B, R"({"pct_complete":101})", "pct_complete", "range"},
      {B, R"({"status":"completed","pct_complete":100,"maintenance_agreement":"written"})", "actual_end", "required"},
      {B, R"({"status":"completed","pct_complete":100,"actual_end":"2016-03-01","maintenance_agreement":"written"})",
       "actual_end", "constraint"},
      {B, R"({"status":"completed","pct_complete":100,"actual_end":"2017-07-01","maintenance_agreement":"written"})",
       "actual_end", "constraint"},
      {B, R"({"actual_end":"2016-10-20"})", "actual_end", "not_relevant"},
      {B, R"({"status":"completed","pct_complete":100,"actual_end":"2016-10-20"})", "maintenance_agreement",
       "required"},
      {B, R"({"status":"suspended"})", "suspension_reason", "required"},
      {B, R"({"status":"suspended","suspension_reason":"Rain"})", "suspension_reason", "length"},
      {B, R"({"status":"not_started","pct_complete":0})", "works_quality", "not_relevant"},
      {B, R"({"mun_involvement":["permits","none"]})", "mun_involvement", "exclusive"},
  });
  valid(B, R"({"status":"handed_over","pct_complete":100,"actual_end":"2016-11-15","maintenance_agreement":"verbal"})");
}

TEST_CASE("rules: B. beneficiaries and joint committee") {
  run({
      {B, R"({"ben_total":700})", "ben_total", "calculation"},
      {B, R"({"ben_serb":100001})", "ben_serb", "range"},
      {B, R"({"ben_albanian":0,"ben_serb":0,"ben_roma":0,"ben_ashkali":0,"ben_other":0,"ben_total":0,
              "ben_female":null,"ben_youth":null})",
       "ben_total", "constraint"},
      {B, R"({"ben_female":800})", "ben_female", "constraint"},
      {B, R"({"ben_youth":791})", "ben_youth", "constraint"},
      {B, R"({"jc_total":8})", "jc_total", "constraint"},
      {B, R"({"jc_total":31})", "jc_total", "range"},
      {B, R"({"jc_serb":31})", "jc_serb", "range"},
      {B, R"({"jc_croat":null})", "jc_croat", "required"},
      {B, R"({"jc_female":8})", "jc_female", "constraint"},
      {B, R"({"jc_meetings":201})", "jc_meetings", "range"},
      {B, R"({"jc_exists":"no"})", "jc_total", "not_relevant"},
      {B, R"({"jc_exists":"no"})", "jc_languages", "not_relevant"},
      {B, R"({"jc_interpretation":"sometimes"})", "jc_interpretation", "choice"},
  });
  // Starting works with no beneficiaries is fine only while not started.
  valid(B, R"({"status":"not_started","pct_complete":0,"works_quality":null,"ben_albanian":0,"ben_serb":0,"ben_roma":0,
               "ben_ashkali":0,"ben_other":0,"ben_total":0,"ben_female":0,"ben_youth":0})");
}

TEST_CASE("rules: B. visit log repeat") {
  const std::string v0 = "/visit/0/";
  const std::string v1 = "/visit/1/";
  auto op = [](const std::string& path, const std::string& value) {
    return R"([{"op":"replace","path":")" + path + R"(","value":)" + value + "}]";
  };
  auto rm = [](const std::string& path) { return R"([{"op":"remove","path":")" + path + R"("}])"; };
  const std::string id0 = "visit[0b7e4f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b].";
  const std::string id1 = "visit[5c0a9d11-77aa-4b3c-9d2e-112233445566].";
  struct S {
    std::string patch, path, code;
    bool warn = false;
  };
  std::vector<S> cases = {
      {op(v0 + "visit_date", R"("2017-06-16")"), id0 + "visit_date", "constraint"},
      {op(v0 + "visit_date", R"("2013-06-16")"), id0 + "visit_date", "range"},
      {op(v0 + "visit_type", R"("audit")"), id0 + "visit_type", "choice"},
      {op(v0 + "visit_by", R"("Enumerator 7")"), id0 + "visit_by", "regex"},
      {op(v0 + "v_gps", R"({"lat":42.63,"lon":21.4321,"acc":5})"), id0 + "v_gps", "constraint", true},
      {rm(v0 + "v_gps"), id0 + "v_gps", "required"},
      {op(v0 + "v_pct_observed", "101"), id0 + "v_pct_observed", "range"},
      {op(v0 + "v_issues", R"(["none","delay"])"), id0 + "v_issues", "exclusive"},
      {op(v0 + "v_issues", R"(["delay"])"), id0 + "v_issue_detail", "required"},
      {op(v1 + "v_issue_detail", R"("Rain")"), id1 + "v_issue_detail", "length"},
      {rm(v0 + "v_photo_1"), id0 + "v_photo_1", "required"},
      {op(v0 + "v_photo_1_caption", R"("ok")"), id0 + "v_photo_1_caption", "length"},
      {rm(v1 + "v_photo_2_caption"), id1 + "v_photo_2_caption", "required"},
      {rm(v1 + "v_photo_2"), id1 + "v_photo_2_caption", "not_relevant"},
      {op(v1 + "v_followup_due", R"("2016-09-01")"), id1 + "v_followup_due", "constraint"},
      {rm(v1 + "v_followup_action"), id1 + "v_followup_action", "required"},
      {op(v1 + "v_followup_action", R"("Call")"), id1 + "v_followup_action", "length"},
      {op(v1 + "v_followup_needed", R"("no")"), id1 + "v_followup_due", "not_relevant"},
      {op(v0 + "visit_id", R"("visit-one")"), "visit[visit-one].visit_id", "regex"},
      {op(v1 + "visit_id", R"("0b7e4f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b")"), "visit[0b7e4f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b]",
       "repeat_item_id"},
      {rm(v0 + "visit_id"), "visit[0]", "repeat_item_id"},
  };
  for (const S& c : cases) {
    Validation v = check_record(form(B), patched(B, c.patch), ctx());
    INFO(c.patch << "\n" << describe(v.errors) << describe(v.warnings));
    CHECK(has(c.warn ? v.warnings : v.errors, c.path, c.code));
  }
}

// Indicators on a small fixed data set, checked against values computed by hand (comments show the sums).
#include "schema/export/indicators.hpp"

#include "tests/export/export_test_support.hpp"

namespace akt::exports::test {
namespace {

const IndicatorCell* find(const std::vector<IndicatorCell>& cells, const std::string& ind, const std::string& dim,
                          const std::string& grp) {
  for (const IndicatorCell& c : cells) {
    if (c.indicator == ind && c.dimension == dim && c.group == grp) return &c;
  }
  return nullptr;
}

double value(const std::vector<IndicatorCell>& cells, const std::string& ind, const std::string& dim = "all",
             const std::string& grp = "all") {
  const IndicatorCell* c = find(cells, ind, dim, grp);
  REQUIRE_MESSAGE(c != nullptr, ind << " " << dim << " " << grp);
  REQUIRE_MESSAGE(c->value.has_value(), ind << " " << dim << " " << grp << " suppressed=" << c->suppressed);
  return *c->value;
}

bool suppressed(const std::vector<IndicatorCell>& cells, const std::string& ind, const std::string& dim = "all",
                const std::string& grp = "all") {
  const IndicatorCell* c = find(cells, ind, dim, grp);
  REQUIRE_MESSAGE(c != nullptr, ind << " " << dim << " " << grp);
  return c->suppressed && !c->value && !c->numerator && !c->denominator;
}

ExportRecord rec(const std::string& form_id, int n, nlohmann::json body) {
  ExportRecord r = record(form_id, n, std::move(body));
  r.conflict = false;
  return r;
}

void feed_survey(IndicatorEngine& e) {
  // community, gender, contact_freq, contact_quality, joint_activity_12m, trust_municipality, public_meeting_12m, spoke
  const char* rows[][8] = {
      {"serb", "female", "daily", "positive", "yes", "a_lot", "yes", "yes"},
      {"serb", "female", "weekly", "very_positive", "no", "somewhat", "yes", "no"},
      {"serb", "male", "never", "", "no", "none_at_all", "yes", "no"},
      {"serb", "male", "monthly", "neutral", "dont_know", "no_answer", "no", ""},
      {"serb", "female", "less_often", "positive", "yes", "dont_know", "no", ""},
      {"albanian", "male", "daily", "positive", "yes", "a_lot", "yes", "yes"},
      {"albanian", "female", "weekly", "positive", "no", "not_much", "yes", "yes"},
      {"albanian", "male", "daily", "negative", "no", "somewhat", "yes", "no"},
      {"albanian", "female", "monthly", "very_positive", "yes", "a_lot", "no", ""},
      {"albanian", "male", "never", "", "no", "none_at_all", "no", ""},
  };
  int n = 0;
  for (const auto& r : rows) {
    nlohmann::json b = {{"review_status", "approved"}, {"consent", "yes"}, {"interview_outcome", "completed"},
                        {"municipality", "gracanice"}, {"survey_wave", "baseline"}, {"resp_community", r[0]},
                        {"resp_gender", r[1]}, {"resp_age_band", n < 5 ? "18_24" : "36_44"}, {"contact_freq", r[2]},
                        {"joint_activity_12m", r[4]}, {"trust_municipality", r[5]}, {"public_meeting_12m", r[6]},
                        {"joint_activity_programme", "yes"}};
    if (*r[3] != '\0') b["contact_quality"] = r[3];
    if (*r[7] != '\0') b["public_meeting_spoke"] = r[7];
    e.add(rec("so1_interethnic_survey", ++n, b));
  }
  e.add(rec("so1_interethnic_survey", 11, {{"review_status", "approved"}, {"consent", "no"}}));
  e.add(rec("so1_interethnic_survey", 12, {{"review_status", "submitted"}, {"consent", "yes"}}));
  ExportRecord conflicted = rec("so1_interethnic_survey", 13, {{"review_status", "approved"}});
  conflicted.conflict = true;
  e.add(conflicted);
}

}  // namespace

TEST_CASE("indicators: Form A (G.1, 1.1, 1.2, 1.3) by hand") {
  IndicatorEngine e;
  feed_survey(e);
  const auto cells = e.cells();
  CHECK(value(cells, "G.1") == 50.0);                                   // records 1,2,6,7,9 of 10
  CHECK(value(cells, "G.1", "community", "serb") == 40.0);              // 1,2 of 5
  CHECK(value(cells, "G.1", "community", "albanian") == 60.0);          // 6,7,9 of 5
  CHECK(value(cells, "G.1", "gender", "female") == 80.0);               // 1,2,7,9 of 1,2,5,7,9
  CHECK(value(cells, "G.1", "gender", "male") == 20.0);                 // 6 of 3,4,6,8,10
  CHECK(value(cells, "G.1", "nonmajority_local", "yes") == 60.0);       // Albanians in Gračanica
  CHECK(value(cells, "G.1", "age_band", "18_24") == 40.0);
  CHECK(find(cells, "G.1", "all", "all")->low_precision);               // n = 10 < 30
  CHECK(value(cells, "1.1") == 40.0);                                   // 1,5,6,9
  CHECK(suppressed(cells, "1.1.programme_share"));                      // n = 4 < 5
  CHECK(value(cells, "1.2") == 55.6);                                   // 1,2,6,8,9 of 9 (no_answer out)
  CHECK(suppressed(cells, "1.2.gap", "municipality", "gracanice"));     // majority side n = 4
  CHECK(value(cells, "1.3") == 60.0);                                   // 1,2,3,6,7,8
  CHECK(value(cells, "1.3.spoke") == 50.0);                             // 1,6,7 of 6
  CHECK(find(cells, "G.1.gap_input", "all", "all") == nullptr);
  const nlohmann::json j = e.to_json();
  CHECK(j.at("held_back").at("so1_interethnic_survey") == 1);
  CHECK(j.at("records_in_scope").at("so1_interethnic_survey") == 11);
}

TEST_CASE("indicators: Forms B, C, D by hand") {
  IndicatorEngine e;
  for (int p = 0; p < 6; ++p) {
    nlohmann::json b = {{"review_status", "approved"}, {"status", p < 5 ? "completed" : "in_progress"},
                        {"pct_complete", p < 5 ? 100 : 40}, {"municipality", "novoberde"},
                        {"settlement_name", p < 2 ? "Bostane" : "S" + std::to_string(p)},
                        {"project_type", "water_supply"}, {"implementing_partner", "kcdf"}, {"actual_end", "2017-05-01"},
                        {"ben_serb", 10}, {"ben_albanian", 2}, {"ben_roma", 0}, {"ben_total", 12},
                        {"jc_exists", "yes"}, {"jc_serb", 2}, {"jc_albanian", p < 3 ? 1 : 0}, {"jc_meetings", 4},
                        {"jc_minutes_seen", "yes"}};
    e.add(rec("so1_infra_monitoring", p, b));
  }
  for (int biz = 0; biz < 5; ++biz) {
    const std::string id = "SO2-010" + std::to_string(biz);
    nlohmann::json base = {{"review_status", "approved"}, {"consent", "yes"}, {"business_id", id},
                           {"followup_round", "baseline_at_award"}, {"tax_registered", "no"},
                           {"emp_before_ft", 2}, {"emp_before_pt", 0}, {"emp_now_ft", 2}, {"emp_now_pt", 0},
                           {"revenue_band_before", "lt_5k"}, {"revenue_band_now", "lt_5k"}};
    nlohmann::json m12 = base;
    m12["followup_round"] = "m12";
    m12["tax_registered"] = biz < 3 ? "yes" : "no";
    m12["emp_now_ft"] = 3;
    m12["emp_now_pt"] = 2;
    m12["revenue_band_now"] = biz < 4 ? "5k_15k" : "lt_5k";
    e.add(rec("so2_business_followup", 20 + biz, m12));  // order must not matter: latest round wins
    e.add(rec("so2_business_followup", 30 + biz, base));
  }
  const std::pair<int, int> exits[] = {{40, 30}, {20, 10}};
  const std::pair<int, int> nonmaj[] = {{10, 4}, {6, 3}};
  for (int i = 0; i < 2; ++i) {
    e.add(rec("so3_municipal_service", 40 + i,
              {{"review_status", "approved"}, {"municipality", "gracanice"}, {"service", "civil_registry"},
               {"assessment_round", "baseline"}, {"exit_n", exits[i].first}, {"exit_satisfied_n", exits[i].second},
               {"exit_nonmajority_n", nonmaj[i].first}, {"exit_nonmajority_satisfied_n", nonmaj[i].second},
               {"exit_female_n", 0}, {"exit_female_satisfied_n", 0}}));
  }
  const auto cells = e.cells();
  CHECK(suppressed(cells, "1.4"));                                        // 3 projects with a committee < 5
  CHECK(value(cells, "1.4.completed") == 5);
  CHECK(value(cells, "1.4.ratio") == 60.0);
  CHECK(value(cells, "1.5", "community", "serb") == 50);                  // 5 x 10
  CHECK(value(cells, "1.5", "community", "albanian") == 10);
  CHECK(suppressed(cells, "1.5", "community", "roma"));                   // 0 < 5
  CHECK(value(cells, "1.5.unduplicated", "community", "serb") == 40);     // Bostane counted once
  CHECK(value(cells, "1.5.unduplicated", "community", "albanian") == 8);
  CHECK(value(cells, "1.5") == 60);                                       // 5 x 12
  CHECK(value(cells, "2.2") == 10);                                       // 5 x ((3 + 0.5 x 2) - 2)
  CHECK(value(cells, "2.3") == 60.0);
  CHECK(suppressed(cells, "2.3.newly_formalised"));                       // 3 < 5
  CHECK(value(cells, "2.4") == 80.0);
  CHECK(value(cells, "3.3") == 66.7);                                     // 40 / 60
  CHECK(value(cells, "3.3.nonmajority") == 43.8);                         // 7 / 16
  CHECK(value(cells, "3.3.gap") == 22.9);
  CHECK(find(cells, "3.3.nonmajority", "all", "all")->low_precision);     // 16 < 30
}

TEST_CASE("indicators: CSV and JSON never carry a suppressed value") {
  IndicatorEngine e;
  feed_survey(e);
  std::string csv;
  e.write_csv([&](std::string_view s) { csv += s; });
  CHECK(csv.starts_with("indicator,dimension,group,measure,value,numerator,denominator,suppressed,low_precision,held_back\r\n"));
  CHECK(csv.find("G.1,all,all,percent,50,5,10,0,1,1\r\n") != std::string::npos);
  CHECK(csv.find("1.1.programme_share,all,all,percent,,,,1,1,1\r\n") != std::string::npos);
  const nlohmann::json j = e.to_json();  // named: a range-for over a temporary's member would dangle
  for (const auto& c : j.at("cells")) {
    if (c.at("suppressed").get<bool>()) {
      CHECK(c.at("value").is_null());
      CHECK_FALSE(c.contains("numerator"));
      CHECK_FALSE(c.contains("denominator"));
    }
  }
  IndicatorOptions strict;
  strict.min_cell = 11;
  IndicatorEngine e2(strict);
  feed_survey(e2);
  CHECK(suppressed(e2.cells(), "G.1"));
}

TEST_CASE("indicators: 2.1 businesses operating 12 months after the grant, by hand") {
  IndicatorOptions o;
  o.reporting_date = "2018-06-30";  // population: grants on or before 2017-06-30
  IndicatorEngine e(o);
  IndicatorEngine no_date;
  // Eligible (granted 2017-01-15): m12 operating x3, seasonal_inactive x1, permanently_closed x1, and one
  // with only its baseline (not followed up). Not eligible (granted 2017-09-01): two operating at m12.
  const char* m12_status[] = {"operating", "operating", "operating", "seasonal_inactive", "permanently_closed", nullptr,
                              "operating", "operating"};
  for (int biz = 0; biz < 8; ++biz) {
    const std::string id = "SO2-02" + std::to_string(biz);
    nlohmann::json base = {{"review_status", "approved"}, {"consent", "yes"}, {"business_id", id},
                           {"followup_round", "baseline_at_award"}, {"grant_date", biz < 6 ? "2017-01-15" : "2017-09-01"},
                           {"business_status", "operating"}};
    for (IndicatorEngine* eng : {&e, &no_date}) eng->add(rec("so2_business_followup", 100 + biz, base));
    if (m12_status[biz]) {
      nlohmann::json m12 = base;
      m12["followup_round"] = "m12";
      m12["business_status"] = m12_status[biz];
      for (IndicatorEngine* eng : {&e, &no_date}) eng->add(rec("so2_business_followup", 200 + biz, m12));
    }
  }
  const auto cells = e.cells();
  CHECK(value(cells, "2.1") == 66.7);                    // 4 of 6
  CHECK(value(cells, "2.1.not_followed_up") == 16.7);    // 1 of 6, not counted as closed
  CHECK(find(cells, "2.1", "all", "all")->denominator == 6);
  CHECK(find(no_date.cells(), "2.1", "all", "all") == nullptr);  // no reporting date, no 2.1
}

}  // namespace akt::exports::test

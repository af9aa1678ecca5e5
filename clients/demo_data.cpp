#include "clients/demo_data.hpp"

#include <array>
#include <random>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "clients/record_gen.hpp"

namespace akt::client {

namespace {

using nlohmann::json;

constexpr std::uint64_t kT0 = 1475280000000;  // 2016-10-01, mid-programme
constexpr std::int64_t kDay = 86400000;

template <class T, std::size_t N>
const T& pick(std::mt19937_64& rng, const std::array<T, N>& a) {
  return a[rng() % N];
}
int between(std::mt19937_64& rng, int lo, int hi) { return lo + static_cast<int>(rng() % static_cast<std::uint64_t>(hi - lo + 1)); }
bool chance(std::mt19937_64& rng, int percent) { return static_cast<int>(rng() % 100) < percent; }

// "YYYY-MM-DD" of a day count since 1970-01-01 (civil-from-days, H. Hinnant).
std::string date_of(std::int64_t days) {
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const std::int64_t doe = days - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t m = mp + (mp < 10 ? 3 : -9);
  const std::int64_t y = yoe + era * 400 + (m <= 2);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", static_cast<int>(y), static_cast<int>(m), static_cast<int>(d));
  return buf;
}
std::int64_t day_of(std::uint64_t ms) { return static_cast<std::int64_t>(ms) / kDay; }

struct Builder {
  DemoData out;
  std::array<std::string, 2> actor, user;
  std::array<std::int64_t, 2> n{0, 0};
  std::mt19937_64 rng{20141001};
  std::vector<std::pair<int, sync::Edit>> first_edits;
  std::set<std::string> quarantined;  // records of the refused edits: never reviewed

  sync::Edit make(int tablet, const std::string& form, const sync::Scope& scope, json body, std::uint64_t when) {
    body["enumerator_id"] = user[static_cast<std::size_t>(tablet)];
    body["device_id"] = "tablet of " + user[static_cast<std::size_t>(tablet)];
    body["team_id"] = "team_supervisor1";
    sync::Edit e;
    e.record_id = new_record_id(when, rng);
    e.form_id = form;
    e.form_version = 1;
    e.scope = scope;
    e.dot = {actor[static_cast<std::size_t>(tablet)], ++n[static_cast<std::size_t>(tablet)]};
    for (const auto& [k, v] : body.items()) e.changed.push_back(k);
    e.body = body.dump();
    e.device_time = static_cast<std::int64_t>(when);
    return e;
  }
  // A later save of `base` by `tablet`, which saw `base`: sets `set`, removes `remove`.
  sync::Edit change(int tablet, const sync::Edit& base, const json& set, const std::vector<std::string>& remove = {}) {
    json body = json::parse(base.body);
    sync::Edit e = base;
    e.dot = {actor[static_cast<std::size_t>(tablet)], ++n[static_cast<std::size_t>(tablet)]};
    e.context = base.clock();
    e.changed.clear();
    for (const auto& [k, v] : set.items()) {
      body[k] = v;
      e.changed.push_back(k);
    }
    for (const auto& k : remove) {
      body.erase(k);
      e.changed.push_back(k);
    }
    e.body = body.dump();
    e.device_time = base.device_time + 3 * kDay;
    return e;
  }
  void add(int tablet, sync::Edit e) {
    ++out.count[e.form_id];
    first_edits.emplace_back(tablet, std::move(e));
  }
  void review(const sync::Edit& e, int i) {
    // Most approved, some returned with a comment, the rest waiting for review.
    const int r = static_cast<int>((static_cast<std::uint64_t>(i) * 2654435761u) % 100);
    static const std::array<const char*, 4> kComments{
        "Household number does not match the route sheet; please check.",
        "Kontrolloni datën e vizitës: është para datës së grantit.",
        "Molim proverite broj zaposlenih; ne slaže se sa prošlom posetom.",
        "GPS accuracy too low; please record the location again."};
    if (r < 84) out.reviews.push_back({e.record_id, "approved", ""});
    else if (r < 92) out.reviews.push_back({e.record_id, "returned", kComments[static_cast<std::size_t>(i) % kComments.size()]});
  }
};

const std::set<std::string> kSerbMajority{"gracanice", "kllokot", "leposaviq", "mitrovica_north", "novoberde",
                                          "partesh", "ranillug", "shterpce", "zubin_potok", "zvecan"};

// Form A: the generated interview, with the answers that differ most between households varied (and the
// questions they make relevant or not present accordingly).
json vary_survey(json b, std::mt19937_64& rng) {
  static const std::array<const char*, 5> kFreq{"daily", "weekly", "monthly", "less_often", "never"};
  static const std::array<const char*, 5> kQuality{"very_negative", "negative", "neutral", "positive", "very_positive"};
  static const std::array<const char*, 3> kYnd{"yes", "no", "dont_know"};
  static const std::array<const char*, 6> kAgree{"strongly_disagree", "disagree", "neither", "agree", "strongly_agree", "dont_know"};
  static const std::array<const char*, 5> kSatisfaction{"very_dissatisfied", "dissatisfied", "neutral", "satisfied", "very_satisfied"};
  static const std::array<const char*, 5> kLangOk{"always", "mostly", "sometimes", "never", "not_needed"};
  static const std::array<const char*, 8> kBarriers{"not_informed", "language", "distance_transport", "timing",
                                                    "not_interested", "no_trust_in_outcome", "safety_concern", "other"};
  static const std::array<const char*, 7> kSettings{"workplace", "market_shop", "school_university", "municipal_office",
                                                    "health_facility", "neighbourhood", "sport_culture_event"};
  static const std::array<const char*, 4> kSettlementType{"urban", "peri_urban", "rural", "rural"};
  b["settlement_type"] = pick(rng, kSettlementType);
  b["visit_attempt"] = between(rng, 1, 3);
  const std::string community = b["resp_community"];
  b["interview_language"] = community == "albanian" ? "sq" : community == "turkish" ? "tr" : community == "bosniak" ? "bs"
                            : community == "serb" ? "sr" : (chance(rng, 50) ? "sq" : "rom");
  if (chance(rng, 4)) b["resp_community"] = "no_answer";  // the community question is optional
  const std::string freq = kFreq[std::min<std::size_t>(rng() % 6, 4)];  // "never" less often
  b["contact_freq"] = freq;
  if (freq == "never") {
    for (const char* k : {"contact_communities", "contact_settings", "contact_settings_other", "contact_language", "contact_quality"})
      b.erase(k);
  } else {
    // Regular contact is more often positive.
    const bool regular = freq == "daily" || freq == "weekly" || freq == "monthly";
    b["contact_quality"] = kQuality[std::min<std::size_t>(4, rng() % 4 + (regular ? 1 : 0))];
    json settings = json::array({pick(rng, kSettings)});
    if (chance(rng, 50)) {
      const char* second = pick(rng, kSettings);
      if (settings[0] != second) settings.push_back(second);
    }
    b["contact_settings"] = settings;
    b.erase("contact_settings_other");
  }
  const std::string joint = pick(rng, kYnd);
  b["joint_activity_12m"] = joint;
  if (joint == "yes") {
    b["joint_activity_count"] = between(rng, 1, 6);
    b["joint_activity_programme"] = pick(rng, kYnd);
  } else {
    b.erase("joint_activity_count");
    b.erase("joint_activity_programme");
  }
  const std::string contacted = chance(rng, 55) ? "yes" : chance(rng, 80) ? "no" : "dont_know";
  b["contacted_municipality_12m"] = contacted;
  if (contacted == "yes") {
    b["service_language_ok"] = pick(rng, kLangOk);
    b["service_satisfaction"] = pick(rng, kSatisfaction);
  } else {
    b.erase("service_language_ok");
    b.erase("service_satisfaction");
  }
  b["equal_services"] = pick(rng, kAgree);
  b["mun_listens"] = pick(rng, kAgree);
  b["coop_necessary"] = kAgree[2 + rng() % 3];
  const std::string meeting = chance(rng, 35) ? "yes" : chance(rng, 85) ? "no" : "dont_know";
  b["public_meeting_12m"] = meeting;
  if (meeting == "yes") {
    b["public_meeting_count"] = between(rng, 1, 5);
    b["public_meeting_spoke"] = chance(rng, 30) ? "yes" : "no";
    b["public_meeting_mixed"] = pick(rng, kYnd);
    b.erase("meeting_barriers");
  } else {
    for (const char* k : {"public_meeting_count", "public_meeting_spoke", "public_meeting_interpretation", "public_meeting_mixed"})
      b.erase(k);
    b["meeting_barriers"] = json::array({kBarriers[rng() % 7]});  // never "other" (it would need a text)
  }
  const std::string unfair = chance(rng, 25) ? "yes" : chance(rng, 90) ? "no" : "no_answer";
  b["unfair_treatment_12m"] = unfair;
  if (unfair != "yes") b.erase("unfair_treatment_where");
  b["backcheck_consent"] = chance(rng, 70) ? "yes" : "no";
  if (b["backcheck_consent"] == "no") b.erase("backcheck_phone");
  b["relations_outlook"] = b["relations_change"];
  b["review_status"] = "submitted";
  return b;
}

// Form B: a project card; `completed` ones have an end date, a maintenance arrangement and 100 %.
json infra_card(const json& base, std::mt19937_64& rng, int i, const std::string& municipality,
                const std::string& settlement, const std::string& community, bool completed, bool committee) {
  static const std::array<const char*, 8> kType{"road_repair", "water_supply", "street_lighting", "school_kindergarten",
                                                "community_centre", "sports_playground", "sewage_drainage", "market_space"};
  static const std::array<const char*, 8> kTitle{"Road repair in the upper neighbourhood", "Water supply extension",
                                                 "Street lighting on the main road", "Kindergarten roof and heating",
                                                 "Community centre renovation", "Sports playground for the school",
                                                 "Drainage channel along the river", "Covered market stalls"};
  static const std::array<const char*, 4> kPartner{"kcdf", "aktiv", "krd", "cpt"};
  static const std::array<const char*, 3> kQuality{"good", "good", "acceptable"};
  json b = base;
  const std::size_t type = static_cast<std::size_t>(i) % kType.size();
  b["project_id"] = "SO1-" + std::to_string(101 + i);
  b["municipality"] = municipality;
  b["settlement_name"] = settlement;
  b["project_type"] = kType[type];
  b["project_title"] = kTitle[type];
  b["implementing_partner"] = pick(rng, kPartner);
  b["grant_amount"] = 15000 + 2500 * between(rng, 0, 12);
  b["cofin_municipality"] = 2000 * between(rng, 1, 6);
  b["target_communities"] = community == "albanian" ? json::array({"albanian", "serb"}) : json::array({"albanian", community});
  std::map<std::string, int> ben{{"albanian", 0}, {"serb", 0}, {"bosniak", 0}, {"turkish", 0}, {"roma", 0},
                                 {"ashkali", 0}, {"egyptian", 0}, {"gorani", 0}, {"montenegrin", 0}, {"croat", 0}, {"other", 0}};
  ben["albanian"] = between(rng, 40, 600);
  ben[community == "albanian" ? "serb" : community] += between(rng, 30, 400);
  if (chance(rng, 40)) ben["roma"] += between(rng, 5, 40);
  int total = 0;
  for (const auto& [k, v] : ben) {
    b["ben_" + k] = v;
    total += v;
  }
  b["ben_total"] = total;
  b["ben_female"] = total * between(rng, 40, 55) / 100;
  b["ben_youth"] = total * between(rng, 15, 35) / 100;
  b["works_quality"] = pick(rng, kQuality);
  if (completed) {
    b["status"] = "completed";
    b["pct_complete"] = 100;
    b["actual_end"] = date_of(day_of(kT0) - between(rng, 1, 150));  // after planned_start (2016-04-01)
    b["maintenance_agreement"] = chance(rng, 70) ? "written" : "verbal";
  } else {
    b["status"] = "in_progress";
    b["pct_complete"] = 10 * between(rng, 2, 9);
    b.erase("actual_end");
    b.erase("maintenance_agreement");
  }
  if (!committee) {
    for (auto it = b.begin(); it != b.end();)
      it = it.key().rfind("jc_", 0) == 0 ? b.erase(it) : std::next(it);
    b["jc_exists"] = "no";
  } else {
    b["jc_meetings"] = between(rng, 2, 12);
  }
  b["review_status"] = "submitted";
  return b;
}

struct Place {
  const char* municipality;
  const char* settlement;
  const char* community;
};
constexpr Place kPlaces[] = {
    {"gracanice", "Laplje Selo", "serb"}, {"kllokot", "Vrbovac", "serb"},     {"partesh", "Pasjane", "serb"},
    {"novoberde", "Bostane", "serb"},     {"shterpce", "Brezovica", "serb"},  {"obiliq", "Plemetin", "roma"},
    {"gjilan", "Gjilan", "roma"},         {"kline", "Dolac", "ashkali"},      {"peje", "Goraždevac", "serb"},
    {"prizren", "Mamushë", "turkish"},    {"dragash", "Restelicë", "gorani"}, {"mitrovica_north", "Bošnjačka mahala", "bosniak"},
};

// Form C: a business grantee at one follow-up round.
json business(const json& base, std::mt19937_64& rng, int i, const Place& p, const std::string& round,
              std::int64_t grant_day) {
  static const std::array<const char*, 8> kSector{"agriculture_primary", "agro_processing", "wood_furniture", "retail_trade",
                                                  "food_service_hospitality", "personal_services", "crafts", "ict"};
  static const std::array<const char*, 7> kRevenue{"none", "lt_5k", "5k_15k", "15k_30k", "30k_60k", "60k_120k", "gt_120k"};
  static const std::array<const char*, 4> kTraining{"business_planning", "financial_planning", "marketing_sales", "sector_specific"};
  static const std::array<const char*, 5> kAgree{"strongly_disagree", "disagree", "neither", "agree", "strongly_agree"};
  static const std::array<const char*, 3> kGrant{"equipment_in_kind", "cash", "mixed"};
  json b = base;
  b["business_id"] = "SO2-" + std::to_string(301 + i);
  b["followup_round"] = round;
  b["municipality"] = p.municipality;
  b["settlement_name"] = p.settlement;
  const bool woman = chance(rng, 40);
  b["owner_gender"] = woman ? "female" : "male";
  b["female_ownership_pct"] = woman ? (chance(rng, 80) ? 100 : 60) : (chance(rng, 20) ? 50 : 0);
  b["women_owned"] = b["female_ownership_pct"].get<int>() >= 51;
  const int age = between(rng, 19, 58);
  b["owner_age_years"] = age;
  b["owner_age_band"] = age <= 24 ? "18_24" : age <= 29 ? "25_29" : age <= 35 ? "30_35" : age <= 44 ? "36_44" : age <= 54 ? "45_54" : "55_64";
  b["youth_flag"] = age <= 35;
  b["owner_community"] = chance(rng, 25) ? "albanian" : p.community;
  b.erase("owner_nonmajority");
  b["business_sector"] = kSector[static_cast<std::size_t>(i) % kSector.size()];
  b["business_stage_at_grant"] = chance(rng, 60) ? "startup" : "existing";
  const std::string grant = pick(rng, kGrant);
  b["grant_type"] = grant;
  b["grant_amount"] = 3000 + 500 * between(rng, 0, 14);
  b["grant_date"] = date_of(grant_day);
  b["visit_date"] = date_of(grant_day + (round == "m6" ? 183 : 366) + between(rng, 0, 20));
  const int status = between(rng, 0, 99);
  const bool open = status < 88;
  b["business_status"] = status < 78 ? "operating" : status < 88 ? "seasonal_inactive" : status < 95 ? "temporarily_closed" : "permanently_closed";
  if (!open) b["closure_reason"] = json::array({chance(rng, 50) ? "few_customers" : "lack_of_finance"});
  if (grant == "cash") {
    b.erase("equipment_in_use");
    b.erase("equipment_photo");
  } else {
    b["equipment_in_use"] = open ? (chance(rng, 80) ? "all" : "partly") : "none";
    if (!open) b.erase("equipment_photo");
  }
  const int before_ft = between(rng, 0, 2), before_pt = between(rng, 0, 2);
  const int now_ft = open ? before_ft + between(rng, 0, 3) : 0, now_pt = open ? before_pt + between(rng, -1, 2) : 0;
  const int staff = now_ft + std::max(0, now_pt);
  b["emp_before_ft"] = before_ft;
  b["emp_before_pt"] = before_pt;
  b["emp_now_ft"] = now_ft;
  b["emp_now_pt"] = std::max(0, now_pt);
  b["emp_now_female"] = staff ? between(rng, 0, staff) : 0;
  b["emp_now_youth"] = staff ? between(rng, 0, staff) : 0;
  b["emp_now_other_community"] = staff ? between(rng, 0, staff / 2) : 0;
  const int rev = between(rng, 1, 3);
  b["revenue_band_before"] = kRevenue[static_cast<std::size_t>(rev)];
  b["revenue_band_now"] = kRevenue[static_cast<std::size_t>(open ? std::min(6, rev + between(rng, -1, 2)) : 0)];
  const int tax = between(rng, 0, 9);
  b["tax_registered"] = tax < 6 ? "yes" : tax < 8 ? "in_process" : tax < 9 ? "no" : "dont_know";
  if (b["tax_registered"] != "yes") {
    b.erase("tax_evidence_seen");
    b.erase("fiscal_receipts");
  }
  if (chance(rng, 15)) {
    b["training_attended"] = json::array({"none"});
    b.erase("training_applied");
  } else {
    b["training_attended"] = json::array({pick(rng, kTraining)});
    b["training_applied"] = kAgree[1 + rng() % 4];
  }
  b["review_status"] = "submitted";
  return b;
}

// Form D: one service of one municipality at one assessment round.
json service_assessment(const json& base, std::mt19937_64& rng, const Place& p, const std::string& service,
                        bool endline) {
  json b = base;
  b["municipality"] = p.municipality;
  b["service"] = service;
  b["assessment_round"] = endline ? "endline" : "baseline";
  b["period_start"] = endline ? "2017-07-01" : "2015-01-01";
  b["period_end"] = endline ? "2017-12-31" : "2015-06-30";
  b["assessment_date"] = endline ? "2018-01-" + std::to_string(15 + between(rng, 0, 9)) : "2015-07-" + std::to_string(10 + between(rng, 0, 9));
  const int files = between(rng, 20, 40);
  b["files_sampled"] = files;
  // In tenths of a day, as integers: `avg - 1` in binary floating point gives 7.800000000000001.
  const int avg_tenths = endline ? between(rng, 20, 70) : between(rng, 55, 120);
  b["avg_processing_days"] = avg_tenths / 10.0;
  b["median_processing_days"] = std::max(10, avg_tenths - 10) / 10.0;
  b["legal_deadline_days"] = service == "business_registration" ? 5 : 15;
  b["files_within_deadline"] = files * between(rng, endline ? 60 : 30, endline ? 95 : 70) / 100;
  b["applications_received"] = between(rng, 60, 400);
  b["applications_decided"] = b["applications_received"].get<int>() - between(rng, 0, 20);
  b["backlog_open"] = between(rng, 0, 25);
  if (service == "business_registration") {
    b["new_businesses_registered"] = between(rng, 20, 120);
    b["new_businesses_female_owner"] = b["new_businesses_registered"].get<int>() * between(rng, 10, 35) / 100;
  } else {
    b.erase("new_businesses_registered");
    b.erase("new_businesses_female_owner");
  }
  const bool both = endline ? chance(rng, 85) : chance(rng, 40);
  b["docs_languages"] = both ? json::array({"sq", "sr"}) : json::array({kSerbMajority.count(p.municipality) ? "sr" : "sq"});
  b["both_official_languages"] = both;
  static const std::array<const char*, 5> kOnline{"none", "info_only", "downloadable_forms", "online_submission", "online_tracking"};
  b["online_level"] = kOnline[static_cast<std::size_t>(between(rng, endline ? 1 : 0, endline ? 4 : 2))];
  b["written_procedure"] = chance(rng, endline ? 80 : 35) ? "yes" : "no";
  const int staff = between(rng, 3, 9);
  b["staff_total"] = staff;
  b["staff_trained"] = endline ? between(rng, staff / 2, staff) : between(rng, 0, staff / 2);
  b["staff_nonmajority"] = between(rng, 0, staff / 2);
  b["complaints_mechanism"] = chance(rng, endline ? 80 : 40) ? "yes" : "no";
  if (b["complaints_mechanism"] == "yes") b["complaints_received"] = between(rng, 0, 9);
  else b.erase("complaints_received");
  const int exit_n = between(rng, 20, 45);
  const int female = exit_n * between(rng, 30, 55) / 100, nonmaj = exit_n * between(rng, 10, 35) / 100;
  const int pct = endline ? between(rng, 60, 90) : between(rng, 35, 70);
  b["exit_n"] = exit_n;
  b["exit_satisfied_n"] = exit_n * pct / 100;
  b["exit_female_n"] = female;
  b["exit_female_satisfied_n"] = female * pct / 100;
  b["exit_nonmajority_n"] = nonmaj;
  b["exit_nonmajority_satisfied_n"] = nonmaj * std::max(0, pct - between(rng, 0, 25)) / 100;
  b["review_status"] = "submitted";
  return b;
}

std::vector<DemoPush> batches(const std::vector<std::pair<int, sync::Edit>>& edits, const std::string& prefix) {
  std::vector<DemoPush> out;
  for (int t = 0; t < 2; ++t) {
    std::vector<sync::Edit> mine;
    for (const auto& [tablet, e] : edits)
      if (tablet == t) mine.push_back(e);
    for (std::size_t b = 0; b * 100 < mine.size(); ++b) {
      DemoPush p{t, {prefix + "-t" + std::to_string(t + 1) + "-" + std::to_string(b), {}}};
      for (std::size_t i = b * 100; i < std::min(mine.size(), (b + 1) * 100); ++i) p.request.edits.push_back(mine[i]);
      out.push_back(std::move(p));
    }
  }
  return out;
}

}  // namespace

DemoData make_demo_data(int surveys, const std::string& actor1, const std::string& user1, const std::string& actor2,
                        const std::string& user2) {
  Builder w;
  w.actor = {actor1, actor2};
  w.user = {user1, user2};
  for (const char* f : {"so1_interethnic_survey", "so1_infra_monitoring", "so2_business_followup", "so3_municipal_service"})
    w.out.count[f] = 0;
  int reviewed = 0;

  // Form A: interviews by both enumerators, one household once per wave (the duplicate check's key).
  std::set<std::tuple<std::string, std::string, int>> keys;
  auto survey = [&](int i, int tablet) {
    GeneratedRecord g = generate_survey_record(w.rng);
    json b = vary_survey(json::parse(g.body), w.rng);
    for (;;) {
      auto key = std::make_tuple(b["survey_wave"].get<std::string>(), b["cluster_id"].get<std::string>(), b["hh_number"].get<int>());
      if (keys.insert(key).second) break;
      b["hh_number"] = b["hh_number"].get<int>() % 999 + 1;
    }
    const std::uint64_t when = kT0 + static_cast<std::uint64_t>(i) * 3600000;
    return w.make(tablet, "so1_interethnic_survey", g.scope, b, when);
  };
  for (int i = 0; i < surveys; ++i) {
    sync::Edit e = survey(i, i % 2);
    w.review(e, reviewed++);
    w.add(i % 2, std::move(e));
  }

  // Form B: 17 project cards, 12 completed (9 with a functioning joint committee).
  const json infra_base = json::parse(generate_infra_card(w.rng).body);
  for (int i = 0; i < 17; ++i) {
    const Place& p = kPlaces[static_cast<std::size_t>(i) % std::size(kPlaces)];
    const bool completed = i < 12, committee = i < 9 || i >= 14;
    json b = infra_card(infra_base, w.rng, i, p.municipality, p.settlement, p.community, completed, committee);
    sync::Edit e = w.make(i % 2, "so1_infra_monitoring", {p.municipality, p.community, "SO1"}, b,
                          kT0 + static_cast<std::uint64_t>(i) * kDay);
    w.review(e, reviewed++);
    w.add(i % 2, std::move(e));
  }

  // Form C: 30 businesses followed up at m6; 26 of them again at m12.
  const json business_base = json::parse(R"json({"app_version":"1.4.2","b2b_other_community":"yes","business_gps":{"acc":12,"lat":42.3697,"lon":21.3823},"business_registered":"kbra","consent":"yes","customers_other_community":"lt_25pct","emp_now_other_community":1,"equipment_in_use":"all","equipment_photo":"sha256:0b590cdf632a8279811b2aa2e69231ac5c398943a0a60f3fc2c223f4dd580a4c;size=2221;type=image/jpeg","finance_access_12m":"not_applied","fiscal_receipts":"yes","grant_currency":"eur","interview_mode":"in_person","premises_home_based":"no","premises_photo":"sha256:1493651fc071c9c97985a2857cb43fda1a5f66f53300b8c9ebd4a8b2f003de75;size=2221;type=image/jpeg","respondent_role":"owner","started_at":"2017-06-14T09:05:00+02:00","ended_at":"2017-06-14T09:31:00+02:00","support_needed":["finance","marketing"],"tax_evidence_seen":"yes","training_applied":"agree"})json");
  for (int i = 0; i < 30; ++i) {
    const Place& p = kPlaces[static_cast<std::size_t>(i * 7) % std::size(kPlaces)];
    const std::int64_t grant_day = day_of(kT0) - 500 + i * 9;
    for (const char* round : {"m6", "m12"}) {
      if (std::string(round) == "m12" && i >= 26) continue;
      std::mt19937_64 r(static_cast<std::uint64_t>(i) * 31 + 7);  // the same business answers alike in both rounds
      json b = business(business_base, r, i, p, round, grant_day);
      sync::Edit e = w.make(i % 2, "so2_business_followup", {p.municipality, p.community, "SO2"}, b,
                            kT0 + static_cast<std::uint64_t>(i) * kDay);
      w.review(e, reviewed++);
      w.add(i % 2, std::move(e));
    }
  }

  // Form D: six municipalities x two services x baseline and endline.
  const json service_base = json::parse(R"json({"app_version":"1.4.2","data_sources":["electronic_register","file_sample"],"evidence_photo_1":"sha256:f0ee8163fab9c43e96f74d919035ef6d86cc6062b8963eb5e0a557c8041bce74;size=2221;type=image/jpeg","respondent_position":"head_of_unit","ta_types":["training","it_system"],"started_at":"2017-06-14T09:05:00+02:00","ended_at":"2017-06-14T09:31:00+02:00","assessor_notes":"Register totals match the logbook."})json");
  for (std::size_t m = 0; m < 6; ++m) {
    const Place& p = kPlaces[m * 2];
    for (const char* service : {"business_registration", "civil_registry"})
      for (bool endline : {false, true}) {
        json b = service_assessment(service_base, w.rng, p, service, endline);
        sync::Edit e = w.make(static_cast<int>(m % 2), "so3_municipal_service", {p.municipality, p.community, "SO3"}, b,
                              kT0 + m * kDay);
        w.review(e, reviewed++);
        w.add(static_cast<int>(m % 2), std::move(e));
      }
  }

  // The conflicts' records: both tablets hold each of them before going offline.
  const sync::Edit field_base = survey(surveys, 0), delete_base = survey(surveys + 1, 0),
                   locked_base = survey(surveys + 2, 0), dup_a = survey(surveys + 3, 0);
  json semantic_body = infra_card(infra_base, w.rng, 40, "novoberde", "Bostane", "serb", false, true);
  semantic_body["pct_complete"] = 100;
  const sync::Edit semantic_base = w.make(0, "so1_infra_monitoring", {"novoberde", "serb", "SO1"}, semantic_body, kT0);
  const json permission_body = infra_card(infra_base, w.rng, 41, "partesh", "Pasjane", "serb", false, true);
  const sync::Edit permission_base = w.make(0, "so1_infra_monitoring", {"partesh", "serb", "SO1"}, permission_body, kT0);
  for (const sync::Edit* e : {&field_base, &delete_base, &locked_base, &dup_a, &semantic_base, &permission_base})
    w.add(0, *e);
  w.out.reviews.push_back({locked_base.record_id, "approved", ""});

  // Three edits the server refuses, kept in the quarantine for an admin.
  {
    sync::Edit bad = survey(surveys + 4, 0);  // answers out of range and off the list
    json b = json::parse(bad.body);
    b["visit_attempt"] = 5;
    b["resp_age_band"] = "12_17";
    bad.body = b.dump();
    sync::Edit newer = survey(surveys + 5, 0);  // filled with a form version this server does not have
    newer.form_version = 2;
    json c = business(business_base, w.rng, 40, kPlaces[0], "m12", day_of(kT0) - 400);
    c["grant_date"] = date_of(day_of(kT0) + 30);  // after the visit
    sync::Edit late = w.make(1, "so2_business_followup", {kPlaces[0].municipality, kPlaces[0].community, "SO2"}, c, kT0);
    w.first_edits.emplace_back(0, bad);
    w.first_edits.emplace_back(0, newer);
    w.first_edits.emplace_back(1, late);
    w.out.expected_rejections = 3;
  }
  w.out.first = batches(w.first_edits, "seed");

  // The concurrent edits, one conflict of each kind (PROTOCOL §11.2):
  std::vector<std::pair<int, sync::Edit>> then;
  // field: both tablets set the household size differently;
  then.emplace_back(0, w.change(0, field_base, {{"hh_size", 5}, {"comments", "Household grew: a grandmother moved in."}}));
  then.emplace_back(1, w.change(1, field_base, {{"hh_size", 6}}));
  // delete_edit: tablet 1 deletes the interview (entered twice by mistake), tablet 2 corrects it;
  sync::Edit del = w.change(0, delete_base, json::object());
  del.deleted = true;
  del.body = "{}";
  del.changed = {};
  then.emplace_back(0, del);
  then.emplace_back(1, w.change(1, delete_base, {{"trust_police", "a_lot"}}));
  // locked_change: tablet 2 edits the interview the supervisor approved meanwhile;
  then.emplace_back(1, w.change(1, locked_base, {{"hh_size", 3}}));
  // semantic: tablet 1 finds defects (95 %), tablet 2 records the hand-over: completed at 95 % breaks a rule;
  then.emplace_back(0, w.change(0, semantic_base, {{"pct_complete", 95}}));
  then.emplace_back(1, w.change(1, semantic_base, {{"status", "completed"}, {"actual_end", "2016-10-20"}, {"maintenance_agreement", "written"}}));
  // permission: tablet 2 renames the project (an admin-only field);
  then.emplace_back(1, w.change(1, permission_base, {{"project_title", "Water supply, lower and upper neighbourhood"}}));
  // duplicate_candidate: tablet 2 interviews the same household of the same wave again.
  {
    sync::Edit twin = survey(surveys + 6, 1);
    json b = json::parse(twin.body), a = json::parse(dup_a.body);
    for (const char* k : {"survey_wave", "municipality", "cluster_id", "hh_number", "settlement_name"}) b[k] = a[k];
    b["enumerator_id"] = user2;
    b["device_id"] = "tablet of " + user2;
    twin.body = b.dump();
    twin.scope = dup_a.scope;
    ++w.out.count[twin.form_id];
    then.emplace_back(1, twin);
  }
  w.out.then = batches(then, "seed-conflicts");
  return w.out;
}

}  // namespace akt::client

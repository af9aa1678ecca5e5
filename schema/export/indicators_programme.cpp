// Indicator rules for Forms B, C and D (1.4, 1.5, 2.2–2.5, 3.1–3.4) and the derived cells that need
// every record first. LOGFRAME.md §2.
#include <algorithm>
#include <cstdio>

#include "schema/export/indicator_rules.hpp"

namespace akt::exports {
namespace {

constexpr const char* kCommunities[] = {"albanian", "serb",     "bosniak",     "turkish", "roma", "ashkali",
                                        "egyptian", "gorani",   "montenegrin", "croat",   "other"};

int rank_of(const std::string& v, std::initializer_list<std::string_view> order) {
  int i = 0;
  for (std::string_view o : order) {
    if (v == o) return i;
    ++i;
  }
  return -1;
}

// Days since 1970-01-01 of "YYYY-MM-DD", or -1e9 when ill-formed.
double days_of(const std::string& d) {
  int y = 0, m = 0, dd = 0;
  if (std::sscanf(d.c_str(), "%4d-%2d-%2d", &y, &m, &dd) != 3) return -1e9;
  y -= m <= 2 ? 1 : 0;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + dd - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097.0 + doe - 719468.0;
}

nlohmann::json pick(const nlohmann::json& b, std::initializer_list<const char*> keys) {
  nlohmann::json out = nlohmann::json::object();
  for (const char* k : keys) {
    if (auto it = b.find(k); it != b.end()) out[k] = *it;
  }
  return out;
}

std::string or_ns(std::string v) { return v.empty() ? std::string("not_stated") : v; }
}  // namespace

void add_infra(IndicatorEngine::State& s, const nlohmann::json& b) {
  const std::string status = text_of(b, "status");
  if ((status != "completed" && status != "handed_over") || number_of(b, "pct_complete", -1) != 100) return;
  const std::string mun = or_ns(text_of(b, "municipality"));
  const std::vector<std::pair<std::string, std::string>> groups = {
      {"all", "all"},
      {"municipality", mun},
      {"project_type", or_ns(text_of(b, "project_type"))},
      {"implementing_partner", or_ns(text_of(b, "implementing_partner"))},
      {"completion_year", or_ns(text_of(b, "actual_end").substr(0, 4))}};
  int communities_on_committee = 0;
  for (const char* c : kCommunities) communities_on_committee += number_of(b, std::string("jc_") + c) > 0 ? 1 : 0;
  const bool committee = text_of(b, "jc_exists") == "yes" && communities_on_committee >= 2 &&
                         number_of(b, "jc_meetings") >= 3 && text_of(b, "jc_minutes_seen") == "yes";
  for (const auto& [dim, grp] : groups) {
    s.cells.add("1.4", dim, grp, Measure::kCount, committee ? 1 : 0, 1);
    s.cells.add("1.4.completed", dim, grp, Measure::kCount, 1, 1);
    s.cells.add("1.4.ratio", dim, grp, Measure::kPercent, committee ? 1 : 0, 1);
    if (dim != "completion_year" && dim != "implementing_partner") {
      s.cells.add("1.5", dim, grp, Measure::kSum, number_of(b, "ben_total"), 1);
    }
  }
  const bool has_female = has_number(b, "ben_female");
  s.cells.add("1.5.women", "all", "all", Measure::kSum, number_of(b, "ben_female"), has_female ? 1 : 0);
  s.cells.add("1.5.women_coverage", "all", "all", Measure::kPercent, has_female ? 1 : 0, 1);
  const std::string settlement = text_of(b, "settlement_name");
  for (const char* c : kCommunities) {
    const double n = number_of(b, std::string("ben_") + c);
    s.cells.add("1.5", "community", c, Measure::kSum, n, 1);
    double& m = s.settlement_max[{mun, settlement, c}];
    m = std::max(m, n);
  }
}

void add_business(IndicatorEngine::State& s, const nlohmann::json& b) {
  const std::string id = text_of(b, "business_id");
  const int rank = rank_of(text_of(b, "followup_round"), {"baseline_at_award", "m6", "m12", "m24"});
  if (id.empty() || rank < 0 || text_of(b, "consent") != "yes") return;
  BusinessRound r{rank, pick(b, {"business_status", "emp_before_ft", "emp_before_pt", "emp_now_ft", "emp_now_pt",
                                 "tax_registered", "revenue_band_before", "revenue_band_now", "training_attended",
                                 "training_applied", "women_owned", "youth_flag", "owner_community",
                                 "owner_nonmajority", "municipality", "business_sector", "business_stage_at_grant"})};
  auto& [baseline, latest] = s.businesses[id];
  if (rank == 0) baseline = r;
  if (rank >= latest.rank) latest = std::move(r);
  IndicatorEngine::State::Grant& g = s.grants[id];
  if (const std::string gd = text_of(b, "grant_date"); gd.size() >= 10) g.grant_date = gd.substr(0, 10);
  if (rank == 2) {
    const std::string status = text_of(b, "business_status");
    g.m12 = status == "operating" || status == "seasonal_inactive" ? 1 : 0;
  }
}

void add_service(IndicatorEngine::State& s, const nlohmann::json& b) {
  const std::string mun = or_ns(text_of(b, "municipality"));
  const std::string service = or_ns(text_of(b, "service"));
  const std::string round = text_of(b, "assessment_round");
  const std::vector<std::pair<std::string, std::string>> groups = {
      {"all", "all"}, {"municipality", mun}, {"service", service}, {"round", or_ns(round)}};
  if (has_number(b, "exit_n") && number_of(b, "exit_n") > 0) {
    for (const auto& [dim, grp] : groups) {
      s.cells.add("3.3", dim, grp, Measure::kPercent, number_of(b, "exit_satisfied_n"), number_of(b, "exit_n"));
      s.cells.add("3.3.nonmajority", dim, grp, Measure::kPercent, number_of(b, "exit_nonmajority_satisfied_n"),
                  number_of(b, "exit_nonmajority_n"));
      s.cells.add("3.3.women", dim, grp, Measure::kPercent, number_of(b, "exit_female_satisfied_n"),
                  number_of(b, "exit_female_n"));
    }
  }
  if (service == "business_registration" && has_number(b, "new_businesses_registered")) {
    const double days = days_of(text_of(b, "period_end")) - days_of(text_of(b, "period_start"));
    if (days > 0 && days < 1e6) {
      const double per_year = number_of(b, "new_businesses_registered") * 365.0 / days;
      s.cells.add("3.2", "round", or_ns(round), Measure::kSum, per_year, 1);
      s.cells.add("3.2", "municipality_round", mun + "/" + or_ns(round), Measure::kSum, per_year, 1);
    }
  }
  const int rank = rank_of(round, {"baseline", "midterm", "endline", "follow_up"});
  if (rank < 0) return;
  ServiceRound r{rank, pick(b, {"avg_processing_days", "files_sampled", "both_official_languages",
                                "written_procedure", "online_level"})};
  auto& [baseline, latest] = s.services[{mun, service}];
  if (rank == 0) baseline = r;
  if (rank >= latest.rank) latest = std::move(r);
}

}  // namespace akt::exports

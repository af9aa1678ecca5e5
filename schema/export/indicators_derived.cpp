// Derived indicator cells: those computed from per-business / per-service state or from other cells.
#include <algorithm>
#include <cmath>

#include <charconv>

#include "schema/export/indicator_rules.hpp"

namespace akt::exports {
namespace {

const char* kBands[] = {"none", "lt_5k", "5k_15k", "15k_30k", "30k_60k", "60k_120k", "gt_120k"};

int band_index(const std::string& v) {
  for (int i = 0; i < 7; ++i) {
    if (v == kBands[i]) return i;
  }
  return -1;
}

std::string or_ns(std::string v) { return v.empty() ? std::string("not_stated") : v; }
std::string flag(const nlohmann::json& b, const char* key) {
  auto it = b.find(key);
  if (it == b.end() || !it->is_boolean()) return "not_stated";
  return it->get<bool>() ? "yes" : "no";
}

double fte(const nlohmann::json& b, const char* ft, const char* pt) { return number_of(b, ft) + 0.5 * number_of(b, pt); }

bool selected(const nlohmann::json& b, std::string_view key, std::string_view code) {
  auto it = b.find(key);
  if (it == b.end() || !it->is_array()) return false;
  return std::any_of(it->begin(), it->end(), [&](const nlohmann::json& e) { return e.is_string() && e == code; });
}

// The date 12 months before "YYYY-MM-DD" (same month and day, year - 1), compared as text.
std::string twelve_months_before(const std::string& day) {
  int year = 0;
  if (day.size() != 10 || std::from_chars(day.data(), day.data() + 4, year).ec != std::errc()) return {};
  return std::to_string(year - 1) + day.substr(4);
}

void finish_businesses(const IndicatorEngine::State& s, CellTable& out) {
  const std::string cutoff = twelve_months_before(s.reporting_date);
  for (const auto& [id, rounds] : s.businesses) {
    const auto& [baseline, latest] = rounds;
    const nlohmann::json& b = latest.fields;
    std::string community = text_of(b, "owner_community");
    if (community.empty() || community == "no_answer") community = "not_stated";
    const std::vector<std::pair<std::string, std::string>> groups = {
        {"all", "all"},
        {"women_owned", flag(b, "women_owned")},
        {"youth_flag", flag(b, "youth_flag")},
        {"owner_community", community},
        {"owner_nonmajority", flag(b, "owner_nonmajority")},
        {"municipality", or_ns(text_of(b, "municipality"))},
        {"business_sector", or_ns(text_of(b, "business_sector"))},
        {"business_stage_at_grant", or_ns(text_of(b, "business_stage_at_grant"))}};
    // 2.1: grants at least 12 months old; operating at m12, or not followed up (reported apart, not as closed).
    auto g = s.grants.find(id);
    if (!cutoff.empty() && g != s.grants.end() && !g->second.grant_date.empty() && g->second.grant_date <= cutoff) {
      for (const auto& [dim, grp] : groups) {
        out.add("2.1", dim, grp, Measure::kPercent, g->second.m12 == 1 ? 1 : 0, 1);
        out.add("2.1.not_followed_up", dim, grp, Measure::kPercent, g->second.m12 == -1 ? 1 : 0, 1);
      }
    }
    if (latest.rank < 1) continue;  // no follow-up yet    // 2.2: net FTE, latest follow-up minus before the grant (a closed business reports 0 now).
    const double net = fte(b, "emp_now_ft", "emp_now_pt") - fte(b, "emp_before_ft", "emp_before_pt");
    const std::string tax = text_of(b, "tax_registered");
    const std::string base_tax = text_of(baseline.fields, "tax_registered");
    std::string before = text_of(b, "revenue_band_before");
    if (before.empty()) before = text_of(baseline.fields, "revenue_band_before");
    const int ib = band_index(before), in = band_index(text_of(b, "revenue_band_now"));
    auto t = b.find("training_attended");
    const bool trained = t != b.end() && t->is_array() && !t->empty() && !selected(b, "training_attended", "none");
    for (const auto& [dim, grp] : groups) {
      out.add("2.2", dim, grp, Measure::kTotal, net, 1);
      if (!tax.empty() && tax != "dont_know") out.add("2.3", dim, grp, Measure::kPercent, tax == "yes" ? 1 : 0, 1);
      if (baseline.rank == 0 && !base_tax.empty()) {
        out.add("2.3.newly_formalised", dim, grp, Measure::kCount, base_tax != "yes" && tax == "yes" ? 1 : 0, 1);
      }
      if (latest.rank >= 2 && ib >= 0 && in >= 0) out.add("2.4", dim, grp, Measure::kPercent, in > ib ? 1 : 0, 1);
      if (trained) {
        out.add("2.5", dim, grp, Measure::kCount, 1, 1);
        const std::string applied = text_of(b, "training_applied");
        out.add("2.5.applying", dim, grp, Measure::kPercent,
                applied == "agree" || applied == "strongly_agree" ? 1 : 0, 1);
      }
    }
    if (trained) {
      for (const auto& topic : *t) {
        if (topic.is_string()) out.add("2.5.topic", "topic", topic.get<std::string>(), Measure::kCount, 1, 1);
      }
    }
  }
}

void finish_services(const IndicatorEngine::State& s, CellTable& out) {
  std::vector<double> changes;
  for (const auto& [key, rounds] : s.services) {
    const auto& [baseline, latest] = rounds;
    const nlohmann::json& l = latest.fields;
    // 3.4 at the latest round of each assisted (municipality, service).
    const std::vector<std::pair<std::string, std::string>> groups = {{"all", "all"}, {"service", key.second}};
    for (const auto& [dim, grp] : groups) {
      auto both = l.find("both_official_languages");
      if (both != l.end() && both->is_boolean()) out.add("3.4", dim, grp, Measure::kPercent, both->get<bool>() ? 1 : 0, 1);
      const std::string wp = text_of(l, "written_procedure");
      if (!wp.empty()) out.add("3.4.written_procedure", dim, grp, Measure::kPercent, wp == "yes" ? 1 : 0, 1);
      const std::string online = text_of(l, "online_level");
      if (!online.empty()) {
        out.add("3.4.online", dim, grp, Measure::kPercent,
                online == "online_submission" || online == "online_tracking" ? 1 : 0, 1);
      }
    }
    // 3.1: both rounds with at least 20 sampled files (assumption in LOGFRAME).
    if (baseline.rank != 0 || latest.rank < 1) continue;
    const nlohmann::json& b = baseline.fields;
    if (number_of(b, "files_sampled") < 20 || number_of(l, "files_sampled") < 20) continue;
    const double base = number_of(b, "avg_processing_days");
    if (!has_number(b, "avg_processing_days") || !has_number(l, "avg_processing_days") || base <= 0) continue;
    changes.push_back((number_of(l, "avg_processing_days") - base) / base * 100.0);
  }
  if (!changes.empty()) {
    std::sort(changes.begin(), changes.end());
    const std::size_t n = changes.size();
    const double median = n % 2 == 1 ? changes[n / 2] : (changes[n / 2 - 1] + changes[n / 2]) / 2.0;
    out.add("3.1.median_change_pct", "all", "all", Measure::kTotal, median, static_cast<double>(n));
  }
}

}  // namespace

void finish_derived(const IndicatorEngine::State& s, CellTable& out) {
  std::map<std::string, double> unduplicated;
  for (const auto& [key, n] : s.settlement_max) unduplicated[std::get<2>(key)] += n;
  for (const auto& [community, n] : unduplicated) out.add("1.5.unduplicated", "community", community, Measure::kSum, n, 1);
  finish_businesses(s, out);
  finish_services(s, out);
}

std::vector<IndicatorCell> gap_cells(const CellTable& cells, const IndicatorOptions& o) {
  std::vector<IndicatorCell> out;
  auto gap = [&](const std::string& name, const std::string& dim, const std::string& grp,
                 std::pair<double, double> a, std::pair<double, double> b) {
    IndicatorCell ca = finish_cell("", "", "", Measure::kPercent, a.first, a.second, o);
    IndicatorCell cb = finish_cell("", "", "", Measure::kPercent, b.first, b.second, o);
    IndicatorCell g{name, dim, grp, Measure::kTotal, {}, {}, {}, ca.suppressed || cb.suppressed,
                    ca.low_precision || cb.low_precision};
    if (!g.suppressed && ca.value && cb.value) g.value = std::round((*ca.value - *cb.value) * 10.0) / 10.0;
    out.push_back(std::move(g));
  };
  // 1.2 gap = % trusting among the local majority - % among the local non-majority, per municipality.
  std::vector<std::string> muns;
  for (const auto& [mun, grp] : cells.keys("1.2.gap_input")) {
    if (muns.empty() || muns.back() != mun) muns.push_back(mun);
  }
  for (const std::string& mun : muns) {
    gap("1.2.gap", "municipality", mun, cells.raw("1.2.gap_input", mun, "no"), cells.raw("1.2.gap_input", mun, "yes"));
  }
  // 3.3 gap = overall - non-majority satisfaction, for every group of 3.3.
  for (const auto& [dim, grp] : cells.keys("3.3")) {
    gap("3.3.gap", dim, grp, cells.raw("3.3", dim, grp), cells.raw("3.3.nonmajority", dim, grp));
  }
  return out;
}

}  // namespace akt::exports

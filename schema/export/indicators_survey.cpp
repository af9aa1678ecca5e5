// Indicator rules for Form A (so1_interethnic_survey): G.1, 1.1, 1.2 (+ gap), 1.3. LOGFRAME.md §2.
#include <initializer_list>

#include "schema/export/indicator_rules.hpp"
#include "schema/forms/choice_list.hpp"
#include "schema/forms/reference_data.hpp"

namespace akt::exports {
namespace {

bool in(const std::string& v, std::initializer_list<std::string_view> set) {
  for (std::string_view s : set) {
    if (v == s) return true;
  }
  return false;
}

// The standard disaggregations of Form A (LOGFRAME §1.4) as (dimension, group) pairs.
std::vector<std::pair<std::string, std::string>> groups_of(const nlohmann::json& b, const IndicatorOptions& o) {
  std::string community = text_of(b, "resp_community");
  if (community.empty() || community == "no_answer") community = "not_stated";
  const std::string mun = text_of(b, "municipality");
  std::string nonmaj = "not_stated";
  if (community != "not_stated") {
    const auto& maj = local_majority();
    auto it = maj.find(mun);
    const std::string majority = o.nonmajority_kosovo ? "albanian" : (it == maj.end() ? "albanian" : it->second);
    nonmaj = community != majority ? "yes" : "no";
  }
  auto or_ns = [](std::string v) { return v.empty() ? std::string("not_stated") : v; };
  return {{"all", "all"},
          {"community", community},
          {"nonmajority_local", nonmaj},
          {"gender", or_ns(text_of(b, "resp_gender"))},
          {"age_band", or_ns(text_of(b, "resp_age_band"))},
          {"municipality", or_ns(mun)},
          {"survey_wave", or_ns(text_of(b, "survey_wave"))}};
}

}  // namespace

std::string text_of(const nlohmann::json& body, std::string_view key) {
  auto it = body.find(key);
  return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
}

double number_of(const nlohmann::json& body, std::string_view key, double fallback) {
  auto it = body.find(key);
  return it != body.end() && it->is_number() ? it->get<double>() : fallback;
}

bool has_number(const nlohmann::json& body, std::string_view key) {
  auto it = body.find(key);
  return it != body.end() && it->is_number();
}

const std::map<std::string, std::string, std::less<>>& local_majority() {
  static const auto table = [] {
    std::map<std::string, std::string, std::less<>> m;
    auto rows = forms::parse_simple_csv(forms::kMunicipalitiesCsv, "municipalities.csv");
    if (!rows.ok()) return m;
    for (std::size_t i = 1; i < rows->size(); ++i) {
      const auto& r = (*rows)[i];
      if (r.size() < 5) continue;
      m[r[0]] = r[0] == "mamushe" ? "turkish" : r[4] == "true" ? "serb" : "albanian";
    }
    return m;
  }();
  return table;
}

void add_survey(IndicatorEngine::State& s, const nlohmann::json& b, const IndicatorOptions& o) {
  if (text_of(b, "consent") != "yes" || text_of(b, "interview_outcome") != "completed") return;
  const auto groups = groups_of(b, o);
  auto ratio = [&](const std::string& ind, bool in_den, bool in_num) {
    if (!in_den) return;
    for (const auto& [dim, grp] : groups) s.cells.add(ind, dim, grp, Measure::kPercent, in_num ? 1 : 0, 1);
  };
  // G.1: regular (at least monthly) and positive contact; "never" stays in the denominator.
  ratio("G.1", true,
        in(text_of(b, "contact_freq"), {"daily", "weekly", "monthly"}) &&
            in(text_of(b, "contact_quality"), {"positive", "very_positive"}));
  // 1.1: joint activity; dont_know and no_answer stay in the denominator.
  const bool joint = text_of(b, "joint_activity_12m") == "yes";
  ratio("1.1", true, joint);
  ratio("1.1.programme_share", joint, text_of(b, "joint_activity_programme") == "yes");
  // 1.2: trust among those who answered (dont_know kept); companions.
  const std::string trust = text_of(b, "trust_municipality");
  ratio("1.2", !trust.empty() && trust != "no_answer", in(trust, {"somewhat", "a_lot"}));
  const std::string equal = text_of(b, "equal_services");
  ratio("1.2.equal_services", !equal.empty(), in(equal, {"agree", "strongly_agree"}));
  const std::string lang = text_of(b, "service_language_ok");
  ratio("1.2.service_language_ok", text_of(b, "contacted_municipality_12m") == "yes" && !lang.empty(),
        in(lang, {"always", "mostly"}));
  // 1.2 gap input: trust by municipality x majority/non-majority (only the gap is published).
  if (!trust.empty() && trust != "no_answer" && groups[2].second != "not_stated") {
    s.cells.add("1.2.gap_input", groups[5].second, groups[2].second, Measure::kPercent,
                in(trust, {"somewhat", "a_lot"}) ? 1 : 0, 1);
  }
  // 1.3: attendance; among attendees, spoke / mixed; among non-attendees, each barrier.
  const std::string meeting = text_of(b, "public_meeting_12m");
  const bool attended = meeting == "yes";
  ratio("1.3", true, attended);
  ratio("1.3.spoke", attended, text_of(b, "public_meeting_spoke") == "yes");
  ratio("1.3.mixed", attended, text_of(b, "public_meeting_mixed") == "yes");
  auto barriers = b.find("meeting_barriers");
  if (!attended && !meeting.empty() && barriers != b.end() && barriers->is_array()) {
    for (const char* code : {"not_informed", "language", "distance_transport", "timing", "not_interested",
                             "no_trust_in_outcome", "safety_concern", "other"}) {
      bool hit = false;
      for (const auto& e : *barriers) hit = hit || (e.is_string() && e.get<std::string>() == code);
      ratio(std::string("1.3.barrier.") + code, true, hit);
    }
  }
}

}  // namespace akt::exports

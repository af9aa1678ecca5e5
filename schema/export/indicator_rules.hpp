// Internal to akt_export: per-form contribution rules of the indicator engine and their state.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "schema/export/indicator_cells.hpp"
#include "schema/export/indicators.hpp"

namespace akt::exports {

// Text of a string field, or "" when absent / not a string.
std::string text_of(const nlohmann::json& body, std::string_view key);
// Number of a numeric field, or `fallback`.
double number_of(const nlohmann::json& body, std::string_view key, double fallback = 0);
bool has_number(const nlohmann::json& body, std::string_view key);

// Local majority community per municipality code (LOGFRAME §1.3), from the embedded municipalities.csv.
const std::map<std::string, std::string, std::less<>>& local_majority();

struct BusinessRound {
  int rank = -1;  // baseline_at_award 0 < m6 1 < m12 2 < m24 3
  nlohmann::json fields = nlohmann::json::object();
};
struct ServiceRound {
  int rank = -1;  // baseline 0 < midterm 1 < endline 2 < follow_up 3
  nlohmann::json fields = nlohmann::json::object();
};

struct IndicatorEngine::State {
  CellTable cells;
  std::map<std::string, std::int64_t> in_scope, held_back;
  // 1.5 unduplicated: max beneficiaries per (municipality, settlement, community).
  std::map<std::tuple<std::string, std::string, std::string>, double> settlement_max;
  // Form C: per business, the baseline and the latest round (ad_hoc excluded).
  std::map<std::string, std::pair<BusinessRound, BusinessRound>> businesses;
  // Form C, indicator 2.1: per business, its grant date and its m12 status (-1 no approved m12 record,
  // 0 not operating, 1 operating or seasonally inactive).
  struct Grant {
    std::string grant_date;
    int m12 = -1;
  };
  std::map<std::string, Grant> grants;
  std::string reporting_date;  // IndicatorOptions::reporting_date
  // Form D: per (municipality, service), baseline and the latest round.
  std::map<std::pair<std::string, std::string>, std::pair<ServiceRound, ServiceRound>> services;
};

void add_survey(IndicatorEngine::State& s, const nlohmann::json& body, const IndicatorOptions& o);
void add_infra(IndicatorEngine::State& s, const nlohmann::json& body);
void add_business(IndicatorEngine::State& s, const nlohmann::json& body);
void add_service(IndicatorEngine::State& s, const nlohmann::json& body);
// Cells that need every record first: 1.5 unduplicated, 2.2–2.5, 3.1, 3.4 (added to `out`).
void finish_derived(const IndicatorEngine::State& s, CellTable& out);
// Gaps in percentage points (1.2.gap per municipality, 3.3.gap per group), from finished cells;
// suppressed when either side is.
std::vector<IndicatorCell> gap_cells(const CellTable& cells, const IndicatorOptions& o);

}  // namespace akt::exports

// The indicator engine: routes records to the per-form rules and renders the cells as JSON or CSV.
#include "schema/export/indicators.hpp"

#include <cstdio>

#include "schema/export/csv_writer.hpp"
#include "schema/export/indicator_rules.hpp"

namespace akt::exports {
namespace {

constexpr std::string_view kSurvey = "so1_interethnic_survey";
constexpr std::string_view kInfra = "so1_infra_monitoring";
constexpr std::string_view kBusiness = "so2_business_followup";
constexpr std::string_view kService = "so3_municipal_service";

std::string_view form_of(const std::string& indicator) {
  if (indicator.starts_with("G.") || indicator.starts_with("1.1") || indicator.starts_with("1.2") ||
      indicator.starts_with("1.3")) {
    return kSurvey;
  }
  if (indicator.starts_with("1.")) return kInfra;
  if (indicator.starts_with("2.")) return kBusiness;
  return kService;
}

std::string number_text(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

}  // namespace

std::string_view to_string(Measure m) {
  switch (m) {
    case Measure::kPercent: return "percent";
    case Measure::kSum: return "sum";
    case Measure::kCount: return "count";
    case Measure::kTotal: return "total";
  }
  return "?";
}

IndicatorEngine::IndicatorEngine(IndicatorOptions options)
    : options_(options), state_(std::make_unique<State>()) {
  state_->reporting_date = options_.reporting_date;
}
IndicatorEngine::~IndicatorEngine() = default;
IndicatorEngine::IndicatorEngine(IndicatorEngine&&) noexcept = default;
IndicatorEngine& IndicatorEngine::operator=(IndicatorEngine&&) noexcept = default;

void IndicatorEngine::add(const ExportRecord& r) {
  if (r.form_id != kSurvey && r.form_id != kInfra && r.form_id != kBusiness && r.form_id != kService) return;
  if (r.deleted || !r.body.is_object() || text_of(r.body, "review_status") != "approved") return;
  if (r.conflict) {
    ++state_->held_back[r.form_id];
    return;
  }
  ++state_->in_scope[r.form_id];
  if (r.form_id == kSurvey) add_survey(*state_, r.body, options_);
  if (r.form_id == kInfra) add_infra(*state_, r.body);
  if (r.form_id == kBusiness) add_business(*state_, r.body);
  if (r.form_id == kService) add_service(*state_, r.body);
}

std::vector<IndicatorCell> IndicatorEngine::cells() const {
  CellTable all = state_->cells;
  finish_derived(*state_, all);
  std::vector<IndicatorCell> out;
  for (IndicatorCell& c : all.finish(options_)) {
    if (!c.indicator.ends_with("_input")) out.push_back(std::move(c));  // inputs of gaps stay internal
  }
  for (IndicatorCell& c : gap_cells(all, options_)) out.push_back(std::move(c));
  std::stable_sort(out.begin(), out.end(), [](const IndicatorCell& a, const IndicatorCell& b) {
    return std::tie(a.indicator, a.dimension, a.group) < std::tie(b.indicator, b.dimension, b.group);
  });
  return out;
}

nlohmann::json IndicatorEngine::to_json() const {
  nlohmann::json j = {{"v", 1},
                      {"min_cell", options_.min_cell},
                      {"low_precision_below", options_.low_precision_below},
                      {"nonmajority", options_.nonmajority_kosovo ? "kosovo" : "local"},
                      {"records_in_scope", state_->in_scope},
                      {"held_back", state_->held_back},
                      {"cells", nlohmann::json::array()}};
  for (const IndicatorCell& c : cells()) {
    nlohmann::json o = {{"indicator", c.indicator},   {"dimension", c.dimension},
                        {"group", c.group},           {"measure", std::string(to_string(c.measure))},
                        {"suppressed", c.suppressed}, {"low_precision", c.low_precision}};
    o["value"] = c.value ? nlohmann::json(*c.value) : nlohmann::json();
    if (c.numerator) o["numerator"] = *c.numerator;
    if (c.denominator) o["denominator"] = *c.denominator;
    j["cells"].push_back(std::move(o));
  }
  return j;
}

void IndicatorEngine::write_csv(const Sink& sink) const {
  OutBuffer out(sink);
  std::string row;
  append_csv_header(row, TableSpec{"indicators",
                                   {"indicator", "dimension", "group", "measure", "value", "numerator", "denominator",
                                    "suppressed", "low_precision", "held_back"}});
  out.append(row);
  CsvOptions opt;
  opt.neutralise_formulas = false;  // "-3.5" gaps are numbers written as text cells below
  for (const IndicatorCell& c : cells()) {
    auto num = [](const std::optional<double>& v) { return v ? Cell::number(number_text(*v)) : Cell::null(); };
    auto held = state_->held_back.find(std::string(form_of(c.indicator)));
    const Cell cells[] = {Cell::str(c.indicator),
                          Cell::str(c.dimension),
                          Cell::str(c.group),
                          Cell::str(std::string(to_string(c.measure))),
                          num(c.value),
                          num(c.numerator),
                          num(c.denominator),
                          Cell::boolean(c.suppressed),
                          Cell::boolean(c.low_precision),
                          Cell::number(std::to_string(held == state_->held_back.end() ? 0 : held->second))};
    row.clear();
    append_csv_row(row, cells, opt);
    out.append(row);
  }
  out.flush();
}

}  // namespace akt::exports

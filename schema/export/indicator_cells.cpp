// Indicator cells: accumulation and suppression.
#include "schema/export/indicator_cells.hpp"

#include <algorithm>
#include <cmath>

namespace akt::exports {

void CellTable::add(const std::string& indicator, const std::string& dimension, const std::string& group, Measure m,
                    double numerator, double denominator) {
  Acc& a = cells_[{indicator, dimension, group}];
  a.measure = m;
  a.num += numerator;
  a.den += denominator;
}

void CellTable::max(const std::string& indicator, const std::string& dimension, const std::string& group,
                    double value) {
  Acc& a = cells_[{indicator, dimension, group}];
  a.measure = Measure::kSum;
  a.num = std::max(a.num, value);
  a.den = 1;
}

std::pair<double, double> CellTable::raw(const std::string& indicator, const std::string& dimension,
                                         const std::string& group) const {
  auto it = cells_.find({indicator, dimension, group});
  return it == cells_.end() ? std::pair{0.0, 0.0} : std::pair{it->second.num, it->second.den};
}

std::vector<std::pair<std::string, std::string>> CellTable::keys(const std::string& indicator) const {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto it = cells_.lower_bound({indicator, "", ""}); it != cells_.end() && std::get<0>(it->first) == indicator;
       ++it) {
    out.emplace_back(std::get<1>(it->first), std::get<2>(it->first));
  }
  return out;
}

IndicatorCell finish_cell(std::string indicator, std::string dimension, std::string group, Measure m, double num,
                          double den, const IndicatorOptions& options) {
  IndicatorCell c{std::move(indicator), std::move(dimension), std::move(group), m, {}, {}, {}, false, false};
  const double n = m == Measure::kPercent || m == Measure::kTotal ? den : num;
  const auto min_cell = static_cast<double>(options.min_cell);
  c.suppressed = n < min_cell;
  c.low_precision = m == Measure::kPercent && den < static_cast<double>(options.low_precision_below);
  if (c.suppressed) return c;
  c.numerator = num;
  c.denominator = den;
  if (m == Measure::kPercent) {
    if (den > 0) c.value = std::round(1000.0 * num / den) / 10.0;
  } else {
    c.value = num;
  }
  return c;
}

std::vector<IndicatorCell> CellTable::finish(const IndicatorOptions& options) const {
  std::vector<IndicatorCell> out;
  out.reserve(cells_.size());
  for (const auto& [key, a] : cells_) {
    const auto& [ind, dim, grp] = key;
    out.push_back(finish_cell(ind, dim, grp, a.measure, a.num, a.den, options));
  }
  return out;
}

}  // namespace akt::exports

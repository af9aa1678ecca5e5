// Aggregate cells of the indicator engine: numerator / denominator sums keyed by (indicator,
// dimension, group), and their finalisation with small-cell suppression (LOGFRAME.md §1.6). Pure.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace akt::exports {

struct IndicatorOptions {
  std::int64_t min_cell = 5;              // n below this -> suppressed (value, numerator, denominator withheld)
  std::int64_t low_precision_below = 30;  // denominator below this -> flagged "low precision"
  bool nonmajority_kosovo = false;        // false: local majority (LOGFRAME §1.3); true: community != albanian
  // "YYYY-MM-DD": the reporting date of indicator 2.1 (grants at least 12 months before it form its
  // population). Empty: 2.1 is not computed.
  std::string reporting_date;
};

// How a cell's value is formed.
enum class Measure {
  kPercent,  // value = 100 * numerator / denominator; n = denominator
  kSum,      // value = numerator (a sum of people); n = numerator, denominator = contributing units
  kCount,    // value = numerator (a count of units); n = numerator
  kTotal,    // value = numerator (a total or median over units, may be negative); n = denominator (units)
};

struct IndicatorCell {
  std::string indicator;  // "G.1", "1.2.equal_services", "1.5.unduplicated", ...
  std::string dimension;  // "all", "community", "nonmajority_local", "gender", "age_band", "municipality", ...
  std::string group;      // "all", "serb", "not_stated", ...
  Measure measure = Measure::kPercent;
  std::optional<double> value;                  // absent when suppressed or the denominator is 0
  std::optional<double> numerator, denominator; // absent when suppressed
  bool suppressed = false;
  bool low_precision = false;
  friend bool operator==(const IndicatorCell&, const IndicatorCell&) = default;
};

class CellTable {
 public:
  // Adds to the cell (indicator, dimension, group).
  void add(const std::string& indicator, const std::string& dimension, const std::string& group, Measure m,
           double numerator, double denominator);
  // Keeps the larger numerator (for unduplicated maxima).
  void max(const std::string& indicator, const std::string& dimension, const std::string& group, double value);
  // Every cell, sorted by (indicator, dimension, group), suppression applied.
  std::vector<IndicatorCell> finish(const IndicatorOptions& options) const;
  // The (dimension, group) pairs holding cells of `indicator`, sorted.
  std::vector<std::pair<std::string, std::string>> keys(const std::string& indicator) const;
  // Raw numerator/denominator of a cell (0, 0 if absent); for derived cells such as gaps.
  std::pair<double, double> raw(const std::string& indicator, const std::string& dimension,
                                const std::string& group) const;

 private:
  struct Acc {
    Measure measure = Measure::kPercent;
    double num = 0, den = 0;
  };
  std::map<std::tuple<std::string, std::string, std::string>, Acc> cells_;
};

// Finalises one cell: suppressed when n < min_cell (n as Measure says); percentages rounded to 0.1.
IndicatorCell finish_cell(std::string indicator, std::string dimension, std::string group, Measure m, double num,
                          double den, const IndicatorOptions& options);

}  // namespace akt::exports

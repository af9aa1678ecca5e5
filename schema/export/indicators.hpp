// Logframe indicators (docs/domain/LOGFRAME.md) computed over a stream of records: feed records one
// by one with add(); only aggregates are kept (plus one small state per business for Form C and per
// municipality x service for Form D, which "latest round" rules need). Outputs are disaggregated and
// small-cell suppressed. Pure. Which indicators: docs/EXPORTS.md §6.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "schema/export/export_record.hpp"
#include "schema/export/export_writer.hpp"
#include "schema/export/indicator_cells.hpp"

namespace akt::exports {

class IndicatorEngine {
 public:
  explicit IndicatorEngine(IndicatorOptions options = {});
  ~IndicatorEngine();
  IndicatorEngine(IndicatorEngine&&) noexcept;
  IndicatorEngine& operator=(IndicatorEngine&&) noexcept;

  // Feeds one record at its latest state with its RAW body (never a redacted one: pseudonyms would
  // be counted as categories). Forms other than the four instruments are ignored. In scope:
  // review_status = approved and not deleted; a record flagged `conflict` is held back (counted per
  // form, used by no indicator: the record-level flag is the conservative reading of LOGFRAME §1.1).
  void add(const ExportRecord& record);

  // Every cell, sorted by (indicator, dimension, group), derived cells (gaps, latest-round
  // indicators) included, suppression applied.
  std::vector<IndicatorCell> cells() const;

  // {"v":1,"min_cell":5,"nonmajority":"local"|"kosovo","records_in_scope":{form:n},
  //  "held_back":{form:n},"cells":[{"indicator","dimension","group","measure","value","numerator",
  //  "denominator","suppressed","low_precision"}]}; suppressed cells carry no numbers.
  nlohmann::json to_json() const;

  // CSV (RFC 4180, CRLF): indicator,dimension,group,measure,value,numerator,denominator,suppressed,
  // low_precision,held_back. Suppressed cells leave the three number columns empty.
  void write_csv(const Sink& sink) const;

  struct State;  // internal aggregates (indicators_*.cpp)

 private:
  IndicatorOptions options_;
  std::unique_ptr<State> state_;
};

std::string_view to_string(Measure m);

}  // namespace akt::exports

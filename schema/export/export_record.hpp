// One record as the exporter and the indicator engine consume it: change-feed metadata plus the
// body (a parsed JSON object, unredacted). Built by the caller from a sync::RecordState.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "sync/record.hpp"
#include "sync/status.hpp"

namespace akt::exports {

struct ExportRecord {
  std::string record_id;
  std::string form_id;
  std::int64_t form_version = 0;
  sync::Scope scope;
  std::int64_t seq = 0;             // change-feed position (the export cursor is the largest seq sent)
  std::int64_t server_time_ms = 0;  // when the server committed the latest version
  bool deleted = false;             // tombstone: the body is ignored and no repeat rows are emitted
  bool conflict = false;            // open field conflicts or several live versions
  nlohmann::json body = nlohmann::json::object();
  // The stored body text, when the caller has it (the export's hot path): non-empty = the exporter
  // decodes this text itself (text_flatten.hpp) and `body` is not read.
  std::string body_text;
};

// From a record at its latest state. Uses the last live version (DESIGN §2: after each push the merge
// leaves exactly one; if several are live the record is flagged `conflict`). kCorruption if the body
// text is not a JSON object; kInvalidArgument if there is no live version and the record is not deleted.
Result<ExportRecord> export_record_from(const sync::RecordState& state);

// "2017-06-14T07:31:00.000Z" for milliseconds since the Unix epoch (proleptic Gregorian, UTC).
std::string iso_utc(std::int64_t ms);

}  // namespace akt::exports

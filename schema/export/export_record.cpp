// RecordState -> ExportRecord, and ISO 8601 formatting of server times. Pure.
#include "schema/export/export_record.hpp"

#include <cstdio>

namespace akt::exports {

Result<ExportRecord> export_record_from(const sync::RecordState& state) {
  ExportRecord r;
  r.record_id = state.record_id;
  r.form_id = state.form_id;
  r.form_version = state.form_version;
  r.scope = state.scope;
  r.seq = state.seq;
  r.deleted = state.deleted;
  r.conflict = state.conflict || state.live.size() > 1;
  if (state.live.empty()) {
    if (!state.deleted) return Status::invalid_argument("record " + state.record_id + ": no live version");
    return r;
  }
  const sync::Version& v = state.live.back();
  r.server_time_ms = v.server_time;
  if (state.deleted) return r;
  r.body = nlohmann::json::parse(v.body, nullptr, false);
  if (r.body.is_discarded() || !r.body.is_object()) {
    return Status::corruption("record " + state.record_id + ": body is not a JSON object");
  }
  return r;
}

std::string iso_utc(std::int64_t ms) {
  // Howard Hinnant's civil_from_days; floor division so times before 1970 work too.
  std::int64_t days = ms / 86'400'000;
  std::int64_t rem = ms % 86'400'000;
  if (rem < 0) {
    rem += 86'400'000;
    --days;
  }
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  char buf[128];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ", static_cast<long long>(y),
                static_cast<long long>(m), static_cast<long long>(d), static_cast<long long>(rem / 3'600'000),
                static_cast<long long>(rem / 60'000 % 60), static_cast<long long>(rem / 1000 % 60),
                static_cast<long long>(rem % 1000));
  return buf;
}

}  // namespace akt::exports

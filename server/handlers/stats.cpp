// Field-team status for the web console (docs/PROTOCOL.md §13): what devices report about themselves
// in the X-Akt-Client header, and counts of records per municipality and form.
#include "server/handlers/handlers.hpp"

#include <map>

#include <nlohmann/json.hpp>

#include "schema/store/store_tx.hpp"
#include "server/handlers/json_io.hpp"
#include "server/log.hpp"
#include "server/problem.hpp"

namespace akt::server {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool valid_app(std::string_view v) {
  if (v.empty() || v.size() > kClientAppMax) return false;
  for (char c : v)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
          c == '/' || c == '+' || c == '-'))
      return false;
  return true;
}

// A device's report is rewritten when it changes, and otherwise at most once a minute.
constexpr std::int64_t kReportRefreshMs = 60 * 1000;

}  // namespace

ClientReport parse_client_header(std::string_view header) {
  ClientReport out;
  if (header.size() > kClientHeaderMax) return out;
  while (!header.empty()) {
    std::size_t semi = header.find(';');
    std::string_view item = trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = trim(item.substr(0, eq)), value = trim(item.substr(eq + 1));
    if (key == "app" && valid_app(value)) out.app = std::string(value);
    if (key == "unsynced" && !value.empty() && value.size() <= 9 &&
        value.find_first_not_of("0123456789") == std::string_view::npos)
      out.unsynced = std::stoll(std::string(value));
  }
  return out;
}

void note_client_report(const HttpRequest& req, const Principal& who, AppState& app) {
  if (!who.is_device()) return;
  const std::string_view header = req.header("x-akt-client");
  if (header.empty()) return;
  const ClientReport r = parse_client_header(header);
  if (r.app.empty() && r.unsynced < 0) return;
  const std::int64_t now = app.now_ms();
  bool current = false;
  Status st = app.store->query([&](store::StoreReader& tx) {
    auto old = tx.read_device_report(who.device_actor);
    if (!old.ok()) return old.status();
    current = *old && (r.app.empty() || (*old)->client_app == r.app) &&
              (r.unsynced < 0 || (*old)->unsynced == r.unsynced) && now - (*old)->reported_at < kReportRefreshMs;
    return Status();
  });
  if (st.ok() && !current)
    st = app.store->update([&](store::StoreWriter& tx) {
      return tx.report_device_client(who.device_actor, r.app, r.unsynced, now);
    });
  // A report is telemetry: failing to store it never fails the sync it came with.
  if (!st.ok()) log(LogLevel::kWarn, "device report of " + who.device_actor + " not stored: " + st.message());
}

HttpResponse handle_stats(const Principal& who, AppState& app) {
  // municipality -> form -> records, over the records the caller may see.
  std::map<std::string, std::map<std::string, std::int64_t>> counts;
  std::int64_t total = 0;
  Status st = app.store->query([&](store::StoreReader& tx) {
    auto rows = tx.count_records_by_place();
    if (!rows.ok()) return rows.status();
    for (const auto& p : *rows) {
      if (who.scope && !sync::in_scope(*who.scope, {p.municipality, p.community, p.component}, p.form_id)) continue;
      counts[p.municipality][p.form_id] += p.records;
      total += p.records;
    }
    return Status();
  });
  if (!st.ok()) return problem_from(st, "internal");
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& [mun, forms] : counts)
    for (const auto& [form, n] : forms) rows.push_back({{"municipality", mun}, {"form", form}, {"records", n}});
  return json_response(200, {{"v", 1}, {"generated_at", app.now_ms()}, {"total", total}, {"counts", rows}});
}

}  // namespace akt::server

#include "server/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include <nlohmann/json.hpp>

namespace akt::server {

namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<bool> g_json{false};
std::mutex g_mu;
std::function<void(std::string_view)> g_sink;  // guarded by g_mu
constexpr const char* kNames[] = {"debug", "info", "warn", "error"};

std::string timestamp() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char ts[40];
  const std::size_t n = std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(ts + n, sizeof ts - n, ".%03dZ", static_cast<int>(ms));
  return ts;
}

void emit(const std::string& line) {
  std::lock_guard lock(g_mu);
  std::fprintf(stderr, "%s\n", line.c_str());
  if (g_sink) g_sink(line);
}

// JSON text of `j`; bytes that are not UTF-8 (a path may hold anything) are replaced, never thrown on.
std::string dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

}  // namespace

void set_log_level(std::string_view level) {
  LogLevel l = LogLevel::kInfo;
  if (level == "debug") l = LogLevel::kDebug;
  else if (level == "warn") l = LogLevel::kWarn;
  else if (level == "error") l = LogLevel::kError;
  g_level.store(static_cast<int>(l));
}

void set_log_format(std::string_view format) { g_json.store(format == "json"); }

bool log_enabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(); }

void log(LogLevel level, std::string_view message) {
  if (!log_enabled(level)) return;
  const char* name = kNames[static_cast<int>(level)];
  if (g_json.load()) return emit(dump({{"ts", timestamp()}, {"level", name}, {"msg", message}}));
  emit(timestamp() + " " + name + " " + std::string(message));
}

void log_request(const RequestLogLine& r) {
  if (!log_enabled(LogLevel::kInfo)) return;
  if (g_json.load()) {
    nlohmann::json j{{"ts", timestamp()},          {"level", "info"},       {"msg", "request"},
                     {"request_id", r.request_id}, {"method", r.method},    {"path", r.path},
                     {"route", r.route},           {"status", r.status},    {"bytes_in", r.bytes_in},
                     {"bytes_out", r.bytes_out},   {"principal_kind", r.principal_kind},
                     {"remote", r.remote},         {"ms", r.ms}};
    if (!r.principal.empty()) j[r.principal_kind == "device" ? "device" : "user"] = r.principal;
    if (!r.note.empty()) j["note"] = r.note;
    return emit(dump(j));
  }
  // The text line keeps its historical fields in their order; the newer ones come after the sizes.
  std::string who = r.principal.empty() ? std::string("anonymous")
                                        : (r.principal_kind == "device" ? "device=" : "user=") + r.principal;
  std::string line = timestamp() + " info request " + r.method + " " + r.path + " " + std::to_string(r.status) +
                     " in=" + std::to_string(r.bytes_in) + " out=" + std::to_string(r.bytes_out) + " route=" + r.route +
                     " id=" + r.request_id + " " + who + " from " + r.remote + " " + std::to_string(r.ms) + " ms" +
                     (r.note.empty() ? "" : " (" + r.note + ")");
  emit(line);
}

void set_log_sink(std::function<void(std::string_view line)> sink) {
  std::lock_guard lock(g_mu);
  g_sink = std::move(sink);
}

}  // namespace akt::server

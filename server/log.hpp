// Leveled logging to stderr, one line per event. Text: "2026-11-27T02:40:00.123Z info push ...";
// with set_log_format("json") one JSON object per line ({"ts","level","msg"}, and the request fields of
// log_request), for journald and Loki. Never log a token, password, enrolment code or record body
// (docs/SECURITY.md; a test greps the log of a whole session for them).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace akt::server {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

void set_log_level(std::string_view level);
// "json" or "text" (anything else is text).
void set_log_format(std::string_view format);
bool log_enabled(LogLevel level);
void log(LogLevel level, std::string_view message);

// One answered request (PROTOCOL "Request ids and the request log").
struct RequestLogLine {
  std::string request_id;
  std::string method;
  std::string path;            // without the query
  std::string route;           // the route template, e.g. /v1/records/{id}
  int status = 0;
  std::uint64_t bytes_in = 0;  // request body as received
  std::uint64_t bytes_out = 0; // answer body as sent
  std::string principal_kind;  // "device", "user" or "anonymous"
  std::string principal;       // the device's actor id or the username ("" when anonymous)
  std::string remote;
  std::int64_t ms = 0;
  std::string note;            // e.g. "answer cut: ..." ("" when none)
};
void log_request(const RequestLogLine& line);

// Tests: every finished line also goes to `sink` (nullptr: none). Not for production use.
void set_log_sink(std::function<void(std::string_view line)> sink);

}  // namespace akt::server

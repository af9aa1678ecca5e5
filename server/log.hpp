// Minimal leveled logging to stderr, one line per event: "2026-11-27T02:40:00.123Z info push ...".
#pragma once

#include <string_view>

namespace akt::server {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

void set_log_level(std::string_view level);
bool log_enabled(LogLevel level);
void log(LogLevel level, std::string_view message);

}  // namespace akt::server

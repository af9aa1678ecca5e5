// Small helpers for writing and pre-checking JSON text by hand on hot paths; pure, std only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace akt::sync {

// Appends `s` as a JSON string literal (quotes included). REQUIRES: `s` is valid UTF-8.
void append_json_string(std::string& out, std::string_view s);

// Scans JSON text without building it and returns false when arrays/objects nest deeper than
// `max_depth`. Strings and escapes are skipped correctly; other syntax is left to the real parser.
// Guards the recursive parser against stack exhaustion from hostile input.
bool json_depth_within(std::string_view text, int max_depth);

}  // namespace akt::sync

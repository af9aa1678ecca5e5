// Scans a cut feed page for its whole entries: brace depth outside strings, string escapes skipped.
#include "clients/feed_stream.hpp"

namespace akt::client {
namespace {

// The end (one past the closing brace) of the object starting at `at`, or npos when it is not whole.
std::size_t object_end(std::string_view s, std::size_t at) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = at; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (c == '\\') ++i;  // the escaped character cannot end the string
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') ++depth;
    else if ((c == '}' || c == ']') && --depth == 0) return i + 1;
  }
  return std::string_view::npos;
}

}  // namespace

PagePrefix whole_entries(std::string_view body) {
  PagePrefix out;
  // The server writes `epoch` before `changes` (PROTOCOL §5.1); epochs are hex digits, never escaped.
  constexpr std::string_view kEpoch = "\"epoch\":\"", kChanges = "\"changes\":[";
  const std::size_t changes = body.find(kChanges);
  if (changes == std::string_view::npos) return out;
  if (const std::size_t e = body.substr(0, changes).find(kEpoch); e != std::string_view::npos) {
    const std::size_t from = e + kEpoch.size(), to = body.find('"', from);
    if (to != std::string_view::npos && to < changes) out.epoch = std::string(body.substr(from, to - from));
  }
  std::size_t i = changes + kChanges.size();
  for (;;) {
    while (i < body.size() && (body[i] == ',' || body[i] == ' ' || body[i] == '\n')) ++i;
    if (i >= body.size() || body[i] != '{') return out;
    const std::size_t end = object_end(body, i);
    if (end == std::string_view::npos) return out;
    out.entries.emplace_back(body.substr(i, end - i));
    i = end;
  }
}

}  // namespace akt::client

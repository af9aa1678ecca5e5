// The shallow member scan: strings and brackets only, so a 2 KB body takes a single pass of a few
// microseconds where a DOM parse allocates every value. Strings are skipped by memchr to their next
// quote (a quote after an odd run of backslashes is escaped), so the scan costs little more than a copy.
#include "sync/json_scan.hpp"

#include <cstring>
#include <string>

namespace akt::sync {

namespace {

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// The index just past the string literal starting at `i` (text[i] == '"'), or npos if it never closes.
std::size_t skip_string(std::string_view text, std::size_t i) {
  const char* const base = text.data();
  const char* const end = base + text.size();
  const char* const open = base + i;
  const char* p = open + 1;
  for (;;) {
    const auto* q = static_cast<const char*>(std::memchr(p, '"', static_cast<std::size_t>(end - p)));
    if (!q) return std::string_view::npos;
    std::size_t backslashes = 0;
    for (const char* b = q - 1; b > open && *b == '\\'; --b) ++backslashes;
    if (backslashes % 2 == 0) return static_cast<std::size_t>(q - base) + 1;
    p = q + 1;
  }
}

// The index just past the value starting at `i`, or npos if it is cut or unbalanced.
std::size_t skip_value(std::string_view text, std::size_t i) {
  if (i >= text.size()) return std::string_view::npos;
  if (text[i] == '"') return skip_string(text, i);
  if (text[i] == '{' || text[i] == '[') {
    int depth = 0;
    while (i < text.size()) {
      const char c = text[i];
      if (c == '"') {
        i = skip_string(text, i);
        if (i == std::string_view::npos) return i;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      else if ((c == '}' || c == ']') && --depth == 0) return i + 1;
      ++i;
    }
    return std::string_view::npos;
  }
  const std::size_t start = i;
  while (i < text.size() && text[i] != ',' && text[i] != '}' && text[i] != ']' && !is_space(text[i])) ++i;
  return i > start ? i : std::string_view::npos;
}

// for_each_top_member with the callback inlined.
template <class F>
bool scan_top_members(std::string_view text, F&& fn) {
  std::size_t i = 0;
  auto skip_space = [&] {
    while (i < text.size() && is_space(text[i])) ++i;
  };
  skip_space();
  if (i >= text.size() || text[i] != '{') return false;
  ++i;
  skip_space();
  if (i < text.size() && text[i] == '}') {
    ++i;
  } else {
    for (;;) {
      if (i >= text.size() || text[i] != '"') return false;
      const std::size_t key_end = skip_string(text, i);
      if (key_end == std::string_view::npos) return false;
      const std::string_view key = text.substr(i, key_end - i);
      i = key_end;
      skip_space();
      if (i >= text.size() || text[i] != ':') return false;
      ++i;
      skip_space();
      const std::size_t value_end = skip_value(text, i);
      if (value_end == std::string_view::npos) return false;
      if (!fn(key, text.substr(i, value_end - i))) return false;
      i = value_end;
      skip_space();
      if (i < text.size() && text[i] == ',') {
        ++i;
        skip_space();
        continue;
      }
      if (i < text.size() && text[i] == '}') {
        ++i;
        break;
      }
      return false;
    }
  }
  skip_space();
  return i == text.size();
}

}  // namespace

bool for_each_top_member(std::string_view text,
                         const std::function<bool(std::string_view key, std::string_view value)>& fn) {
  return scan_top_members(text, fn);
}

bool append_top_keys(std::string& out, std::string_view text) {
  const std::size_t start = out.size();
  out.push_back('[');
  const bool whole = scan_top_members(text, [&](std::string_view key, std::string_view) {
    if (out.size() > start + 1) out.push_back(',');
    out.append(key);
    return true;
  });
  if (!whole) {
    out.resize(start);
    return false;
  }
  out.push_back(']');
  return true;
}

}  // namespace akt::sync

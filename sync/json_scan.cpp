// The shallow member scan: strings and brackets only, so a 2 KB body takes a single pass of a few
// microseconds where a DOM parse allocates every value.
#include "sync/json_scan.hpp"

namespace akt::sync {

namespace {

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// The index just past the string literal starting at `i` (text[i] == '"'), or npos if it never closes.
std::size_t skip_string(std::string_view text, std::size_t i) {
  for (++i; i < text.size(); ++i) {
    if (text[i] == '\\') ++i;
    else if (text[i] == '"') return i + 1;
  }
  return std::string_view::npos;
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

}  // namespace

bool for_each_top_member(std::string_view text,
                         const std::function<bool(std::string_view key, std::string_view value)>& fn) {
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

}  // namespace akt::sync

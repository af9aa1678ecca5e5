// Hand-written JSON text helpers; pure.
#include "sync/json_text.hpp"

#include <algorithm>
#include <cstring>

namespace akt::sync {

namespace {

// True when some byte of the 8 in `w` must be escaped: below 0x20, '"' or '\\'. Exact (no false positive
// or negative: each test is the "has a byte below n" bit trick, exact for n <= 0x80).
inline bool word_needs_escape(std::uint64_t w) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
  const std::uint64_t quote = w ^ (kOnes * '"'), backslash = w ^ (kOnes * '\\');
  const std::uint64_t control = (w - kOnes * 0x20) & ~w;
  const std::uint64_t is_quote = (quote - kOnes) & ~quote;
  const std::uint64_t is_backslash = (backslash - kOnes) & ~backslash;
  return ((control | is_quote | is_backslash) & kHigh) != 0;
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  // Runs of bytes that need no escape are found 8 bytes at a time and copied whole with one append:
  // most text in a record has no escape at all.
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  const char* const p = s.data();
  const std::size_t n = s.size();
  std::size_t run = 0;  // start of the bytes not yet appended
  std::size_t i = 0;
  while (i < n) {
    if (n - i >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p + i, 8);
      if (!word_needs_escape(w)) {
        i += 8;
        continue;
      }
    }
    // A word with a byte to escape (or the last few bytes): byte by byte up to the word's end.
    const std::size_t stop = std::min(n, i + 8);
    for (; i < stop; ++i) {
      const auto c = static_cast<unsigned char>(p[i]);
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      out.append(p + run, i - run);
      run = i + 1;
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
      }
    }
  }
  out.append(p + run, n - run);
  out.push_back('"');
}

bool json_depth_within(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

}  // namespace akt::sync

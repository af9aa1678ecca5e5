// The feed cursor's one codec (cursor.hpp).
#include "sync/cursor.hpp"

#include <charconv>

namespace akt::sync {
namespace {

constexpr std::size_t kEpochDigits = 16;

bool parse_count(std::string_view s, std::int64_t& out) {
  if (s.empty() || s.size() > 18) return false;
  for (char ch : s)
    if (ch < '0' || ch > '9') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string encode_cursor(const FeedCursor& c) {
  return c.epoch + "-" + std::to_string(c.seq) + "-" + std::to_string(c.scope_version);
}

std::optional<FeedCursor> parse_cursor(std::string_view text) {
  if (text.size() < kEpochDigits + 4 || text[kEpochDigits] != '-') return std::nullopt;
  const std::string_view epoch = text.substr(0, kEpochDigits);
  for (char ch : epoch)
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) return std::nullopt;
  const std::string_view rest = text.substr(kEpochDigits + 1);
  const std::size_t dash = rest.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  FeedCursor c;
  c.epoch = std::string(epoch);
  if (!parse_count(rest.substr(0, dash), c.seq) || !parse_count(rest.substr(dash + 1), c.scope_version))
    return std::nullopt;
  return c;
}

}  // namespace akt::sync

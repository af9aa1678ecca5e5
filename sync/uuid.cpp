// UUID parsing and formatting; pure.
#include "sync/uuid.hpp"
#include "sync/hex.hpp"

namespace akt::sync {

std::optional<UuidBytes> parse_uuid(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  UuidBytes out{};
  std::size_t byte = 0;
  for (std::size_t i = 0; i < 36;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    int hi = hex_digit_value(text[i]);
    int lo = hex_digit_value(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[byte++] = static_cast<std::uint8_t>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::string format_uuid(const UuidBytes& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0xF]);
  }
  return out;
}

UuidBytes make_uuid_v7(std::uint64_t unix_ms, const std::array<std::uint8_t, 10>& random) {
  UuidBytes b{};
  for (int i = 0; i < 6; ++i) b[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(unix_ms >> (8 * (5 - i)));
  for (std::size_t i = 0; i < 10; ++i) b[6 + i] = random[i];
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0F) | 0x70);
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3F) | 0x80);
  return b;
}

UuidBytes make_uuid_v4(std::array<std::uint8_t, 16> b) {
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3F) | 0x80);
  return b;
}

}  // namespace akt::sync

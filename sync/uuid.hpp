// UUID text <-> 16-byte form, and UUIDv7 construction from caller-supplied time and randomness.
// Pure: no clock, no RNG of its own.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace akt::sync {

using UuidBytes = std::array<std::uint8_t, 16>;

// Parses the canonical 36-character lowercase/uppercase hex form "8-4-4-4-12". Any other form -> nullopt.
std::optional<UuidBytes> parse_uuid(std::string_view text);
// Canonical lowercase 36-character form.
std::string format_uuid(const UuidBytes& bytes);
// True when `text` is a canonical UUID (any version).
inline bool is_uuid(std::string_view text) { return parse_uuid(text).has_value(); }
// Builds a UUIDv7 (RFC 9562) from unix milliseconds and 10 random bytes.
UuidBytes make_uuid_v7(std::uint64_t unix_ms, const std::array<std::uint8_t, 10>& random);
// Builds a UUIDv4 from 16 random bytes (version and variant bits are set here).
UuidBytes make_uuid_v4(std::array<std::uint8_t, 16> random);

}  // namespace akt::sync

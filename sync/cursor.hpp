// The feed cursor (PROTOCOL §5.1): "<epoch>-<seq>-<scope version>", handed out as the feed's `next` and
// an export's X-Akt-Cursor, and taken back as `since`. Opaque to clients; built and read only here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace akt::sync {

struct FeedCursor {
  std::string epoch;              // the server's epoch: 16 lowercase hex digits
  std::int64_t seq = 0;           // the last feed position the holder has seen
  std::int64_t scope_version = 0; // the holder's scope version when it was handed out (0 from exports)
};

std::string encode_cursor(const FeedCursor& c);

// The cursor `text` holds, or nullopt unless it is exactly: 16 lowercase hex digits, '-', a seq of 1 to
// 18 decimal digits, '-', a scope version of 1 to 18 decimal digits (no sign, no spaces, nothing after).
// The caller compares the epoch with its own (a cursor of another epoch is well formed).
std::optional<FeedCursor> parse_cursor(std::string_view text);

}  // namespace akt::sync

// The bound on dot counters and clock entries (PROTOCOL §4.1).
#pragma once

#include <cstdint>

namespace akt::sync {

// The highest dot counter (and clock entry) the server accepts: 2^53, the largest integer every JSON
// reader (JavaScript included) holds exactly. A device that saves 1000 times a second needs 285,000
// years to reach it; everything above is refused, so counters always leave headroom and the server's
// own counter (one above the highest it has used) never overflows.
inline constexpr std::int64_t kMaxCounter = std::int64_t{1} << 53;

}  // namespace akt::sync

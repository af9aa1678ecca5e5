// zstd (RFC 8878) for request and response bodies: on survey bodies it takes about 0.7x the bytes of
// gzip at a lower CPU cost, and field links are slow and metered. A pure byte transform over libzstd,
// beside gzip in akt_gzip so that akt_sync itself stays std + nlohmann.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "sync/status.hpp"

namespace akt::sync {

// The largest window a decoder accepts (2^23 = 8 MiB): a frame may ask its decoder for a window as
// large as 2 GiB, which it would allocate before decoding a byte. Our encoders never ask for more than
// 2^22 at the levels they use.
inline constexpr int kZstdWindowLogMax = 23;

// Decodes one zstd frame, streaming: kTooLarge as soon as the result would exceed `max_out` bytes
// (decompression bombs stop there), kInvalidArgument when the data is not one valid zstd frame (a
// corrupt or truncated frame, a window over 2^kZstdWindowLogMax, or bytes after the frame, which
// other decoders would read as a second frame).
Result<std::string> unzstd(std::string_view in, std::size_t max_out);
// Decodes as much of a zstd frame's beginning as there is (an answer cut in transit): the bytes it
// decodes to, stopping at the end of the input, at the first invalid byte, or at `max_out`. zstd hands
// out a block only once it arrived whole, so what this recovers ends at the last block boundary that
// arrived (see zstd(): the server ends a block every `flush_every` bytes of input).
std::string unzstd_prefix(std::string_view in, std::size_t max_out);
// Encodes `in` as one zstd frame (with its content size and a checksum) at `level` (1 fast .. 19
// small). With `flush_every` > 0 a block ends after each `flush_every` bytes of input, so that a
// receiver of a cut stream decodes everything up to the last such point (unzstd_prefix).
// Empty only when libzstd fails (out of memory); callers then send gzip.
std::string zstd(std::string_view in, int level, std::size_t flush_every = 0);

}  // namespace akt::sync

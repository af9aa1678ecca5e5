// gzip for request and response bodies (field links are slow and metered). A pure byte transform
// over zlib, in its own target (akt_gzip) so that akt_sync itself stays std + nlohmann.
#pragma once

#include <string>
#include <string_view>

#include "sync/status.hpp"

namespace akt::sync {

// Inflates a gzip stream. kTooLarge when the result would exceed `max_out` bytes (zip bombs stop
// there), kInvalidArgument when the data is not valid gzip.
Result<std::string> gunzip(std::string_view in, std::size_t max_out);
// Inflates as much of a gzip stream's beginning as there is (an answer cut in transit): the bytes it
// decodes to, stopping at the end of the input, at the first invalid byte, or at `max_out`.
std::string gunzip_prefix(std::string_view in, std::size_t max_out);
// Deflates into a gzip stream at the given level (1 fast .. 9 small).
std::string gzip(std::string_view in, int level = 6);

}  // namespace akt::sync

// Which content coding an answer is sent in (PROTOCOL §1, "Compression"): a choice made from the
// request's Accept-Encoding alone. Pure text parsing, in akt_gzip beside the codings themselves.
#pragma once

#include <string_view>

namespace akt::sync {

enum class Coding { kIdentity, kGzip, kZstd };

// One reading of Accept-Encoding for every answer (RFC 9110 §12.5.3): a coding named in the list takes its
// own q-value; one not named takes `*`'s; q=0 (or not named, without `*`) refuses it.
//
// The coding of an answer to a request with this Accept-Encoding value: zstd when it is named with a
// q-value above 0 and above gzip's, else gzip when accepts_gzip(), else identity. zstd is sent only when
// named: `*` keeps meaning gzip, so a client written before zstd is never sent it.
Coding answer_coding(std::string_view accept_encoding);
// "identity", "gzip" or "zstd" (the Content-Encoding token).
std::string_view coding_name(Coding c);
// The q-value (0..1) a comma-separated Accept-Encoding value gives to the coding `name` (case-insensitive),
// or -1 when it does not name it. A missing or malformed q counts as 1.
double coding_q(std::string_view accept_encoding, std::string_view name);
// True when the value accepts gzip: named with q > 0, or not named and `*` has q > 0. So `gzip;q=0, *`
// refuses gzip (the named coding's own q wins over `*`).
bool accepts_gzip(std::string_view accept_encoding);

}  // namespace akt::sync

// Maps a request to its handler. A plain synchronous function, run on a worker thread, never on an
// I/O thread (it may block on SQLite). No Beast here.
#pragma once

#include "server/app_state.hpp"
#include "server/http_types.hpp"

#include <cstddef>

namespace akt::server {

// Content codings of answers (PROTOCOL §1, "Compression"). Levels chosen by measurement (issue #18,
// tests/bench/coding_bench.cpp): on feed pages zstd -6 with a block end every 32 KiB of JSON takes
// 0.77x the bytes of gzip -5 (0.75x without the block ends, 0.94x for zstd -3) for about the same
// encoding CPU, and decodes several times faster; push answers take under 0.5x. The block ends let a
// client keep what arrived of a cut page (sync::unzstd_prefix), as gzip's sync points do.
inline constexpr int kGzipAnswerLevel = 5;
inline constexpr int kZstdAnswerLevel = 6;
inline constexpr std::size_t kZstdAnswerFlushEvery = 32 * 1024;
// The request codings accepted where compressed request bodies are (RFC 7694: Accept-Encoding on an
// answer), sent on every answer so that a client learns it may upload zstd; an older server does not
// send it, and is never sent zstd.
inline constexpr const char* kRequestCodings = "zstd, gzip";

HttpResponse route(const HttpRequest& request, AppState& app);

}  // namespace akt::server

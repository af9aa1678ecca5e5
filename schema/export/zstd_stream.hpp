// Streaming zstd (RFC 8878) for chunked HTTP answers, as GzipStream for gzip: each piece is compressed
// and flushed (ZSTD_e_flush ends a block), so every chunk sent decodes on arrival, and memory stays at
// the compressor's state whatever the body size.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "sync/status.hpp"

namespace akt::exports {

class ZstdStream {
 public:
  explicit ZstdStream(int level = 6);  // levels above 19 need windows our decoders refuse
  ~ZstdStream();
  ZstdStream(const ZstdStream&) = delete;
  ZstdStream& operator=(const ZstdStream&) = delete;

  // Appends the compressed form of `in` to `out`; with `last`, also ends the frame (with its checksum).
  // Without `last` the output is flushed (decodable so far). Non-OK (kIOError) only if libzstd fails;
  // later calls then fail too.
  Status write(std::string_view in, bool last, std::string& out);

 private:
  struct Z;
  std::unique_ptr<Z> z_;
  Status status_;
};

}  // namespace akt::exports

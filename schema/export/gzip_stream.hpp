// Streaming gzip (RFC 1952) for chunked HTTP answers: each piece is deflated and sync-flushed, so
// every chunk sent decompresses on arrival and memory stays at zlib's state whatever the body size.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "sync/status.hpp"

namespace akt::exports {

class GzipStream {
 public:
  explicit GzipStream(int level = 5);
  ~GzipStream();
  GzipStream(const GzipStream&) = delete;
  GzipStream& operator=(const GzipStream&) = delete;

  // Appends the compressed form of `in` to `out`; with `last`, also ends the gzip member (trailer with
  // CRC-32 and size). Without `last` the output is sync-flushed (byte-aligned, decodable so far).
  // Non-OK (kInternal) only if zlib fails; later calls then fail too.
  Status write(std::string_view in, bool last, std::string& out);

 private:
  struct Z;
  std::unique_ptr<Z> z_;
  Status status_;
};

}  // namespace akt::exports

// Streaming gzip over zlib.
#include "schema/export/gzip_stream.hpp"

#include <zlib.h>

namespace akt::exports {

struct GzipStream::Z {
  z_stream s{};
  bool ok = false;
  ~Z() {
    if (ok) deflateEnd(&s);
  }
};

GzipStream::GzipStream(int level) : z_(std::make_unique<Z>()) {
  // windowBits 15 + 16: a gzip header and trailer instead of zlib's; memLevel 8 (~256 KiB state).
  z_->ok = deflateInit2(&z_->s, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
  if (!z_->ok) status_ = Status::io_error("gzip: deflateInit2 failed");
}

GzipStream::~GzipStream() = default;

Status GzipStream::write(std::string_view in, bool last, std::string& out) {
  if (!status_.ok()) return status_;
  z_stream& s = z_->s;
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  s.avail_in = static_cast<uInt>(in.size());
  const int flush = last ? Z_FINISH : Z_SYNC_FLUSH;
  char buf[16384];
  for (;;) {
    s.next_out = reinterpret_cast<Bytef*>(buf);
    s.avail_out = sizeof buf;
    const int rc = deflate(&s, flush);
    if (rc == Z_STREAM_ERROR) return status_ = Status::io_error("gzip: deflate failed");
    out.append(buf, sizeof buf - s.avail_out);
    // Done once deflate had room to spare (everything flushed), or, when ending, at the trailer.
    if (last ? rc == Z_STREAM_END : s.avail_out != 0) break;
  }
  return status_;
}

}  // namespace akt::exports

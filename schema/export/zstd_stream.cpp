// Streaming zstd over libzstd.
#include "schema/export/zstd_stream.hpp"

#include <zstd.h>

namespace akt::exports {

struct ZstdStream::Z {
  ZSTD_CCtx* c = nullptr;
  ~Z() { ZSTD_freeCCtx(c); }
};

ZstdStream::ZstdStream(int level) : z_(std::make_unique<Z>()) {
  z_->c = ZSTD_createCCtx();
  if (!z_->c) {
    status_ = Status::io_error("zstd: ZSTD_createCCtx failed");
    return;
  }
  ZSTD_CCtx_setParameter(z_->c, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(z_->c, ZSTD_c_checksumFlag, 1);
  // The size is unknown, so the window follows the level: 2^21 at level 6, at most 2^23 up to level 19,
  // within what our decoders accept (sync::kZstdWindowLogMax).
}

ZstdStream::~ZstdStream() = default;

Status ZstdStream::write(std::string_view in, bool last, std::string& out) {
  if (!status_.ok()) return status_;
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  char buf[16384];
  for (;;) {
    ZSTD_outBuffer ob{buf, sizeof buf, 0};
    const std::size_t rc = ZSTD_compressStream2(z_->c, &ob, &ib, last ? ZSTD_e_end : ZSTD_e_flush);
    if (ZSTD_isError(rc)) return status_ = Status::io_error(std::string("zstd: ") + ZSTD_getErrorName(rc));
    out.append(buf, ob.pos);
    if (rc == 0 && ib.pos == ib.size) break;  // everything consumed and flushed (or the frame ended)
  }
  return status_;
}

}  // namespace akt::exports

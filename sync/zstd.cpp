#include "sync/zstd.hpp"

#include <zstd.h>

#include <algorithm>
#include <memory>

namespace akt::sync {
namespace {

struct FreeDCtx {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};
struct FreeCCtx {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};

using DCtx = std::unique_ptr<ZSTD_DCtx, FreeDCtx>;
using CCtx = std::unique_ptr<ZSTD_CCtx, FreeCCtx>;

// A context per call, freed at its end: a worker thread keeps no coder memory between requests (a
// decoder's window may reach 2^kZstdWindowLogMax bytes; an encoder's tables a few MiB at level 6).
DCtx make_dctx() {
  DCtx d(ZSTD_createDCtx());
  if (d) ZSTD_DCtx_setParameter(d.get(), ZSTD_d_windowLogMax, kZstdWindowLogMax);
  return d;
}

}  // namespace

Result<std::string> unzstd(std::string_view in, std::size_t max_out) {
  const DCtx dctx = make_dctx();
  ZSTD_DCtx* d = dctx.get();
  if (!d) return Status::io_error("ZSTD_createDCtx failed");
  std::string out;
  char buf[64 * 1024];
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  std::size_t rc = 1;
  for (;;) {
    ZSTD_outBuffer ob{buf, sizeof buf, 0};
    rc = ZSTD_decompressStream(d, &ob, &ib);
    if (ZSTD_isError(rc))
      return Status::invalid_argument(std::string("body is not valid zstd: ") + ZSTD_getErrorName(rc));
    out.append(buf, ob.pos);
    if (out.size() > max_out)
      return Status::too_large("decompressed body larger than " + std::to_string(max_out) + " bytes");
    if (rc == 0) break;                                  // the frame ended, its output all flushed
    if (ib.pos == ib.size && ob.pos < ob.size) break;    // the input ended first
  }
  if (rc != 0) return Status::invalid_argument("body is truncated zstd");
  // A second frame (or a skippable one, or garbage) would be read differently by other decoders:
  // refused rather than ignored.
  if (ib.pos != ib.size) return Status::invalid_argument("body has bytes after the end of its zstd frame");
  return out;
}

std::string unzstd_prefix(std::string_view in, std::size_t max_out) {
  std::string out;
  const DCtx dctx = make_dctx();
  ZSTD_DCtx* d = dctx.get();
  if (!d) return out;
  char buf[64 * 1024];
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  for (;;) {
    ZSTD_outBuffer ob{buf, sizeof buf, 0};
    const std::size_t rc = ZSTD_decompressStream(d, &ob, &ib);
    if (ZSTD_isError(rc)) break;
    out.append(buf, ob.pos);
    if (rc == 0 || out.size() >= max_out || (ib.pos == ib.size && ob.pos < ob.size)) break;
  }
  if (out.size() > max_out) out.resize(max_out);
  return out;
}

std::string zstd(std::string_view in, int level, std::size_t flush_every) {
  const CCtx cctx(ZSTD_createCCtx());
  ZSTD_CCtx* c = cctx.get();
  std::string out;
  if (!c) return out;
  ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
  // Known size: the window shrinks to fit it (the decoder allocates less) and the frame says it.
  ZSTD_CCtx_setPledgedSrcSize(c, in.size());
  out.resize(ZSTD_compressBound(in.size()) + 64);
  ZSTD_outBuffer ob{out.data(), out.size(), 0};
  std::size_t at = 0;
  for (;;) {
    const std::size_t piece = flush_every == 0 ? in.size() - at : std::min(flush_every, in.size() - at);
    const bool last = at + piece == in.size();
    ZSTD_inBuffer ib{in.data() + at, piece, 0};
    std::size_t rc = 0;
    do {
      if (ob.pos == ob.size) {  // a flush may need more than the bound per piece: grow
        out.resize(out.size() * 2);
        ob.dst = out.data();
        ob.size = out.size();
      }
      rc = ZSTD_compressStream2(c, &ob, &ib, last ? ZSTD_e_end : ZSTD_e_flush);
      if (ZSTD_isError(rc)) return {};
    } while (rc != 0 || ib.pos != ib.size);
    at += piece;
    if (last) break;
  }
  out.resize(ob.pos);
  return out;
}

}  // namespace akt::sync

#include "schema/store/stored_answer.hpp"

#include <sqlite3.h>
#include <zstd.h>

#include <mutex>

namespace akt::store {
namespace {

constexpr int kLevel = 1;
// Far above any answer (a push body is at most a few MiB and its answer smaller): a frame claiming more is
// corrupt, and is refused before anything is allocated.
constexpr unsigned long long kMaxAnswer = 1ull << 30;

// Note 2: one context for the process, reused (its tables are allocated once); the mutex is uncontended,
// as only the group-commit leader stores answers.
struct Compressor {
  std::mutex mu;
  ZSTD_CCtx* cctx = nullptr;
  Compressor() {
    cctx = ZSTD_createCCtx();
    if (cctx) {
      ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, kLevel);
      ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
      ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1);
    }
  }
  ~Compressor() { ZSTD_freeCCtx(cctx); }
};

Compressor& compressor() {
  static Compressor c;
  return c;
}

}  // namespace

StoredAnswer store_form_of(std::string_view answer) {
  StoredAnswer out;
  Compressor& c = compressor();
  std::lock_guard lock(c.mu);
  if (!c.cctx) return out;  // out of memory at start: the answer is stored as text, still readable
  out.bytes.resize(ZSTD_compressBound(answer.size()));
  const std::size_t n = ZSTD_compress2(c.cctx, out.bytes.data(), out.bytes.size(), answer.data(), answer.size());
  if (ZSTD_isError(n) || n >= answer.size()) {
    out.bytes.clear();
    return out;
  }
  out.bytes.resize(n);
  out.compressed = true;
  return out;
}

void bind_answer(Stmt& s, int index, std::string_view answer) {
  StoredAnswer f = store_form_of(answer);
  if (f.compressed)
    s.bind_blob(index, f.bytes.data(), f.bytes.size());
  else
    s.bind(index, answer);
}

Result<std::string> stored_answer_of(const Stmt& s, int col) {
  if (sqlite3_column_type(s.raw(), col) != SQLITE_BLOB) return std::string(s.text(col));
  const std::string_view frame = s.blob(col);
  const unsigned long long size = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > kMaxAnswer)
    return Status::corruption("a stored push answer is neither text nor a zstd frame of known size");
  std::string out(static_cast<std::size_t>(size), '\0');
  // Checks the frame's checksum; a second frame or trailing bytes make it fail or differ in size.
  const std::size_t n = ZSTD_decompress(out.data(), out.size(), frame.data(), frame.size());
  if (ZSTD_isError(n) || n != out.size())
    return Status::corruption(std::string("a stored push answer does not decompress: ") +
                              (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "wrong size"));
  return out;
}

}  // namespace akt::store

#include "sync/gzip.hpp"

#include <zlib.h>

#include <cctype>

namespace akt::sync {

Result<std::string> gunzip(std::string_view in, std::size_t max_out) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return Status::io_error("inflateInit2 failed");
  std::string out;
  char buf[64 * 1024];
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  do {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return Status::invalid_argument("request body is not valid gzip");
    }
    out.append(buf, sizeof buf - zs.avail_out);
    if (out.size() > max_out) {
      inflateEnd(&zs);
      return Status::too_large("decompressed body larger than " + std::to_string(max_out) + " bytes");
    }
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) break;  // truncated input
  } while (rc != Z_STREAM_END);
  const bool trailing = zs.avail_in != 0;
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) return Status::invalid_argument("request body is truncated gzip");
  // Bytes after the gzip member (a second member, or garbage) would be read differently by other
  // decoders: refused rather than ignored.
  if (trailing) return Status::invalid_argument("request body has bytes after the end of its gzip stream");
  return out;
}

std::string gunzip_prefix(std::string_view in, std::size_t max_out) {
  z_stream zs{};
  std::string out;
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return out;
  char buf[64 * 1024];
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  for (;;) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    // Z_SYNC_FLUSH hands out everything decodable so far, even when the stream stops mid-block.
    const int rc = inflate(&zs, Z_SYNC_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
    if (rc != Z_OK || out.size() >= max_out || (zs.avail_in == 0 && zs.avail_out != 0)) break;
  }
  inflateEnd(&zs);
  if (out.size() > max_out) out.resize(max_out);
  return out;
}

std::string gzip(std::string_view in, int level) {
  z_stream zs{};
  deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(in.size())));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace akt::sync

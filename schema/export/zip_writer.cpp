// Streaming ZIP writer over zlib. Layout per entry: local header (sizes 0, flag bit 3), deflated
// data, data descriptor (signature, CRC-32, sizes); then the central directory and its end record.
#include "schema/export/zip_writer.hpp"

#include <array>
#include <limits>

#include <zlib.h>

namespace akt::exports {
namespace {

constexpr std::uint16_t kFlags = 0x0008 | 0x0800;  // sizes in data descriptor; UTF-8 names
constexpr std::uint16_t kDeflate = 8;
constexpr std::uint16_t kVersion = 20;
constexpr std::uint16_t kDosTime = 0;
constexpr std::uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01
constexpr std::uint64_t kMax32 = std::numeric_limits<std::uint32_t>::max();

void put16(std::string& s, std::uint16_t v) {
  s.push_back(static_cast<char>(v & 0xff));
  s.push_back(static_cast<char>(v >> 8));
}
void put32(std::string& s, std::uint64_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

struct ZipWriter::Deflater {
  z_stream zs{};
  bool ready = false;
  std::array<unsigned char, 32 * 1024> out{};
};

ZipWriter::ZipWriter(Sink sink, int level) : sink_(std::move(sink)), level_(level), z_(std::make_unique<Deflater>()) {}

ZipWriter::~ZipWriter() {
  if (z_->ready) deflateEnd(&z_->zs);
}

void ZipWriter::emit(std::string_view bytes) {
  if (bytes.size() > high_water_) high_water_ = bytes.size();
  if (sink_) sink_(bytes);
  offset_ += bytes.size();
}

Status ZipWriter::begin_entry(std::string name) {
  if (!status_.ok()) return status_;
  if (open_ || finished_) return status_ = Status::invalid_argument("zip: begin_entry while an entry is open");
  if (offset_ > kMax32) return status_ = Status::too_large("zip: archive exceeds 4 GiB");
  if (!z_->ready) {
    // windowBits -15: raw deflate, as ZIP stores it.
    if (deflateInit2(&z_->zs, level_, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      return status_ = Status::io_error("zip: deflateInit2 failed");
    }
    z_->ready = true;
  } else {
    deflateReset(&z_->zs);
  }
  Entry e;
  e.name = std::move(name);
  e.offset = offset_;
  e.crc = static_cast<std::uint32_t>(crc32(0L, Z_NULL, 0));
  std::string h;
  put32(h, 0x04034b50);
  put16(h, kVersion);
  put16(h, kFlags);
  put16(h, kDeflate);
  put16(h, kDosTime);
  put16(h, kDosDate);
  put32(h, 0);  // CRC, compressed and uncompressed size follow in the data descriptor
  put32(h, 0);
  put32(h, 0);
  put16(h, static_cast<std::uint16_t>(e.name.size()));
  put16(h, 0);
  h += e.name;
  emit(h);
  entries_.push_back(std::move(e));
  open_ = true;
  return status_;
}

Status ZipWriter::deflate_chunk(std::string_view data, bool finish) {
  z_stream& zs = z_->zs;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  Entry& e = entries_.back();
  for (;;) {
    zs.next_out = z_->out.data();
    zs.avail_out = static_cast<uInt>(z_->out.size());
    const int rc = deflate(&zs, finish ? Z_FINISH : Z_NO_FLUSH);
    if (rc == Z_STREAM_ERROR) return status_ = Status::io_error("zip: deflate failed");
    const std::size_t n = z_->out.size() - zs.avail_out;
    if (n > 0) {
      emit(std::string_view(reinterpret_cast<const char*>(z_->out.data()), n));
      e.compressed += n;
    }
    if (finish ? rc == Z_STREAM_END : (zs.avail_in == 0 && zs.avail_out != 0)) break;
  }
  return status_;
}

Status ZipWriter::write(std::string_view data) {
  if (!status_.ok()) return status_;
  if (!open_) return status_ = Status::invalid_argument("zip: write without an open entry");
  Entry& e = entries_.back();
  e.size += data.size();
  if (e.size > kMax32) return status_ = Status::too_large("zip: entry exceeds 4 GiB");
  // zlib counts in uInt; feed at most 1 MiB at a time.
  while (!data.empty()) {
    std::string_view part = data.substr(0, 1 << 20);
    e.crc = static_cast<std::uint32_t>(
        crc32(e.crc, reinterpret_cast<const Bytef*>(part.data()), static_cast<uInt>(part.size())));
    if (Status s = deflate_chunk(part, false); !s.ok()) return s;
    data.remove_prefix(part.size());
  }
  return status_;
}

Status ZipWriter::end_entry() {
  if (!status_.ok()) return status_;
  if (!open_) return status_ = Status::invalid_argument("zip: end_entry without an open entry");
  if (Status s = deflate_chunk({}, true); !s.ok()) return s;
  const Entry& e = entries_.back();
  if (e.compressed > kMax32) return status_ = Status::too_large("zip: entry exceeds 4 GiB");
  std::string d;
  put32(d, 0x08074b50);
  put32(d, e.crc);
  put32(d, e.compressed);
  put32(d, e.size);
  emit(d);
  open_ = false;
  return status_;
}

Status ZipWriter::finish() {
  if (!status_.ok()) return status_;
  if (finished_) return status_;
  if (open_) {
    if (Status s = end_entry(); !s.ok()) return s;
  }
  const std::uint64_t cd_start = offset_;
  for (const Entry& e : entries_) {
    std::string c;
    put32(c, 0x02014b50);
    put16(c, kVersion);
    put16(c, kVersion);
    put16(c, kFlags);
    put16(c, kDeflate);
    put16(c, kDosTime);
    put16(c, kDosDate);
    put32(c, e.crc);
    put32(c, e.compressed);
    put32(c, e.size);
    put16(c, static_cast<std::uint16_t>(e.name.size()));
    put16(c, 0);  // extra
    put16(c, 0);  // comment
    put16(c, 0);  // disk
    put16(c, 0);  // internal attributes
    put32(c, 0);  // external attributes
    put32(c, e.offset);
    c += e.name;
    emit(c);
  }
  const std::uint64_t cd_size = offset_ - cd_start;
  if (offset_ > kMax32 || entries_.size() > 0xffff) return status_ = Status::too_large("zip: archive exceeds 4 GiB");
  std::string end;
  put32(end, 0x06054b50);
  put16(end, 0);
  put16(end, 0);
  put16(end, static_cast<std::uint16_t>(entries_.size()));
  put16(end, static_cast<std::uint16_t>(entries_.size()));
  put32(end, cd_size);
  put32(end, cd_start);
  put16(end, 0);
  emit(end);
  finished_ = true;
  return status_;
}

}  // namespace akt::exports

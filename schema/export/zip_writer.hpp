// A streaming ZIP writer (PKWARE APPNOTE 6.3): deflated entries (zlib, raw deflate), sizes and CRC in
// data descriptors after each entry (general purpose flag bit 3), so nothing is known or held up
// front. Serves the XLSX writer and the multi-table CSV writer. No ZIP64: an archive or entry over
// 4 GiB - 1 fails with kTooLarge. Timestamps are fixed at 1980-01-01 00:00 so output is reproducible.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "schema/export/export_writer.hpp"
#include "sync/status.hpp"

namespace akt::exports {

class ZipWriter {
 public:
  // `level`: zlib level 0 (stored in deflate blocks) .. 9. The sink must outlive the writer.
  explicit ZipWriter(Sink sink, int level = 6);
  ~ZipWriter();
  ZipWriter(const ZipWriter&) = delete;
  ZipWriter& operator=(const ZipWriter&) = delete;

  // Starts an entry named `name` (UTF-8, '/'-separated). REQUIRES: no entry open, finish() not called.
  Status begin_entry(std::string name);
  // Compresses `data` into the open entry. REQUIRES: an entry is open.
  Status write(std::string_view data);
  // Ends the open entry: flushes the deflate stream and writes its data descriptor.
  Status end_entry();
  // Ends any open entry and writes the central directory. The archive is complete after OK.
  Status finish();

  std::uint64_t bytes_written() const { return offset_; }
  // Largest number of compressed bytes held before handing them to the sink.
  std::size_t high_water() const { return high_water_; }

 private:
  struct Entry {
    std::string name;
    std::uint32_t crc = 0;
    std::uint64_t compressed = 0, size = 0, offset = 0;
  };
  struct Deflater;
  Status deflate_chunk(std::string_view data, bool finish);
  void emit(std::string_view bytes);

  Sink sink_;
  int level_;
  std::unique_ptr<Deflater> z_;
  std::vector<Entry> entries_;
  bool open_ = false;
  bool finished_ = false;
  Status status_;
  std::uint64_t offset_ = 0;
  std::size_t high_water_ = 0;
};

}  // namespace akt::exports

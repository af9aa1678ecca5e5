// CSV output (RFC 4180: comma, CRLF, double-quote quoting; UTF-8). CsvWriter writes one table as one
// CSV stream; CsvZipWriter writes every table as its own CSV file inside a streamed ZIP archive.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "schema/export/export_writer.hpp"
#include "schema/export/out_buffer.hpp"
#include "schema/export/zip_writer.hpp"

namespace akt::exports {

struct CsvOptions {
  bool bom = false;  // UTF-8 byte order mark first, so Excel reads the file as UTF-8
  // Asked-but-empty ("" or []) is written as this marker; when the marker is empty, as a quoted
  // empty field `""` (not asked is always an unquoted empty field), the PostgreSQL COPY convention.
  std::string empty_marker;
  // Text cells starting with = + - @ TAB or CR get a leading apostrophe so spreadsheet programs do
  // not run them as formulas (CSV injection). Numbers are never touched.
  bool neutralise_formulas = true;
  std::size_t buffer_bytes = 64 * 1024;
};

// Appends one CSV row (CRLF-terminated) to `out`.
void append_csv_row(std::string& out, std::span<const Cell> values, const CsvOptions& options);
// Appends the header row: column names, quoted as needed.
void append_csv_header(std::string& out, const TableSpec& table);

// Writes table `table` of the export as one CSV stream; rows of other tables are ignored.
// Memory: one row plus `buffer_bytes`. The sink must outlive the writer.
class CsvWriter : public ExportWriter {
 public:
  CsvWriter(Sink sink, CsvOptions options = {}, std::size_t table = 0);
  Status begin(const std::vector<TableSpec>& tables) override;
  Status add_row(std::size_t table, std::span<const Cell> values) override;
  Status finish() override;
  bool sequential_tables() const override { return false; }
  bool wants_table(std::size_t table) const override { return table == table_; }
  // Bytes held at most, for tests of bounded memory.
  std::size_t high_water() const { return out_.high_water(); }

 private:
  CsvOptions options_;
  std::size_t table_;
  OutBuffer out_;
  std::string row_;
  std::size_t columns_ = 0;
  Status status_;
};

// Writes every table as "<prefix><table>.csv" (BOM per file if asked) in a ZIP archive.
class CsvZipWriter : public ExportWriter {
 public:
  CsvZipWriter(Sink sink, std::string prefix, CsvOptions options = {});
  Status begin(const std::vector<TableSpec>& tables) override;
  Status add_row(std::size_t table, std::span<const Cell> values) override;
  Status finish() override;
  bool sequential_tables() const override { return true; }

 private:
  Status open_until(std::size_t table);  // opens entries up to `table`, writing their headers
  Status flush_row();

  ZipWriter zip_;
  std::string prefix_;
  CsvOptions options_;
  std::vector<TableSpec> tables_;
  std::size_t next_ = 0;  // next table to open
  std::string buf_;
  Status status_;
};

}  // namespace akt::exports

// XLSX (Office Open XML spreadsheet) output, streamed: one worksheet per table (main table, then each
// repeat group), header row of column names, inline strings (no shared-strings part, so nothing is
// held per distinct string), numbers as numbers. Not asked -> no cell; asked-empty -> a text cell
// holding `empty_marker` (empty by default). Text longer than Excel's 32,767 characters is cut there.
#pragma once

#include <string>

#include "schema/export/export_writer.hpp"
#include "schema/export/zip_writer.hpp"

namespace akt::exports {

struct XlsxOptions {
  std::string empty_marker;
  int compression_level = 6;
  std::size_t buffer_bytes = 64 * 1024;
};

// The sink must outlive the writer. Memory: one row plus `buffer_bytes` plus zlib's state (~256 KiB).
class XlsxWriter : public ExportWriter {
 public:
  explicit XlsxWriter(Sink sink, XlsxOptions options = {});
  Status begin(const std::vector<TableSpec>& tables) override;
  Status add_row(std::size_t table, std::span<const Cell> values) override;
  Status finish() override;
  bool sequential_tables() const override { return true; }

 private:
  Status open_until(std::size_t table);
  Status close_sheet();
  void append_row(std::span<const Cell> values);
  Status flush_if_full();

  ZipWriter zip_;
  XlsxOptions options_;
  std::vector<TableSpec> tables_;
  std::size_t next_ = 0;      // next sheet to open
  std::size_t row_no_ = 0;    // rows written to the open sheet (header included)
  std::string buf_;
  Status status_;
};

// Worksheet name for a table: at most 31 characters, none of []:*?/\ (Excel's rules).
std::string sheet_name(std::string_view table_name);
// "A", "B", ..., "Z", "AA", ... for a 0-based column index.
std::string column_letters(std::size_t index);

}  // namespace akt::exports

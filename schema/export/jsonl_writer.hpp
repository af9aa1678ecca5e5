// JSON Lines output: one JSON object per row, one row per line (LF), UTF-8. Each object starts with
// "_table" (the table name) followed by the columns in layout order; not asked -> null, asked-empty
// -> "", numbers as numbers, booleans as true/false. Tables may interleave (a record's repeat rows
// follow its main row), so the exporter makes a single pass.
#pragma once

#include <string>

#include "schema/export/export_writer.hpp"
#include "schema/export/out_buffer.hpp"

namespace akt::exports {

// The sink must outlive the writer. Memory: one row plus `buffer_bytes`.
class JsonlWriter : public ExportWriter {
 public:
  explicit JsonlWriter(Sink sink, std::size_t buffer_bytes = 64 * 1024);
  Status begin(const std::vector<TableSpec>& tables) override;
  Status add_row(std::size_t table, std::span<const Cell> values) override;
  Status finish() override;
  bool sequential_tables() const override { return false; }
  std::size_t high_water() const { return out_.high_water(); }

 private:
  OutBuffer out_;
  std::vector<TableSpec> tables_;
  std::vector<std::vector<std::string>> keys_;  // per table: the row head, then `,"column":` per column
  std::string row_;
  Status status_;
};

// Appends `s` as a JSON string literal (quotes and escapes; invalid UTF-8 replaced by U+FFFD).
void append_json_string(std::string& out, std::string_view s);

}  // namespace akt::exports

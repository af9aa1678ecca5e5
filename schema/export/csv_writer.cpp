// CSV encoding and the two CSV writers.
#include "schema/export/csv_writer.hpp"

namespace akt::exports {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool needs_quotes(std::string_view s) { return s.find_first_of(",\"\r\n") != std::string_view::npos; }

void append_field(std::string& out, std::string_view s, bool force_quotes) {
  if (!force_quotes && !needs_quotes(s)) {
    out.append(s);
    return;
  }
  out.push_back('"');
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

// A text a spreadsheet may run as a formula: it starts with = + - @ (or a tab or CR), also after leading
// whitespace, which spreadsheets skip (spaces, line breaks, no-break spaces).
bool starts_like_formula(std::string_view s) {
  if (!s.empty() && std::string_view("=+-@\t\r").find(s.front()) != std::string_view::npos) return true;
  std::size_t i = 0;
  for (;;) {
    if (i < s.size() && std::string_view(" \t\r\n\v\f").find(s[i]) != std::string_view::npos) ++i;
    else if (s.substr(i, 2) == "\xC2\xA0") i += 2;
    else break;
  }
  return i < s.size() && std::string_view("=+-@").find(s[i]) != std::string_view::npos;
}

}  // namespace

void append_csv_row(std::string& out, std::span<const Cell> values, const CsvOptions& options) {
  bool first = true;
  for (const Cell& c : values) {
    if (!first) out.push_back(',');
    first = false;
    switch (c.kind) {
      case Cell::Kind::kNull:
        break;
      case Cell::Kind::kNumber:
      case Cell::Kind::kBool:
        out.append(c.text);
        break;
      case Cell::Kind::kText:
        if (c.text.empty()) {
          if (options.empty_marker.empty()) {
            out.append("\"\"");
          } else {
            append_field(out, options.empty_marker, false);
          }
        } else if (options.neutralise_formulas && starts_like_formula(c.text)) {
          append_field(out, "'" + c.text, false);
        } else {
          append_field(out, c.text, false);
        }
        break;
    }
  }
  out.append("\r\n");
}

void append_csv_header(std::string& out, const TableSpec& table) {
  bool first = true;
  for (const std::string& c : table.columns) {
    if (!first) out.push_back(',');
    first = false;
    append_field(out, c, false);
  }
  out.append("\r\n");
  if (table.labels.empty()) return;
  first = true;
  for (const std::string& l : table.labels) {  // the optional label row, quoted like any text
    if (!first) out.push_back(',');
    first = false;
    append_field(out, l, false);
  }
  out.append("\r\n");
}

CsvWriter::CsvWriter(Sink sink, CsvOptions options, std::size_t table)
    : options_(std::move(options)), table_(table), out_(std::move(sink), options_.buffer_bytes) {}

Status CsvWriter::begin(const std::vector<TableSpec>& tables) {
  if (table_ >= tables.size()) return status_ = Status::invalid_argument("csv: no such table");
  columns_ = tables[table_].columns.size();
  if (options_.bom) out_.append(kBom);
  row_.clear();
  append_csv_header(row_, tables[table_]);
  out_.append(row_);
  return status_;
}

Status CsvWriter::add_row(std::size_t table, std::span<const Cell> values) {
  if (!status_.ok() || table != table_) return status_;
  if (values.size() != columns_) return status_ = Status::invalid_argument("csv: row width differs from header");
  row_.clear();
  append_csv_row(row_, values, options_);
  out_.append(row_);
  return status_;
}

Status CsvWriter::finish() {
  out_.flush();
  return status_;
}

CsvZipWriter::CsvZipWriter(Sink sink, std::string prefix, CsvOptions options)
    : zip_(std::move(sink)), prefix_(std::move(prefix)), options_(std::move(options)) {}

Status CsvZipWriter::begin(const std::vector<TableSpec>& tables) {
  tables_ = tables;
  next_ = 0;
  return status_;
}

Status CsvZipWriter::flush_row() {
  if (buf_.size() < options_.buffer_bytes) return status_;
  status_ = zip_.write(buf_);
  buf_.clear();
  return status_;
}

Status CsvZipWriter::open_until(std::size_t table) {
  while (status_.ok() && next_ <= table && next_ < tables_.size()) {
    if (next_ > 0) {
      if (!buf_.empty()) status_ = zip_.write(buf_);
      buf_.clear();
      if (status_.ok()) status_ = zip_.end_entry();
    }
    if (status_.ok()) status_ = zip_.begin_entry(prefix_ + tables_[next_].name + ".csv");
    if (options_.bom) buf_.append(kBom);
    append_csv_header(buf_, tables_[next_]);
    ++next_;
  }
  return status_;
}

Status CsvZipWriter::add_row(std::size_t table, std::span<const Cell> values) {
  if (!status_.ok()) return status_;
  if (table >= tables_.size() || table + 1 < next_) {
    return status_ = Status::invalid_argument("csv zip: tables out of order");
  }
  if (values.size() != tables_[table].columns.size()) {
    return status_ = Status::invalid_argument("csv zip: row width differs from header");
  }
  if (!open_until(table).ok()) return status_;
  append_csv_row(buf_, values, options_);
  return flush_row();
}

Status CsvZipWriter::finish() {
  if (!status_.ok()) return status_;
  if (tables_.empty()) return status_ = zip_.finish();
  if (!open_until(tables_.size() - 1).ok()) return status_;
  if (!buf_.empty()) status_ = zip_.write(buf_);
  buf_.clear();
  if (status_.ok()) status_ = zip_.finish();
  return status_;
}

}  // namespace akt::exports

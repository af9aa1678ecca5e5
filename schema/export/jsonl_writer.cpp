// JSON Lines writer.
#include "schema/export/jsonl_writer.hpp"

#include <nlohmann/json.hpp>

namespace akt::exports {

void append_json_string(std::string& out, std::string_view s) {
  out += nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

JsonlWriter::JsonlWriter(Sink sink, std::size_t buffer_bytes) : out_(std::move(sink), buffer_bytes) {}

Status JsonlWriter::begin(const std::vector<TableSpec>& tables) {
  tables_ = tables;
  return status_;
}

Status JsonlWriter::add_row(std::size_t table, std::span<const Cell> values) {
  if (!status_.ok()) return status_;
  if (table >= tables_.size() || values.size() != tables_[table].columns.size()) {
    return status_ = Status::invalid_argument("jsonl: row does not match its table");
  }
  const TableSpec& t = tables_[table];
  row_ = "{\"_table\":";
  append_json_string(row_, t.name);
  for (std::size_t i = 0; i < values.size(); ++i) {
    row_.push_back(',');
    append_json_string(row_, t.columns[i]);
    row_.push_back(':');
    const Cell& c = values[i];
    switch (c.kind) {
      case Cell::Kind::kNull:
        row_ += "null";
        break;
      case Cell::Kind::kText:
        append_json_string(row_, c.text);
        break;
      case Cell::Kind::kNumber:
        row_ += c.text;
        break;
      case Cell::Kind::kBool:
        row_ += c.text == "1" ? "true" : "false";
        break;
    }
  }
  row_ += "}\n";
  out_.append(row_);
  return status_;
}

Status JsonlWriter::finish() {
  out_.flush();
  return status_;
}

}  // namespace akt::exports

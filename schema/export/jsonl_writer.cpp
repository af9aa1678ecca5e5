// JSON Lines writer.
#include "schema/export/jsonl_writer.hpp"
#include "sync/json_text.hpp"

#include <nlohmann/json.hpp>

namespace akt::exports {
namespace {

// Well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF), RFC 3629.
bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) n = 1;
    else if (c == 0xE0) n = 2, lo = 0xA0;
    else if (c >= 0xE1 && c <= 0xEC) n = 2;
    else if (c == 0xED) n = 2, hi = 0x9F;
    else if (c >= 0xEE && c <= 0xEF) n = 2;
    else if (c == 0xF0) n = 3, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) n = 3;
    else if (c == 0xF4) n = 3, hi = 0x8F;
    else return false;
    if (end - p <= n) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (int i = 2; i <= n; ++i)
      if (p[i] < 0x80 || p[i] > 0xBF) return false;
    p += n + 1;
  }
  return true;
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  // The common case without a temporary: the text is valid UTF-8 (bodies were parsed as JSON).
  if (valid_utf8(s)) return sync::append_json_string(out, s);
  out += nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

JsonlWriter::JsonlWriter(Sink sink, std::size_t buffer_bytes) : out_(std::move(sink), buffer_bytes) {}

Status JsonlWriter::begin(const std::vector<TableSpec>& tables) {
  tables_ = tables;
  // Each row repeats the same keys: encode them once (`{"_table":"x"` and `,"col":` per column).
  keys_.clear();
  for (const TableSpec& t : tables_) {
    std::vector<std::string> k;
    std::string head = "{\"_table\":";
    append_json_string(head, t.name);
    k.push_back(std::move(head));
    for (const std::string& c : t.columns) {
      std::string key = ",";
      append_json_string(key, c);
      key.push_back(':');
      k.push_back(std::move(key));
    }
    keys_.push_back(std::move(k));
  }
  return status_;
}

Status JsonlWriter::add_row(std::size_t table, std::span<const Cell> values) {
  if (!status_.ok()) return status_;
  if (table >= tables_.size() || values.size() != tables_[table].columns.size()) {
    return status_ = Status::invalid_argument("jsonl: row does not match its table");
  }
  const std::vector<std::string>& keys = keys_[table];
  row_ = keys[0];
  for (std::size_t i = 0; i < values.size(); ++i) {
    row_ += keys[i + 1];
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

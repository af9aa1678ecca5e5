// Streaming XLSX writer: fixed package parts, then one sheetN.xml entry per table.
#include "schema/export/xlsx_writer.hpp"

namespace akt::exports {
namespace {

constexpr std::size_t kMaxCellChars = 32767;
constexpr std::string_view kNs = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
constexpr std::string_view kRelNs = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

// XML text: escapes markup, drops characters XML 1.0 forbids, cuts at Excel's cell limit.
void append_xml_text(std::string& out, std::string_view s) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80 && ++chars > kMaxCellChars) break;
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default:
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') break;
        out.push_back(static_cast<char>(c));
    }
  }
}

std::string content_types(std::size_t sheets) {
  std::string s =
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
      "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
      "<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
      "<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
      "<Override PartName=\"/xl/workbook.xml\" "
      "ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>"
      "<Override PartName=\"/xl/styles.xml\" "
      "ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml\"/>";
  for (std::size_t i = 1; i <= sheets; ++i) {
    s += "<Override PartName=\"/xl/worksheets/sheet" + std::to_string(i) +
         ".xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>";
  }
  return s + "</Types>";
}

constexpr std::string_view kRootRels =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    "<Relationship Id=\"rId1\" "
    "Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" "
    "Target=\"xl/workbook.xml\"/></Relationships>";

constexpr std::string_view kStyles =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
    "<styleSheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"
    "<fonts count=\"1\"><font><sz val=\"11\"/><name val=\"Calibri\"/></font></fonts>"
    "<fills count=\"2\"><fill><patternFill patternType=\"none\"/></fill>"
    "<fill><patternFill patternType=\"gray125\"/></fill></fills>"
    "<borders count=\"1\"><border><left/><right/><top/><bottom/><diagonal/></border></borders>"
    "<cellStyleXfs count=\"1\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\"/></cellStyleXfs>"
    "<cellXfs count=\"1\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\"/></cellXfs>"
    "</styleSheet>";

std::string workbook(const std::vector<TableSpec>& tables) {
  std::string s = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<workbook xmlns=\"";
  s += kNs;
  s += "\" xmlns:r=\"";
  s += kRelNs;
  s += "\"><sheets>";
  for (std::size_t i = 0; i < tables.size(); ++i) {
    s += "<sheet name=\"";
    append_xml_text(s, sheet_name(tables[i].name));
    s += "\" sheetId=\"" + std::to_string(i + 1) + "\" r:id=\"rId" + std::to_string(i + 1) + "\"/>";
  }
  return s + "</sheets></workbook>";
}

std::string workbook_rels(std::size_t sheets) {
  std::string s =
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
      "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">";
  for (std::size_t i = 1; i <= sheets; ++i) {
    s += "<Relationship Id=\"rId" + std::to_string(i) +
         "\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" "
         "Target=\"worksheets/sheet" + std::to_string(i) + ".xml\"/>";
  }
  s += "<Relationship Id=\"rId" + std::to_string(sheets + 1) +
       "\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" "
       "Target=\"styles.xml\"/>";
  return s + "</Relationships>";
}

}  // namespace

std::string sheet_name(std::string_view table_name) {
  std::string out;
  std::size_t chars = 0;
  for (char c : table_name) {
    if (std::string_view("[]:*?/\\").find(c) != std::string_view::npos) c = '_';
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80 && ++chars > 31) break;
    out.push_back(c);
  }
  return out.empty() ? "sheet" : out;
}

std::string column_letters(std::size_t index) {
  std::string s;
  for (std::size_t n = index + 1; n > 0; n = (n - 1) / 26) s.insert(s.begin(), static_cast<char>('A' + (n - 1) % 26));
  return s;
}

XlsxWriter::XlsxWriter(Sink sink, XlsxOptions options)
    : zip_(std::move(sink), options.compression_level), options_(std::move(options)) {}

Status XlsxWriter::begin(const std::vector<TableSpec>& tables) {
  tables_ = tables;
  if (tables_.empty()) return status_ = Status::invalid_argument("xlsx: no tables");
  const std::pair<std::string, std::string> parts[] = {
      {"[Content_Types].xml", content_types(tables_.size())},
      {"_rels/.rels", std::string(kRootRels)},
      {"xl/workbook.xml", workbook(tables_)},
      {"xl/_rels/workbook.xml.rels", workbook_rels(tables_.size())},
      {"xl/styles.xml", std::string(kStyles)},
  };
  for (const auto& [name, body] : parts) {
    if (status_.ok()) status_ = zip_.begin_entry(name);
    if (status_.ok()) status_ = zip_.write(body);
    if (status_.ok()) status_ = zip_.end_entry();
  }
  return status_;
}

void XlsxWriter::append_row(std::span<const Cell> values) {
  ++row_no_;
  const std::string r = std::to_string(row_no_);
  buf_ += "<row r=\"" + r + "\">";
  for (std::size_t i = 0; i < values.size(); ++i) {
    const Cell& c = values[i];
    if (c.kind == Cell::Kind::kNull) continue;
    const std::string ref = column_letters(i) + r;
    if (c.kind == Cell::Kind::kText) {
      const std::string& text = c.text.empty() ? options_.empty_marker : c.text;
      buf_ += "<c r=\"" + ref + "\" t=\"inlineStr\"><is><t xml:space=\"preserve\">";
      append_xml_text(buf_, text);
      buf_ += "</t></is></c>";
    } else {
      buf_ += "<c r=\"" + ref + "\"><v>" + c.text + "</v></c>";
    }
  }
  buf_ += "</row>";
}

Status XlsxWriter::flush_if_full() {
  if (buf_.size() >= options_.buffer_bytes) {
    status_ = zip_.write(buf_);
    buf_.clear();
  }
  return status_;
}

Status XlsxWriter::close_sheet() {
  buf_ += "</sheetData></worksheet>";
  status_ = zip_.write(buf_);
  buf_.clear();
  if (status_.ok()) status_ = zip_.end_entry();
  return status_;
}

Status XlsxWriter::open_until(std::size_t table) {
  while (status_.ok() && next_ <= table && next_ < tables_.size()) {
    if (next_ > 0 && !close_sheet().ok()) return status_;
    status_ = zip_.begin_entry("xl/worksheets/sheet" + std::to_string(next_ + 1) + ".xml");
    buf_ = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<worksheet xmlns=\"";
    buf_ += kNs;
    buf_ += "\"><sheetData>";
    row_no_ = 0;
    std::vector<Cell> header;
    for (const std::string& c : tables_[next_].columns) header.push_back(Cell::str(c));
    append_row(header);
    if (!tables_[next_].labels.empty()) {  // the optional label row
      header.clear();
      for (const std::string& l : tables_[next_].labels) header.push_back(Cell::str(l));
      append_row(header);
    }
    ++next_;
  }
  return status_;
}

Status XlsxWriter::add_row(std::size_t table, std::span<const Cell> values) {
  if (!status_.ok()) return status_;
  if (table >= tables_.size() || table + 1 < next_) return status_ = Status::invalid_argument("xlsx: tables out of order");
  if (values.size() != tables_[table].columns.size()) return status_ = Status::invalid_argument("xlsx: row width");
  if (!open_until(table).ok()) return status_;
  if (row_no_ >= 1'048'576) return status_ = Status::too_large("xlsx: more rows than a worksheet holds");
  append_row(values);
  return flush_if_full();
}

Status XlsxWriter::finish() {
  if (!status_.ok()) return status_;
  if (!open_until(tables_.size() - 1).ok()) return status_;
  if (!close_sheet().ok()) return status_;
  return status_ = zip_.finish();
}

}  // namespace akt::exports

// The streaming writer interface shared by CSV, JSON Lines and XLSX output, and the value types
// that cross it. Writers push bytes to a caller-supplied sink; they never do file or network I/O.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sync/status.hpp"

namespace akt::exports {

// Receives output bytes in order. Called with chunks of at most a few tens of KiB; the view is
// valid only during the call. Must not throw (the HTTP handler copies into its response stream).
using Sink = std::function<void(std::string_view)>;

// One cell of a row. kNull = not asked (absent / JSON null); kText with empty text = asked and left
// empty ("" or []). kNumber holds the number's canonical text (integers without ".0"); kBool holds
// "1" or "0".
struct Cell {
  enum class Kind { kNull, kText, kNumber, kBool };
  Kind kind = Kind::kNull;
  std::string text;

  static Cell null() { return {}; }
  static Cell str(std::string s) { return {Kind::kText, std::move(s)}; }
  static Cell number(std::string s) { return {Kind::kNumber, std::move(s)}; }
  static Cell boolean(bool b) { return {Kind::kBool, b ? "1" : "0"}; }
  friend bool operator==(const Cell&, const Cell&) = default;
};

// One output table: the main table ("records") or one repeat group (named after the repeat key).
struct TableSpec {
  std::string name;
  std::vector<std::string> columns;
  // Optional second header row (CSV and XLSX; JSON Lines has no header): one label per column in the
  // reader's language. Empty: no second row.
  std::vector<std::string> labels = {};
};

// Contract for every writer:
//  - begin() once, then add_row() any number of times, then finish() once.
//  - `values.size()` equals the column count of `table`.
//  - When sequential_tables() is true, all rows of table i arrive before any row of table j > i
//    (ZIP entries are contiguous); the exporter then makes one pass over the records per table.
//  - Memory is bounded by the writer's buffer size, never by the number of rows.
//  - A non-OK Status from any call is final; the writer ignores later calls.
// Not thread-safe; one writer per export.
class ExportWriter {
 public:
  virtual ~ExportWriter() = default;
  virtual Status begin(const std::vector<TableSpec>& tables) = 0;
  virtual Status add_row(std::size_t table, std::span<const Cell> values) = 0;
  virtual Status finish() = 0;
  virtual bool sequential_tables() const = 0;
  // False for a table whose rows the writer ignores: the exporter then does not flatten them.
  virtual bool wants_table(std::size_t /*table*/) const { return true; }
};

}  // namespace akt::exports

// Drives one form's export: redact each record for the caller's role, flatten it, hand the rows to a
// writer. Records come from the caller in passes (the store pages them; this library does no I/O).
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "schema/export/export_record.hpp"
#include "schema/export/export_writer.hpp"
#include "schema/export/flatten.hpp"
#include "schema/export/layout.hpp"
#include "schema/export/text_flatten.hpp"
#include "schema/forms/form_def.hpp"
#include "sync/access.hpp"

namespace akt::exports {

struct ExportOptions {
  sync::Role role = sync::Role::kMeOfficer;
  std::string pseudonym_key;           // per-deployment export secret; empty: pseudonymised fields removed
  bool special_category = false;       // the reader holds the special-category grant (redact.hpp)
  FlattenOptions flatten;              // codes or labels
  bool option_columns = true;          // 0/1 column per select_multiple choice
  bool include_conflicted = true;      // false (conflicts=exclude): records flagged conflict are skipped
  bool label_row = false;              // second header row with the question labels (flatten.labels's
                                       // language; English for codes): column_labels.hpp
};

// One pass over the records to export, in ascending seq; fills `out` and returns true, or returns false
// at the end. Must not throw.
using RecordPass = std::function<bool(ExportRecord& out)>;
// Opens a new pass from the start. Every pass of one export must yield the same records: page them
// inside one read transaction (a WAL snapshot) so that concurrent pushes do not change the set.
using OpenPass = std::function<RecordPass()>;

class FormExporter {
 public:
  // Builds the layout over `versions` (every version of one form). The FormDefs must outlive the
  // exporter. kInvalidArgument as build_layout().
  static Result<FormExporter> create(std::span<const forms::FormDef* const> versions, ExportOptions options);

  const ExportLayout& layout() const { return *layout_; }
  // The tables handed to writer.begin(): the layout's, with the label row when options.label_row.
  std::vector<TableSpec> table_specs() const;

  // writer.begin(tables); then, if writer.sequential_tables(), one pass per table (a form without
  // repeats needs one), else one pass emitting every table's rows record by record; writer.finish().
  // Returns the first non-OK Status of the writer. The export cursor for the caller is the largest
  // seq it handed out (this function does not see the store's cursor).
  Status run(const OpenPass& open_pass, ExportWriter& writer) const;

  // The same export in steps, for callers that stream (see ExportRun).
  friend class ExportRun;

  // The rows of one table for one record (redacted copy of its body). For callers driving passes.
  // A record with body_text goes through the TextFlattener (the same bytes), else through the DOM.
  // Not thread-safe: one export at a time per exporter (the text path reuses its buffers).
  Status write_record(std::size_t table, const ExportRecord& record, ExportWriter& writer) const;

 private:
  FormExporter() = default;
  Status write_dom(std::size_t table, const ExportRecord& record, const nlohmann::json& body,
                   ExportWriter& writer) const;
  std::vector<const forms::FormDef*> versions_;
  ExportOptions options_;
  // Heap-held so that its address stays put when the exporter moves (the flattener points into it).
  std::unique_ptr<ExportLayout> layout_;
  std::unique_ptr<TextFlattener> text_;  // null: this layout always takes the DOM path
};

// FormExporter::run() cut into resumable steps, so that an HTTP answer can be produced piece by piece
// (each step on whatever thread, one at a time) and memory stays at one page of records plus the
// writer's buffer. The exporter, the writer and what open_pass uses must outlive the run.
class ExportRun {
 public:
  ExportRun(const FormExporter& exporter, OpenPass open_pass, ExportWriter& writer)
      : exporter_(exporter), open_pass_(std::move(open_pass)), writer_(writer) {}
  // Exports up to `max_records` more records (per table pass). Returns true while more follow; false
  // once writer.finish() was called. A non-OK Status is final.
  Result<bool> step(std::size_t max_records);
  bool finished() const { return finished_; }

 private:
  const FormExporter& exporter_;
  OpenPass open_pass_;
  ExportWriter& writer_;
  bool begun_ = false, finished_ = false;
  std::size_t table_ = 0;  // the table whose pass is open (sequential writers)
  RecordPass pass_;
  ExportRecord record_;
};

}  // namespace akt::exports

// Drives one form's export: redact each record for the caller's role, flatten it, hand the rows to a
// writer. Records come from the caller in passes (the store pages them; this library does no I/O).
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "schema/export/export_record.hpp"
#include "schema/export/export_writer.hpp"
#include "schema/export/flatten.hpp"
#include "schema/export/layout.hpp"
#include "schema/forms/form_def.hpp"
#include "sync/access.hpp"

namespace akt::exports {

struct ExportOptions {
  sync::Role role = sync::Role::kMeOfficer;
  std::string pseudonym_key;           // per-deployment export secret; empty: pseudonymised fields removed
  FlattenOptions flatten;              // codes or labels
  bool option_columns = true;          // 0/1 column per select_multiple choice
  bool include_conflicted = true;      // false (conflicts=exclude): records flagged conflict are skipped
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

  const ExportLayout& layout() const { return layout_; }

  // writer.begin(tables); then, if writer.sequential_tables(), one pass per table (a form without
  // repeats needs one), else one pass emitting every table's rows record by record; writer.finish().
  // Returns the first non-OK Status of the writer. The export cursor for the caller is the largest
  // seq it handed out (this function does not see the store's cursor).
  Status run(const OpenPass& open_pass, ExportWriter& writer) const;

  // The rows of one table for one record (redacted copy of its body). For callers driving passes.
  Status write_record(std::size_t table, const ExportRecord& record, ExportWriter& writer) const;

 private:
  FormExporter() = default;
  std::vector<const forms::FormDef*> versions_;
  ExportOptions options_;
  ExportLayout layout_;
};

}  // namespace akt::exports

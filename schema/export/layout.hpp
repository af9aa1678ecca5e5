// The column layout of a form's export: one wide main table ("records", one row per record) and one
// long table per repeat group (one row per item, keyed by record_id + item ids). Columns are the
// union of every version's fields in form order; redacted fields have no column. Pure.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "schema/export/export_writer.hpp"
#include "schema/export/redact.hpp"
#include "schema/forms/form_def.hpp"
#include "sync/access.hpp"
#include "sync/status.hpp"

namespace akt::exports {

struct LayoutOptions {
  sync::Role role = sync::Role::kMeOfficer;  // decides which fields get a column (redact.hpp)
  bool has_pseudonym_key = true;             // false: would-be pseudonyms are removed instead
  bool option_columns = true;                // one 0/1 column "<key>__<code>" per select_multiple choice
  bool special_category = false;             // the reader holds the special-category grant (redact.hpp)
};

enum class ColumnKind {
  kMeta,      // record_id, form_version, scope_municipality, scope_community, scope_component, seq,
              // server_time, deleted, conflict (a body key equal to one of these becomes "body_<key>")
  kParentId,  // item id of an enclosing repeat item (nested repeats only)
  kValue,     // one body field (select_multiple: space-separated codes)
  kOption,    // 0/1 for one select_multiple choice
  kGeoLat,
  kGeoLon,
  kGeoAcc,
};

struct Column {
  std::string name;
  ColumnKind kind = ColumnKind::kValue;
  std::string field;   // meta name, body key, or (kParentId) the enclosing repeat's key
  std::string option;  // kOption: the choice code
  const forms::FieldDef* def = nullptr;      // newest definition of the field (value kinds)
  const forms::ChoiceList* list = nullptr;   // newest choice list, for labels (select fields)
  Treatment treatment = Treatment::kKeep;
};

struct TableLayout {
  std::string name;               // "records", or the repeat key ("visit")
  std::vector<std::string> path;  // repeat keys from the top level down to this table; empty for main
  std::vector<Column> columns;
};

struct ExportLayout {
  std::string form_id;
  std::vector<TableLayout> tables;  // tables[0] is the main table, then repeats depth-first in form order
  std::vector<TableSpec> specs() const;
};

// Builds the layout over every version of one form (any order; the newest definition of a field wins
// for its type, list and sensitivity; a field missing from newer versions keeps its place after its
// predecessor in the version that had it). kInvalidArgument if `versions` is empty, holds a null, or
// mixes form ids. The FormDefs must outlive the layout (columns point into them).
Result<ExportLayout> build_layout(std::span<const forms::FormDef* const> versions, const LayoutOptions& options);

}  // namespace akt::exports

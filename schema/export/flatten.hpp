// Record -> rows of one table of an ExportLayout. Pure; the body must already be redacted for the
// role the layout was built for (redact_body), so the two agree on which fields exist.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "schema/export/export_record.hpp"
#include "schema/export/export_writer.hpp"
#include "schema/export/layout.hpp"

namespace akt::exports {

// Codes, or labels in one programme language (a missing translation falls back to English, then the code).
// kSr is Serbian Cyrillic, kSrLatn its Latin transliteration (derived when the form is read).
enum class LabelMode { kCodes, kEn, kSq, kSr, kSrLatn };

struct FlattenOptions {
  LabelMode labels = LabelMode::kCodes;
  // The scope_community cell as the reader may see it (redact_scope_community); unset: as stored.
  std::function<std::string(std::string_view)> scope_community;
};

// The label of choice `code` of `list` in `mode`'s language, falling back to English; nullptr when codes
// are asked for, the field has no choice list, the code is not a choice or it has no label.
const std::string* label_of(const forms::ChoiceList* list, std::string_view code, LabelMode mode);

using RowSink = std::function<void(std::span<const Cell>)>;

// Emits the rows of `layout.tables[table]` for `record`, whose (redacted) body is `body`:
// the main table gets exactly one row (a tombstone row, values null, when record.deleted);
// a repeat table gets one row per item (none for tombstones or when the repeat is absent).
// Cells: absent/null -> kNull; "" / [] -> kText ""; numbers keep their JSON text; select_multiple ->
// codes joined by " " (labels joined by "; "); booleans -> kBool. REQUIRES: table < layout.tables.size().
void flatten(const ExportLayout& layout, std::size_t table, const ExportRecord& record, const nlohmann::json& body,
             const FlattenOptions& options, const RowSink& emit);

}  // namespace akt::exports

// Flattening straight from a record's stored JSON text (simdjson), the export's hot path:
// no DOM per record, redaction applied per cell, row buffers reused from record to record. It gives
// the bytes of redact_body() + flatten() (flatten.hpp) for every body it accepts; a body of a shape it
// does not handle is reported, and the caller takes the DOM path for that record. Pure; not
// thread-safe (one TextFlattener per export, used by one thread at a time).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "schema/export/export_record.hpp"
#include "schema/export/flatten.hpp"
#include "schema/export/layout.hpp"
#include "schema/forms/form_def.hpp"
#include "sync/access.hpp"

namespace akt::exports {

struct TextFlattenOptions {
  sync::Role role = sync::Role::kMeOfficer;
  std::string pseudonym_key;
  bool special_category = false;
  FlattenOptions flatten;
};

class TextFlattener {
 public:
  // nullptr when the layout has a shape this path does not handle (repeats inside repeats, a field
  // with two value columns); the caller then uses the DOM path for every record. `layout` and
  // `versions` must outlive the flattener.
  static std::unique_ptr<TextFlattener> create(const ExportLayout& layout,
                                               std::span<const forms::FormDef* const> versions,
                                               TextFlattenOptions options);
  ~TextFlattener();
  TextFlattener(const TextFlattener&) = delete;
  TextFlattener& operator=(const TextFlattener&) = delete;

  // Emits the rows of `layout.tables[table]` for `record`, whose body is record.body_text (ignored
  // for tombstones), as flatten(layout, table, record, redact_body(parse(body_text))) would. Returns
  // false, having emitted nothing, when the body is not a JSON object or holds a value this path does
  // not handle (e.g. an object where a scalar belongs, a number too large for 64 bits).
  bool rows(std::size_t table, const ExportRecord& record, const RowSink& emit);

 private:
  struct Impl;
  explicit TextFlattener(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace akt::exports

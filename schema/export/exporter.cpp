// The export driver.
#include "schema/export/exporter.hpp"

#include "schema/export/column_labels.hpp"

#include "schema/export/redact.hpp"

namespace akt::exports {

Result<FormExporter> FormExporter::create(std::span<const forms::FormDef* const> versions, ExportOptions options) {
  LayoutOptions lo;
  lo.role = options.role;
  lo.has_pseudonym_key = !options.pseudonym_key.empty();
  lo.special_category = options.special_category;
  lo.option_columns = options.option_columns;
  Result<ExportLayout> layout = build_layout(versions, lo);
  if (!layout.ok()) return layout.status();
  if (options.role == sync::Role::kMeOfficer && !options.special_category) {
    options.flatten.scope_community = [key = options.pseudonym_key](std::string_view community) {
      return redact_scope_community(community, sync::Role::kMeOfficer, key, false);
    };
  }
  FormExporter e;
  e.versions_.assign(versions.begin(), versions.end());
  e.layout_ = std::make_unique<ExportLayout>(std::move(layout).value());
  e.text_ = TextFlattener::create(*e.layout_, e.versions_,
                                  {options.role, options.pseudonym_key, options.special_category, options.flatten});
  e.options_ = std::move(options);
  return e;
}

Status FormExporter::write_record(std::size_t table, const ExportRecord& record, ExportWriter& writer) const {
  if (!options_.include_conflicted && record.conflict) return Status();
  if (record.body_text.empty() || record.deleted) return write_dom(table, record, record.body, writer);
  Status status;
  auto emit = [&](std::span<const Cell> row) {
    if (status.ok()) status = writer.add_row(table, row);
  };
  if (text_ && text_->rows(table, record, emit)) return status;
  // A body the text path does not take (text_flatten.hpp): parsed once into a DOM. Not an object:
  // no rows, as a record whose body cannot be read was never exported.
  const nlohmann::json body = nlohmann::json::parse(record.body_text, nullptr, false);
  if (!body.is_object()) return Status();
  return write_dom(table, record, body, writer);
}

Status FormExporter::write_dom(std::size_t table, const ExportRecord& record, const nlohmann::json& stored,
                               ExportWriter& writer) const {
  const nlohmann::json empty = nlohmann::json::object();
  const nlohmann::json* body = record.deleted ? &empty : &stored;
  nlohmann::json redacted;
  if (options_.role == sync::Role::kMeOfficer) {  // the other roles see bodies as stored: no copy
    redacted = *body;
    redact_body(versions_, redacted, options_.role, options_.pseudonym_key, record.record_id,
                options_.special_category);
    body = &redacted;
  }
  Status status;
  flatten(*layout_, table, record, *body, options_.flatten, [&](std::span<const Cell> row) {
    if (status.ok()) status = writer.add_row(table, row);
  });
  return status;
}

std::vector<TableSpec> FormExporter::table_specs() const {
  std::vector<TableSpec> specs = layout_->specs();
  if (!options_.label_row) return specs;
  const LabelMode m = options_.flatten.labels;
  const forms::Lang lang = m == LabelMode::kSq       ? forms::Lang::kSq
                           : m == LabelMode::kSr     ? forms::Lang::kSr
                           : m == LabelMode::kSrLatn ? forms::Lang::kSrLatn
                                                     : forms::Lang::kEn;
  for (std::size_t t = 0; t < specs.size(); ++t) specs[t].labels = column_labels(layout_->tables[t], lang);
  return specs;
}

Status FormExporter::run(const OpenPass& open_pass, ExportWriter& writer) const {
  if (Status s = writer.begin(table_specs()); !s.ok()) return s;
  const std::size_t tables = layout_->tables.size();
  ExportRecord r;
  if (writer.sequential_tables()) {
    for (std::size_t t = 0; t < tables; ++t) {
      RecordPass pass = open_pass();
      while (pass && pass(r)) {
        if (Status s = write_record(t, r, writer); !s.ok()) return s;
      }
    }
  } else {
    RecordPass pass = open_pass();
    while (pass && pass(r)) {
      for (std::size_t t = 0; t < tables; ++t) {
        if (!writer.wants_table(t)) continue;
        if (Status s = write_record(t, r, writer); !s.ok()) return s;
      }
    }
  }
  return writer.finish();
}

Result<bool> ExportRun::step(std::size_t max_records) {
  if (finished_) return false;
  const std::size_t tables = exporter_.layout_->tables.size();
  if (!begun_) {
    if (Status s = writer_.begin(exporter_.table_specs()); !s.ok()) return s;
    begun_ = true;
    table_ = 0;
    pass_ = open_pass_();
  }
  const bool sequential = writer_.sequential_tables();
  for (std::size_t n = 0; n < max_records;) {
    if (!pass_ || !pass_(record_)) {
      // End of a pass: the next table's pass (sequential writers), or the end of the export.
      if (sequential && ++table_ < tables) {
        pass_ = open_pass_();
        continue;
      }
      pass_ = nullptr;
      finished_ = true;
      if (Status s = writer_.finish(); !s.ok()) return s;
      return false;
    }
    ++n;
    if (sequential) {
      if (Status s = exporter_.write_record(table_, record_, writer_); !s.ok()) return s;
    } else {
      for (std::size_t t = 0; t < tables; ++t) {
        if (!writer_.wants_table(t)) continue;
        if (Status s = exporter_.write_record(t, record_, writer_); !s.ok()) return s;
      }
    }
  }
  return true;
}

}  // namespace akt::exports

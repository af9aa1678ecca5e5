// Flattening of record bodies into table rows.
#include "schema/export/flatten.hpp"

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace akt::exports {
namespace {

std::string number_text(const nlohmann::json& v) {
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Cell value_cell(const Column& c, const nlohmann::json& v, const FlattenOptions& opt) {
  if (v.is_null()) return Cell::null();
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (const std::string* l = label_of(c.list, s, opt.labels)) return Cell::str(*l);
    return Cell::str(s);
  }
  if (v.is_boolean()) return Cell::boolean(v.get<bool>());
  if (v.is_number()) return Cell::number(number_text(v));
  if (v.is_array()) {
    std::string out;
    const bool labelled = c.list != nullptr && opt.labels != LabelMode::kCodes;
    for (const nlohmann::json& e : v) {
      std::string code = e.is_string() ? e.get<std::string>() : number_text(e);
      const std::string* l = label_of(c.list, code, opt.labels);
      if (!out.empty()) out += labelled ? "; " : " ";
      out += l != nullptr ? *l : code;
    }
    return Cell::str(std::move(out));
  }
  return Cell::str(number_text(v));  // an object where a scalar belongs: shown, never dropped
}

Cell geo_cell(ColumnKind kind, const nlohmann::json& v) {
  if (!v.is_object()) return Cell::null();
  const char* k = kind == ColumnKind::kGeoLat ? "lat" : kind == ColumnKind::kGeoLon ? "lon" : "acc";
  auto it = v.find(k);
  if (it == v.end() || !it->is_number()) return Cell::null();
  return Cell::number(number_text(*it));
}

Cell meta_cell(const std::string& name, const ExportRecord& r, const FlattenOptions& opt) {
  if (name == "record_id") return Cell::str(r.record_id);
  if (name == "form_version") return Cell::number(std::to_string(r.form_version));
  if (name == "scope_municipality") return Cell::str(r.scope.municipality);
  if (name == "scope_community")
    return Cell::str(opt.scope_community ? opt.scope_community(r.scope.community) : r.scope.community);
  if (name == "scope_component") return Cell::str(r.scope.component);
  if (name == "seq") return Cell::number(std::to_string(r.seq));
  if (name == "server_time") return Cell::str(iso_utc(r.server_time_ms));
  if (name == "deleted") return Cell::boolean(r.deleted);
  if (name == "conflict") return Cell::boolean(r.conflict);
  return Cell::null();
}

const nlohmann::json& field_of(const nlohmann::json& obj, const std::string& key) {
  static const nlohmann::json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

void row_of(const TableLayout& t, const ExportRecord& r, const nlohmann::json& obj,
            const std::vector<const nlohmann::json*>& ancestors, const FlattenOptions& opt, std::vector<Cell>& row) {
  row.clear();
  std::size_t parent = 0;
  for (const Column& c : t.columns) {
    switch (c.kind) {
      case ColumnKind::kMeta:
        row.push_back(meta_cell(c.field, r, opt));
        break;
      case ColumnKind::kParentId: {
        const nlohmann::json& id = field_of(*ancestors[parent++], c.name);
        row.push_back(id.is_string() ? Cell::str(id.get<std::string>()) : Cell::null());
        break;
      }
      case ColumnKind::kValue:
        row.push_back(r.deleted ? Cell::null() : value_cell(c, field_of(obj, c.field), opt));
        break;
      case ColumnKind::kOption: {
        const nlohmann::json& v = field_of(obj, c.field);
        if (r.deleted || !v.is_array()) {
          row.push_back(Cell::null());
          break;
        }
        bool hit = false;
        for (const nlohmann::json& e : v) hit = hit || (e.is_string() && e.get_ref<const std::string&>() == c.option);
        row.push_back(Cell::number(hit ? "1" : "0"));
        break;
      }
      case ColumnKind::kGeoLat:
      case ColumnKind::kGeoLon:
      case ColumnKind::kGeoAcc:
        row.push_back(r.deleted ? Cell::null() : geo_cell(c.kind, field_of(obj, c.field)));
        break;
    }
  }
}

// Walks the repeat path depth-first; `ancestors` holds the enclosing items (for their ids).
void walk(const TableLayout& t, std::size_t depth, const nlohmann::json& obj, std::vector<const nlohmann::json*>& ancestors,
          const ExportRecord& r, const FlattenOptions& opt, std::vector<Cell>& row, const RowSink& emit) {
  const nlohmann::json& items = field_of(obj, t.path[depth]);
  if (!items.is_array()) return;
  for (const nlohmann::json& item : items) {
    if (!item.is_object()) continue;
    if (depth + 1 == t.path.size()) {
      row_of(t, r, item, ancestors, opt, row);
      emit(row);
    } else {
      ancestors.push_back(&item);
      walk(t, depth + 1, item, ancestors, r, opt, row, emit);
      ancestors.pop_back();
    }
  }
}

}  // namespace

const std::string* label_of(const forms::ChoiceList* list, std::string_view code, LabelMode mode) {
  if (list == nullptr || mode == LabelMode::kCodes) return nullptr;
  for (const forms::Choice& c : list->choices) {
    if (c.code != code) continue;
    const std::string& want = mode == LabelMode::kSq       ? c.label.sq
                              : mode == LabelMode::kSr     ? c.label.sr
                              : mode == LabelMode::kSrLatn ? c.label.sr_latn
                                                           : c.label.en;
    if (!want.empty()) return &want;
    return c.label.en.empty() ? nullptr : &c.label.en;
  }
  return nullptr;
}

void flatten(const ExportLayout& layout, std::size_t table, const ExportRecord& record, const nlohmann::json& body,
             const FlattenOptions& options, const RowSink& emit) {
  const TableLayout& t = layout.tables[table];
  std::vector<Cell> row;
  row.reserve(t.columns.size());
  std::vector<const nlohmann::json*> ancestors;
  if (t.path.empty()) {
    row_of(t, record, body, ancestors, options, row);
    emit(row);
    return;
  }
  if (record.deleted) return;
  walk(t, 0, body, ancestors, record, options, row, emit);
}

}  // namespace akt::exports

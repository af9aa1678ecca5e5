// Column layout: union of fields across form versions, in form order, filtered by role.
#include "schema/export/layout.hpp"

#include <algorithm>
#include <utility>

namespace akt::exports {
namespace {

// A field together with the version that defined it (for its choice list).
struct Def {
  const forms::FieldDef* field;
  const forms::FormDef* form;
};
using Lists = std::vector<std::pair<const std::vector<forms::FieldDef>*, const forms::FormDef*>>;

constexpr const char* kMeta[] = {"record_id", "form_version", "scope_municipality", "scope_community", "scope_component",
                                 "seq",       "server_time",  "deleted",            "conflict"};

bool is_meta(std::string_view name) {
  for (const char* m : kMeta) {
    if (name == m) return true;
  }
  return false;
}

// Union of field lists, newest first: the newest order, then older-only fields after their predecessor.
std::vector<Def> merge_fields(const Lists& lists) {
  std::vector<Def> merged;
  for (const auto& [fields, form] : lists) {
    std::size_t insert_at = 0;
    for (const forms::FieldDef& f : *fields) {
      auto it = std::find_if(merged.begin(), merged.end(), [&](const Def& d) { return d.field->key == f.key; });
      if (it != merged.end()) {
        insert_at = static_cast<std::size_t>(it - merged.begin()) + 1;
        continue;
      }
      merged.insert(merged.begin() + static_cast<std::ptrdiff_t>(insert_at), Def{&f, form});
      ++insert_at;
    }
  }
  return merged;
}

// Choice codes of `key`'s list across all versions, newest list first, older-only codes appended.
std::vector<std::string> option_codes(const Lists& lists, const std::string& key) {
  std::vector<std::string> codes;
  for (const auto& [fields, form] : lists) {
    for (const forms::FieldDef& f : *fields) {
      if (f.key != key) continue;
      if (const forms::ChoiceList* l = form->list(f.choices)) {
        for (const forms::Choice& c : l->choices) {
          if (std::find(codes.begin(), codes.end(), c.code) == codes.end()) codes.push_back(c.code);
        }
      }
    }
  }
  return codes;
}

void add_value_columns(TableLayout& t, const Def& d, const Lists& lists, const LayoutOptions& opt) {
  const forms::FieldDef& f = *d.field;
  Treatment tr = treatment_for(f, opt.role, opt.has_pseudonym_key, opt.special_category);
  for (const auto& [fields, form] : lists) {  // strictest over versions, as redact_body does
    for (const forms::FieldDef& g : *fields) {
      if (g.key == f.key) tr = stricter(tr, treatment_for(g, opt.role, opt.has_pseudonym_key, opt.special_category));
    }
  }
  if (tr == Treatment::kRemove) return;
  // A body key equal to a metadata column name gets a "body_" prefix so column names stay unique.
  const std::string name = is_meta(f.key) ? "body_" + f.key : f.key;
  Column c{name, ColumnKind::kValue, f.key, "", &f, d.form->list(f.choices), tr};
  if (tr != Treatment::kKeep) {  // pseudonyms and bands are opaque text: one column, no labels
    c.list = nullptr;
    t.columns.push_back(std::move(c));
    return;
  }
  if (f.type == forms::FieldType::kGeopoint) {
    for (auto [kind, suffix] : {std::pair{ColumnKind::kGeoLat, "__lat"}, std::pair{ColumnKind::kGeoLon, "__lon"},
                                std::pair{ColumnKind::kGeoAcc, "__acc"}}) {
      t.columns.push_back(Column{name + suffix, kind, f.key, "", &f, nullptr, tr});
    }
    return;
  }
  t.columns.push_back(c);
  if (f.type == forms::FieldType::kSelectMultiple && opt.option_columns) {
    for (const std::string& code : option_codes(lists, f.key)) {
      t.columns.push_back(Column{name + "__" + code, ColumnKind::kOption, f.key, code, &f, nullptr, tr});
    }
  }
}

void add_table(ExportLayout& out, const Lists& lists, std::vector<std::string> path,
               const std::vector<const forms::FieldDef*>& parents, const LayoutOptions& opt) {
  TableLayout t;
  t.name = path.empty() ? "records" : path.back();
  t.path = path;
  const std::vector<Def> fields = merge_fields(lists);
  if (path.empty()) {
    for (const char* m : kMeta) t.columns.push_back(Column{m, ColumnKind::kMeta, m, "", nullptr, nullptr, {}});
  } else {
    t.columns.push_back(Column{"record_id", ColumnKind::kMeta, "record_id", "", nullptr, nullptr, {}});
    for (std::size_t i = 0; i + 1 < parents.size(); ++i) {
      t.columns.push_back(
          Column{parents[i]->item_id, ColumnKind::kParentId, parents[i]->key, "", parents[i], nullptr, {}});
    }
    // The item's own id right after the keys of its ancestors.
    const std::string& own_id = parents.back()->item_id;
    for (const Def& d : fields) {
      if (d.field->key == own_id) t.columns.push_back(Column{own_id, ColumnKind::kValue, own_id, "", d.field, nullptr, {}});
    }
  }
  const std::size_t table_index = out.tables.size();
  out.tables.push_back(std::move(t));
  for (const Def& d : fields) {
    const forms::FieldDef& f = *d.field;
    if (!parents.empty() && f.key == parents.back()->item_id) continue;
    if (f.type == forms::FieldType::kRepeat) {
      Lists inner;
      for (const auto& [fl, form] : lists) {
        for (const forms::FieldDef& g : *fl) {
          if (g.key == f.key && g.type == forms::FieldType::kRepeat) inner.emplace_back(&g.fields, form);
        }
      }
      std::vector<std::string> p = path;
      p.push_back(f.key);
      std::vector<const forms::FieldDef*> par = parents;
      par.push_back(&f);
      add_table(out, inner, std::move(p), par, opt);
      continue;
    }
    if (f.is_value_field()) add_value_columns(out.tables[table_index], d, lists, opt);
  }
}

}  // namespace

std::vector<TableSpec> ExportLayout::specs() const {
  std::vector<TableSpec> out;
  for (const TableLayout& t : tables) {
    TableSpec s{t.name, {}};
    for (const Column& c : t.columns) s.columns.push_back(c.name);
    out.push_back(std::move(s));
  }
  return out;
}

Result<ExportLayout> build_layout(std::span<const forms::FormDef* const> versions, const LayoutOptions& options) {
  if (versions.empty()) return Status::invalid_argument("build_layout: no form versions");
  std::vector<const forms::FormDef*> sorted(versions.begin(), versions.end());
  for (const forms::FormDef* f : sorted) {
    if (f == nullptr) return Status::invalid_argument("build_layout: null form");
    if (f->form_id != sorted.front()->form_id) return Status::invalid_argument("build_layout: mixed form ids");
  }
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const forms::FormDef* a, const forms::FormDef* b) { return a->version > b->version; });
  Lists lists;
  for (const forms::FormDef* f : sorted) lists.emplace_back(&f->fields, f);
  ExportLayout out;
  out.form_id = sorted.front()->form_id;
  add_table(out, lists, {}, {}, options);
  return out;
}

}  // namespace akt::exports

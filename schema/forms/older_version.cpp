// Bringing an edit filled with an older form version onto the newer version of the record it was made
// on. Design notes:
//  1. An edit answers exactly the fields its own form version defines; everything else in the body it
//     stores comes from the version it was made on (its base), even when the edit carried a value back.
//  2. Levels match the validator's: top-level keys, then repeat items by their item id, recursively.
//  3. Nothing here validates: the caller checks the result against the base's (newer) version.
#include "schema/forms/older_version.hpp"

#include <nlohmann/json.hpp>

namespace akt::forms {
namespace {

using json = nlohmann::json;

const FieldDef* field_in(const std::vector<FieldDef>& fields, std::string_view key) {
  for (const FieldDef& f : fields)
    if (f.key == key) return &f;
  return nullptr;
}

// The item of `items` whose `id_key` is `id`, or nullptr.
const json* item_with_id(const json& items, const std::string& id_key, const json& id) {
  if (!items.is_array() || !id.is_string()) return nullptr;
  for (const json& it : items)
    if (it.is_object()) {
      auto f = it.find(id_key);
      if (f != it.end() && *f == id) return &it;
    }
  return nullptr;
}

// One level (the top, or one repeat item): see note 1. `base` may be null (no base item).
json carry_level(const std::vector<FieldDef>& fields, const json* base, const json& body) {
  json out = json::object();
  for (auto it = body.begin(); it != body.end(); ++it) {
    const FieldDef* f = field_in(fields, it.key());
    if (f == nullptr) continue;  // not the edit's answer: the base's, below
    if (f->type != FieldType::kRepeat || !it->is_array()) {
      out[it.key()] = *it;
      continue;
    }
    const json* base_items = nullptr;
    if (base != nullptr) {
      auto b = base->find(it.key());
      if (b != base->end()) base_items = &*b;
    }
    json items = json::array();
    for (const json& item : *it) {
      if (!item.is_object() || !item.contains(f->item_id)) {
        items.push_back(item);  // no usable id: left for the validator to report
        continue;
      }
      const json* base_item = base_items ? item_with_id(*base_items, f->item_id, item[f->item_id]) : nullptr;
      items.push_back(carry_level(f->fields, base_item, item));
    }
    out[it.key()] = std::move(items);
  }
  if (base != nullptr && base->is_object())
    for (auto it = base->begin(); it != base->end(); ++it)
      if (field_in(fields, it.key()) == nullptr) out[it.key()] = *it;
  return out;
}

}  // namespace

bool defines_path(const FormDef& form, std::string_view path) {
  const std::vector<FieldDef>* level = &form.fields;
  for (;;) {
    const std::size_t end = path.find_first_of("[.");
    const FieldDef* f = field_in(*level, path.substr(0, end));
    if (f == nullptr) return false;
    if (end == std::string_view::npos) return true;
    if (path[end] == '.') return false;  // only repeat items have fields below them
    const std::size_t close = path.find(']', end);
    if (close == std::string_view::npos || f->type != FieldType::kRepeat) return false;
    if (close + 1 == path.size()) return true;  // the item itself
    if (path[close + 1] != '.') return false;
    level = &f->fields;
    path = path.substr(close + 2);
  }
}

json carry_newer_answers(const FormDef& older, const json& base, const json& body) {
  if (!body.is_object() || !base.is_object()) return body;
  return carry_level(older.fields, &base, body);
}

std::vector<std::string> paths_defined(const FormDef& older, const std::vector<std::string>& changed) {
  std::vector<std::string> out;
  for (const std::string& p : changed)
    if (defines_path(older, p)) out.push_back(p);
  return out;
}

std::vector<FieldError> take_newer_fields(const std::vector<const FormDef*>& newer, std::vector<FieldError>& errors) {
  std::vector<FieldError> taken, kept;
  for (FieldError& e : errors) {
    bool pulled = false;
    if (e.code == "unknown_field")
      for (const FormDef* f : newer) pulled = pulled || defines_path(*f, e.path);
    (pulled ? taken : kept).push_back(std::move(e));
  }
  errors = std::move(kept);
  return taken;
}

}  // namespace akt::forms

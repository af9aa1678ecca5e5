// Finding the attachment references in a record body.
#include "sync/attachment_json.hpp"

#include <nlohmann/json.hpp>

namespace akt::sync {
namespace {

using json = nlohmann::json;
using Found = std::vector<std::pair<std::string, AttachmentRef>>;

const json* item_id_of(const json& item, const std::string* key) {
  if (key) {
    auto it = item.find(*key);
    return it != item.end() && it->is_string() ? &*it : nullptr;
  }
  if (auto it = item.find("item_id"); it != item.end() && it->is_string()) return &*it;
  for (auto it = item.begin(); it != item.end(); ++it) {
    const std::string& k = it.key();
    if (k.size() > 3 && k.compare(k.size() - 3, 3, "_id") == 0 && it->is_string()) return &*it;
  }
  return nullptr;
}

void scan(const json& obj, const std::string& prefix, Found& out, int depth,
          const std::map<std::string, std::string>* item_ids) {
  if (!obj.is_object() || depth > 8) return;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string path = prefix + it.key();
    const json& v = it.value();
    if (v.is_string()) {
      if (auto ref = parse_attachment_ref(v.get_ref<const std::string&>())) out.emplace_back(path, std::move(*ref));
    } else if (v.is_array()) {
      // A repeat group: items are objects named by their item_id (FORMS.md §4).
      const std::string* key = nullptr;
      if (depth == 0 && item_ids) {
        auto k = item_ids->find(it.key());
        if (k != item_ids->end()) key = &k->second;
      }
      for (const json& item : v) {
        if (!item.is_object()) continue;
        const json* id = item_id_of(item, key);
        if (!id) continue;
        scan(item, path + "[" + id->get<std::string>() + "].", out, depth + 1, nullptr);
      }
    }
  }
}

}  // namespace

std::vector<std::pair<std::string, AttachmentRef>> find_attachment_refs(
    std::string_view body, const std::map<std::string, std::string>* item_ids) {
  Found out;
  const json j = json::parse(body, nullptr, false);
  if (!j.is_discarded()) scan(j, "", out, 0, item_ids);
  return out;
}

}  // namespace akt::sync

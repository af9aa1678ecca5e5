// Role-based redaction of record bodies. Pure; OpenSSL is used only for HMAC-SHA256.
#include "schema/export/redact.hpp"
#include "sync/hex.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace akt::exports {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// forms.md §0.2 Q: "exported only generalised". The rules that exist; anything else is pseudonymised.
Treatment generalise_q(const forms::FieldDef& f) {
  if (f.key == "settlement_name") return Treatment::kRemove;  // forms.md §E.2: dropped from datasets
  if (f.type == forms::FieldType::kGeopoint || f.type == forms::FieldType::kPhoto) return Treatment::kRemove;
  if (ends_with(f.key, "_age_years")) return Treatment::kAgeBand;
  if (ends_with(f.key, "_age_band")) return Treatment::kKeep;  // already the generalised form
  return Treatment::kPseudonymise;
}

std::string value_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get_ref<const std::string&>();
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool is_empty_answer(const nlohmann::json& v) {
  return (v.is_string() && v.get_ref<const std::string&>().empty()) || (v.is_array() && v.empty());
}

using FieldLists = std::vector<const std::vector<forms::FieldDef>*>;

void redact_object(std::string_view form_id, const FieldLists& lists, nlohmann::json& obj, sync::Role role,
                   std::string_view key, bool grant) {
  if (!obj.is_object()) return;
  const bool has_key = !key.empty();
  std::vector<std::string> to_remove;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    // The strictest treatment among the versions that define this key; item fields of a repeat.
    const forms::FieldDef* def = nullptr;
    Treatment t = Treatment::kKeep;
    FieldLists inner;
    for (const std::vector<forms::FieldDef>* fields : lists) {
      for (const forms::FieldDef& f : *fields) {
        if (f.key != it.key()) continue;
        t = def == nullptr ? treatment_for(f, role, has_key, grant) : stricter(t, treatment_for(f, role, has_key, grant));
        def = &f;
        if (f.type == forms::FieldType::kRepeat) inner.push_back(&f.fields);
      }
    }
    if (def == nullptr) {
      if (role == sync::Role::kMeOfficer) to_remove.push_back(it.key());
      continue;
    }
    nlohmann::json& v = it.value();
    if (!inner.empty()) {
      if (v.is_array()) {
        for (nlohmann::json& item : v) redact_object(form_id, inner, item, role, key, grant);
      }
      continue;
    }
    if (v.is_null() || is_empty_answer(v)) continue;
    switch (t) {
      case Treatment::kKeep:
        break;
      case Treatment::kRemove:
        to_remove.push_back(it.key());
        break;
      case Treatment::kPseudonymise:
        v = pseudonym(key, form_id, def->key, value_text(v));
        break;
      case Treatment::kAgeBand:
        // Ages outside 0..150 (or not numbers) are no age we can band: withhold them.
        const double years = v.is_number() ? v.get<double>() : -1;
        if (std::string band = years >= 0 && years <= 150 ? age_band_of(static_cast<long long>(years)) : "";
            !band.empty()) {
          v = std::move(band);
        } else {
          to_remove.push_back(it.key());
        }
        break;
    }
  }
  for (const std::string& k : to_remove) obj.erase(k);
}

}  // namespace

Treatment treatment_for(const forms::FieldDef& field, sync::Role role, bool has_key, bool special_category) {
  if (role != sync::Role::kMeOfficer) return Treatment::kKeep;
  Treatment t = Treatment::kKeep;
  switch (field.sensitivity) {
    case forms::Sensitivity::kD:
      t = Treatment::kRemove;
      break;
    case forms::Sensitivity::kS:
    case forms::Sensitivity::kSStar:
      t = special_category ? Treatment::kKeep : Treatment::kPseudonymise;
      break;
    case forms::Sensitivity::kQ:
      t = generalise_q(field);
      break;
    case forms::Sensitivity::kSAgg:
    case forms::Sensitivity::kP:
    case forms::Sensitivity::kC:
    case forms::Sensitivity::kNone:
      t = Treatment::kKeep;
      break;
  }
  if (t == Treatment::kPseudonymise && !has_key) t = Treatment::kRemove;
  return t;
}

Treatment stricter(Treatment a, Treatment b) {
  auto rank = [](Treatment t) {
    switch (t) {
      case Treatment::kKeep: return 0;
      case Treatment::kAgeBand: return 1;
      case Treatment::kPseudonymise: return 2;
      case Treatment::kRemove: return 3;
    }
    return 3;
  };
  return rank(a) >= rank(b) ? a : b;
}

void redact_body(const forms::FormDef& form, nlohmann::json& body, sync::Role role, std::string_view pseudonym_key,
                 std::string_view record_id, bool special_category) {
  const forms::FormDef* one[] = {&form};
  redact_body(one, body, role, pseudonym_key, record_id, special_category);
}

void redact_body(std::span<const forms::FormDef* const> versions, nlohmann::json& body, sync::Role role,
                 std::string_view pseudonym_key, std::string_view /*record_id*/, bool special_category) {
  if (role != sync::Role::kMeOfficer || versions.empty()) return;
  FieldLists lists;
  std::string_view form_id;
  for (const forms::FormDef* f : versions) {
    if (f == nullptr) continue;
    lists.push_back(&f->fields);
    form_id = f->form_id;
  }
  if (lists.empty()) return;
  redact_object(form_id, lists, body, role, pseudonym_key, special_category);
}

bool path_visible(std::span<const forms::FormDef* const> versions, std::string_view path, sync::Role role,
                  bool has_key, bool special_category) {
  if (role != sync::Role::kMeOfficer) return true;
  FieldLists lists;
  for (const forms::FormDef* f : versions)
    if (f != nullptr) lists.push_back(&f->fields);
  // One segment per level: `key` or `key[item id]`; an item id may hold '.', so the bracket is skipped whole.
  std::size_t at = 0;
  while (!lists.empty()) {
    std::size_t end = at;
    while (end < path.size() && path[end] != '.' && path[end] != '[') ++end;
    const std::string_view key = path.substr(at, end - at);
    if (end < path.size() && path[end] == '[') {
      const std::size_t close = path.find(']', end);
      if (close == std::string_view::npos) return false;
      end = close + 1;
    }
    bool defined = false;
    Treatment t = Treatment::kKeep;
    FieldLists inner;
    for (const std::vector<forms::FieldDef>* fields : lists) {
      for (const forms::FieldDef& f : *fields) {
        if (f.key != key) continue;
        t = defined ? stricter(t, treatment_for(f, role, has_key, special_category))
                    : treatment_for(f, role, has_key, special_category);
        defined = true;
        if (f.type == forms::FieldType::kRepeat) inner.push_back(&f.fields);
      }
    }
    // A repeat is judged by its items' fields, as redact_object does.
    if (!defined || (inner.empty() && t == Treatment::kRemove)) return false;
    if (end >= path.size()) return true;
    if (path[end] != '.') return false;
    at = end + 1;
    lists = std::move(inner);
  }
  return false;  // a path below a field that has no items
}

std::string redact_scope_community(std::string_view community, sync::Role role, std::string_view pseudonym_key,
                                   bool special_category) {
  if (role != sync::Role::kMeOfficer || special_category || community.empty()) return std::string(community);
  if (pseudonym_key.empty()) return {};
  return pseudonym(pseudonym_key, "", "scope.community", community);
}

std::string pseudonym(std::string_view key, std::string_view form_id, std::string_view field_key,
                      std::string_view value_text) {
  std::string msg;
  msg.reserve(form_id.size() + field_key.size() + value_text.size() + 2);
  msg.append(form_id).push_back('\x1f');
  msg.append(field_key).push_back('\x1f');
  msg.append(value_text);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int len = 0;
  static const char kNoKey = 0;  // HMAC wants a non-null pointer even for an empty key
  HMAC(EVP_sha256(), key.empty() ? &kNoKey : key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(msg.data()),
       msg.size(), mac.data(), &len);
  std::string out = "ps_";
  sync::append_hex(out, mac.data(), std::min<std::size_t>(8, len));
  return out;
}

std::string age_band_of(long long years) {
  if (years < 18) return "";
  if (years <= 24) return "18_24";
  if (years <= 29) return "25_29";
  if (years <= 35) return "30_35";
  if (years <= 44) return "36_44";
  if (years <= 54) return "45_54";
  if (years <= 64) return "55_64";
  return "65_plus";
}

}  // namespace akt::exports

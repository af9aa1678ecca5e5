// A create's `changed` is its body's keys: one shallow scan of the body gives them back, so the list need
// not be stored twice (about 1 KB of field names beside a 2.1 KB survey body).
#include "sync/stored_changed.hpp"

#include "sync/json_scan.hpp"
#include "sync/wire_json.hpp"

namespace akt::sync {

std::string body_keys_text(std::string_view body) {
  std::string out;
  append_body_keys(out, body);
  return out;
}

void append_body_keys(std::string& out, std::string_view body) {
  if (!append_top_keys(out, body)) out += "[]";
}

std::string stored_changed(const Edit& edit, std::string changed_text) {
  if (edit.deleted || !edit.context.empty()) return changed_text;
  if (changed_text != body_keys_text(edit.body)) return changed_text;
  return std::string(kBodyKeysChanged);
}

std::string changed_text(std::string_view stored, std::string_view body) {
  if (stored == kBodyKeysChanged) return body_keys_text(body);
  return std::string(stored);
}

Result<std::vector<std::string>> decode_changed(std::string_view stored, std::string_view body) {
  if (stored == kBodyKeysChanged) return decode_strings(body_keys_text(body));
  return decode_strings(stored);
}

}  // namespace akt::sync

// A record's scope follows from its body (DESIGN §6): the scope fields of a form are its top-level
// fields named `municipality`, `community` and `component`; an edit whose body gives one of them a value
// other than the scope the edit carries is refused (PROTOCOL §4.4 `scope_mismatch`).
#include <nlohmann/json.hpp>

#include "server/handlers/handlers.hpp"

namespace akt::server {

std::optional<sync::EditRejection> check_scope_fields(const forms::FormDef& form, const sync::Edit& e) {
  if (e.deleted) return std::nullopt;  // a tombstone carries no answers
  const auto body = nlohmann::json::parse(e.body, nullptr, false);
  if (!body.is_object()) return std::nullopt;  // validation reports it
  const std::pair<const char*, const std::string*> members[] = {
      {"municipality", &e.scope.municipality}, {"community", &e.scope.community}, {"component", &e.scope.component}};
  nlohmann::json fields = nlohmann::json::array();
  std::string what;
  for (const auto& [key, scope_value] : members) {
    if (form.find(key) == nullptr) continue;
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) continue;  // absent: the form's `required` decides
    if (it->is_string() && it->get_ref<const std::string&>() == *scope_value) continue;
    const std::string shown = it->is_string() ? it->get<std::string>() : it->dump();
    fields.push_back({{"path", key},
                      {"code", "scope_mismatch"},
                      {"message", std::string(key) + " is '" + shown.substr(0, 128) + "' but the edit's scope says '" +
                                      scope_value->substr(0, 128) + "'"}});
    what += (what.empty() ? "" : ", ") + std::string(key);
  }
  if (fields.empty()) return std::nullopt;
  return sync::EditRejection{"scope_mismatch",
                             "the body's " + what + " differ(s) from the scope the edit carries; nothing was stored",
                             fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

}  // namespace akt::server

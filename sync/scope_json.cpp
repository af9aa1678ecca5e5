// The scope members a record body states. The one definition of "scope fields", used when a record's
// scope is derived after a change (schema/store/record_scope.cpp) and when a server-side edit (a
// resolution, a review) is given the scope of the body it writes.
#include "sync/scope_json.hpp"

#include <nlohmann/json.hpp>

namespace akt::sync {

Scope scope_of_body(const nlohmann::json& body, Scope scope) {
  if (!body.is_object()) return scope;
  const std::pair<const char*, std::string*> members[] = {
      {"municipality", &scope.municipality}, {"community", &scope.community}, {"component", &scope.component}};
  for (const auto& [key, member] : members) {
    auto it = body.find(key);
    if (it != body.end() && it->is_string()) *member = it->get<std::string>();
  }
  return scope;
}

Scope scope_of_body_text(std::string_view body_json, Scope scope) {
  return scope_of_body(nlohmann::json::parse(body_json, nullptr, false), std::move(scope));
}

}  // namespace akt::sync

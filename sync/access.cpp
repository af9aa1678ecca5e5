#include "sync/access.hpp"

namespace akt::sync {

const char* to_string(Role r) {
  switch (r) {
    case Role::kEnumerator: return "enumerator";
    case Role::kSupervisor: return "supervisor";
    case Role::kMeOfficer: return "me_officer";
    case Role::kAdmin: return "admin";
  }
  return "enumerator";
}

std::optional<Role> role_from_string(std::string_view s) {
  for (Role r : {Role::kEnumerator, Role::kSupervisor, Role::kMeOfficer, Role::kAdmin})
    if (s == to_string(r)) return r;
  return std::nullopt;
}

namespace {
bool matches(const std::string& pattern, const std::string& value) { return pattern == "*" || pattern == value; }
}  // namespace

bool in_scope(const std::vector<Assignment>& assignments, const Scope& scope, const std::string& form_id) {
  for (const Assignment& a : assignments) {
    if (matches(a.municipality, scope.municipality) && matches(a.community, scope.community) &&
        matches(a.component, scope.component) && matches(a.form_id, form_id))
      return true;
  }
  return false;
}

}  // namespace akt::sync

// Roles and scopes (DESIGN §6) as pure values: who may push or pull which record. No I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sync/record.hpp"

namespace akt::sync {

enum class Role { kEnumerator, kSupervisor, kMeOfficer, kAdmin };

const char* to_string(Role r);
std::optional<Role> role_from_string(std::string_view s);

// One assignment: municipality x community x component x form. "*" matches anything.
struct Assignment {
  std::string municipality = "*";
  std::string community = "*";
  std::string component = "*";
  std::string form_id = "*";
  friend bool operator==(const Assignment&, const Assignment&) = default;
};

// True when some assignment covers the record's scope and form.
bool in_scope(const std::vector<Assignment>& assignments, const Scope& scope, const std::string& form_id);

// Roles that read every record whatever their assignments (M&E officers and admins).
inline bool reads_everything(Role r) { return r == Role::kMeOfficer || r == Role::kAdmin; }

}  // namespace akt::sync

// The scope a record's body states (DESIGN §6, PROTOCOL §4.4): a form's top-level fields named
// `municipality`, `community` and `component` are its scope fields. Pure; no I/O.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string_view>

#include "sync/record.hpp"

namespace akt::sync {

// `scope` with each member that `body` holds as a top-level string field of the same name replaced by
// that string. Members the body lacks (or holds as another type) stay as given; so does everything when
// `body` is not an object (a tombstone's empty body changes nothing).
Scope scope_of_body(const nlohmann::json& body, Scope scope);
// The same for a body as JSON text; text that does not parse changes nothing.
Scope scope_of_body_text(std::string_view body_json, Scope scope);

}  // namespace akt::sync

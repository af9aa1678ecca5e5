// Edits filled with an older version of a form on a record that a newer version wrote (docs/PROTOCOL.md
// §4.4, FORMS.md §5.1). Pure; never throws. Field teams never upgrade every tablet on one day: a tablet on
// v1 still edits records an M&E officer or a newer tablet filled with v2, and must neither be refused
// for the v2 answers it pulled nor blank them by leaving them out.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "schema/forms/form_def.hpp"
#include "schema/forms/validator.hpp"

namespace akt::forms {

// True when `form` defines the answer at `path`: "key", "group[item id].key", nested items alike
// ("hh[h1].member[m1].age"). A path into a field that is not a repeat is not defined.
bool defines_path(const FormDef& form, std::string_view path);

// The body to store for an edit filled with `older` and made on `base` (the body of the version its
// context names, filled with a newer version): the edit's answers for every field `older` defines, and
// from `base` every other answer, whether the edit carried it back unchanged or left it out. Inside
// repeat items the same holds item by item (matched by item id; an item the base does not have takes
// nothing from it). `body` and `base` must be JSON objects (otherwise `body` is returned unchanged).
nlohmann::json carry_newer_answers(const FormDef& older, const nlohmann::json& base, const nlohmann::json& body);

// The paths of `changed` that `older` defines: an edit cannot have set an answer its form version
// does not have (the value of such a path is the base's, see carry_newer_answers).
std::vector<std::string> paths_defined(const FormDef& older, const std::vector<std::string>& changed);

// Of the problems validate_record found in a body filled with `older`, the unknown_field errors whose
// path one of `newer` (later versions of the same form) defines: answers pulled from a newer version,
// which are not the edit's own. Removes them from `errors` and returns them.
std::vector<FieldError> take_newer_fields(const std::vector<const FormDef*>& newer, std::vector<FieldError>& errors);

}  // namespace akt::forms

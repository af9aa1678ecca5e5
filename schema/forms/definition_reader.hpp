// First pass of parse_form: JSON document -> FormDef fields, without cross-field checks.
// Internal to akt_forms; pure; never throws.
#pragma once

#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "schema/forms/form_def.hpp"
#include "schema/forms/form_parser.hpp"

namespace akt::forms {

// Reads `doc` into `form` (prepending the common header if `options` ask for it) and appends every
// problem found to `errors` (at most 100). `form` is complete only if no error was added.
void read_definition(const nlohmann::json& doc, const ParseOptions& options, FormDef& form,
                     std::vector<DefinitionError>& errors);

}  // namespace akt::forms

// Second pass of parse_form: cross-field checks on a structurally valid FormDef. Internal to akt_forms.
#pragma once

#include <vector>

#include "schema/forms/form_def.hpp"
#include "schema/forms/form_parser.hpp"

namespace akt::forms {

// Checks key uniqueness, resolves choice lists (copying used shared lists into form.choice_lists),
// checks `exclusive` codes and repeat item ids, resolves every ${key} reference, and computes each
// level's evaluation order, reporting reference cycles. Appends problems to `errors`.
void link_form(FormDef& form, const ChoiceLists& shared, std::vector<DefinitionError>& errors);

}  // namespace akt::forms

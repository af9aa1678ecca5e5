// The optional second header row of an export: each column's question label in one language
// (docs/EXPORTS.md §2.1). Pure.
#pragma once

#include <string>
#include <vector>

#include "schema/export/layout.hpp"
#include "schema/forms/messages.hpp"

namespace akt::exports {

// One label per column of `table`, in `lang` (English where a text has no translation, the column name
// where there is no text at all): the question's label; "<question>: <choice>" for a 0/1 choice column;
// "<question> (latitude)" etc. for a geopoint's parts; "<repeat> (id)" for an enclosing item's id; the
// metadata columns' own names in that language.
std::vector<std::string> column_labels(const TableLayout& table, forms::Lang lang);

}  // namespace akt::exports

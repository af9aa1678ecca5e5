// Pre-parse guard for untrusted JSON text: nesting depth. Internal to akt_forms; pure.
#pragma once

#include <string_view>

namespace akt::forms {

// False if arrays/objects in `text` nest deeper than `max_depth`. Skips strings and escapes
// correctly; all other syntax is left to the real parser.
bool json_depth_within(std::string_view text, int max_depth);

}  // namespace akt::forms

// Edits filled with an older form version than the stored version they were made on (PROTOCOL §4.4).
// Part of the push engine: runs over the push port inside the writer's transaction.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "schema/store/push_engine.hpp"

namespace akt::store {

// For an edit about to be stored (applied, concurrent or superseded) whose form version may be older
// than its base's (the stored version whose clock is the edit's context; else the single live version
// it retires): fills `adapted` with the edit to store instead (the base's answers its version does not
// define carried over, its form version the base's; see FormRules::adapt_older), or `rejection` when
// it must be refused. `deferred` is a precheck rejection that stands unless the base is of a later
// form version. Leaves both empty when the edit is stored as sent. When the base's version refuses the
// edit, `checked_version` (if given) is set to that version.
Status adapt_older_edit(PushPort& port, const PushInput& in, const FormRules& rules, const sync::Edit& edit,
                        const std::vector<sync::Dot>& retired, const sync::EditRejection* deferred,
                        std::optional<sync::Edit>& adapted, std::optional<sync::EditRejection>& rejection,
                        std::int64_t* checked_version = nullptr);

}  // namespace akt::store

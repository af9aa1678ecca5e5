// Edits filled with an older form version than the stored version they were made on (PROTOCOL §4.4).
// Internal to akt_store; runs inside the writer's transaction.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "schema/store/db.hpp"
#include "schema/store/server_store.hpp"

namespace akt::store {

// For an edit about to be stored (applied, concurrent or superseded) whose form version may be older
// than its base's (the stored version whose clock is the edit's context; else the single live version
// it retires): fills `adapted` with the edit to store instead (the base's answers its version does not
// define carried over, its form version the base's; see PushInput::adapt_older), or `rejection` when
// it must be refused. `deferred` is a precheck rejection that stands unless the base is of a later
// form version. Leaves both empty when the edit is stored as sent.
Status adapt_older_edit(Db& db, const PushInput& in, const std::string& id_blob, const sync::Edit& edit,
                        const std::vector<sync::Dot>& retired, const sync::EditRejection* deferred,
                        std::optional<sync::Edit>& adapted, std::optional<sync::EditRejection>& rejection);

}  // namespace akt::store

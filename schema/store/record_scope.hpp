// A record's scope follows from its live body (DESIGN §6): after every stored change of a record (an
// edit, a merge, a held change), the scope is derived again from the body the record now has. Part of
// the push engine: runs over the push port inside the writer's transaction.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "schema/store/push_port.hpp"

namespace akt::store {

// The scope a merge gives the record (PROTOCOL §4.4), decided per member from the scopes its sides
// carried (`sides`: the live siblings' stored scopes, ordered by dot) and the scope of their lowest common
// ancestor (nullopt when they have none):
//  - every side holds one value: that value;
//  - the sides that changed the member from the ancestor all hold one value: that value, whatever the
//    sides that kept it (a move is never undone by a concurrent edit from the old scope, in either
//    arrival order);
//  - sides changed it to different values (a true conflict): the ancestor's value, where both sides last
//    agreed the record was;
//  - no ancestor and the sides differ: the first side's (the smallest dot).
// The merged body's scope fields then override what this gives (sync::scope_of_body_text): body wins.
// REQUIRES: !sides.empty(). Pure; the same inputs give the same scope on every engine and in any order
// of arrival.
sync::Scope merge_scope(const std::vector<sync::Scope>& sides, const std::optional<sync::Scope>& ancestor);

// When the record has one live, non-deleted version, the record's scope takes the scope fields its body
// holds (sync::scope_of_body_text; parts the body lacks stay as the change left them: an applied edit's
// scope, or the scope merge_record decided with merge_scope). Then the scope the record has
// now is remembered (so feeds send out-of-scope markers to the devices it leaves later; only scopes a
// record had when its change committed are remembered, never the scope an edit merely carried, e.g. a
// held move) and the record's open inbox entries follow its municipality.
// REQUIRES: called after every change of the record row (push engine). Nothing happens for an unknown
// record. Fails only on a port error.
Status derive_record_scope(PushPort& port, const std::string& record_id);

}  // namespace akt::store

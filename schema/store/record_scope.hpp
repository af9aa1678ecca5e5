// A record's scope follows from its live body (DESIGN §6): after every stored change of a record (an
// edit, a merge, a held change), the scope is derived again from the body the record now has. Part of
// the push engine: runs over the push port inside the writer's transaction.
#pragma once

#include <string>

#include "schema/store/push_port.hpp"

namespace akt::store {

// When the record has one live, non-deleted version, the record's scope takes the scope fields its body
// holds (sync::scope_of_body_text; parts the body lacks stay as they are). Then the scope the record has
// now is remembered (so feeds send out-of-scope markers to the devices it leaves later; only scopes a
// record had when its change committed are remembered, never the scope an edit merely carried, e.g. a
// held move) and the record's open inbox entries follow its municipality.
// REQUIRES: called after every change of the record row (push engine). Nothing happens for an unknown
// record. Fails only on a port error.
Status derive_record_scope(PushPort& port, const std::string& record_id);

}  // namespace akt::store

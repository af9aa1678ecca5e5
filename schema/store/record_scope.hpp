// A record's scope follows from its live body (DESIGN §6): after every stored change of a record (an
// edit, a merge, a held change), the scope columns are derived again from the body the record now has.
// Internal to akt_store; the writer's connection only.
#pragma once

#include <string>

#include "schema/store/db.hpp"

namespace akt::store {

// When the record `id_blob` has one live, non-deleted version whose body holds a top-level string
// `municipality`, `community` or `component` (a form's scope fields, PROTOCOL §4.4), the record's scope
// takes those values (parts the body lacks stay as they are). When that moves the record: the new scope
// is remembered in record_scopes (so feeds send out-of-scope markers to devices it left) and the record's
// open inbox entries follow its municipality. Nothing happens for a tombstone or a record with several
// live versions. Fails only on a database error.
Status derive_record_scope(Db& db, const std::string& id_blob);

}  // namespace akt::store

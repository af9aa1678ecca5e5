// A record's scope follows from its live body (DESIGN §6): after every stored change of a record (an
// edit, a merge, a held change), the scope columns are derived again from the body the record now has.
// Internal to akt_store; the writer's connection only.
#pragma once

#include <string>

#include "schema/store/db.hpp"
#include "sync/record.hpp"

namespace akt::store {

// When the record `id_blob` has one live, non-deleted version, the record's scope takes the scope fields
// its body holds (sync::scope_of_body_text; parts the body lacks stay as they are). Then the scope the record
// has now is remembered in record_scopes (so feeds send out-of-scope markers to the devices it leaves
// later; only scopes a record had when its change committed are remembered, never the scope an edit
// merely carried, e.g. a held move) and the record's open inbox entries follow its municipality.
// REQUIRES: called after every change of the records row (push_apply), inside the writer's transaction.
// Nothing happens for an unknown record. Fails only on a database error.
Status derive_record_scope(Db& db, const std::string& id_blob);

// Remembers `scope` as a scope the record has had (record_scopes). For a new record stored as sent whose
// body names no other scope, this is all derive_record_scope would do (push_apply skips the rest).
Status remember_record_scope(Db& db, const std::string& id_blob, const sync::Scope& scope);

}  // namespace akt::store

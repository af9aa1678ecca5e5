// Which inbox entries one edit of a push opened or extended, for the push answer (PROTOCOL §4.2).
// Internal to akt_store; the writer's connection only. Every code path that opens an entry or adds a
// candidate is seen, whichever file writes it: temporary triggers note the entry ids as they change.
#pragma once

#include <cstdint>
#include <vector>

#include "schema/store/db.hpp"

namespace akt::store {

// Makes sure the triggers exist on `db` (temporary objects, so nothing is stored in the database file)
// and forgets every id noted so far. Call inside the write transaction, before the batch's first edit.
Status start_entry_trace(Db& db);

// The ids of the entries opened or given new candidates since the last call (or start_entry_trace),
// ascending, and forgets them.
Result<std::vector<std::int64_t>> take_traced_entries(Db& db);

}  // namespace akt::store

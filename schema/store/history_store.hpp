// A record's stored versions, oldest first: its history for GET /v1/records/{id}/history (PROTOCOL §6.1).
// Functions over a Db inside the caller's read transaction (ServerStore::read).
#pragma once

#include <string>
#include <optional>
#include <vector>

#include "schema/store/db.hpp"
#include "schema/store/store_types.hpp"
#include "sync/record.hpp"

namespace akt::store {


// Every version of the record `record_id` (a canonical UUID) in the order the server stored them;
// empty when there is none. kCorruption for an unreadable stored clock or list.
Result<std::vector<HistoryVersion>> record_history(Db& db, const std::string& record_id);

// The body and form version of the record's stored version whose clock is `clock` (the last such row
// in storage order); nullopt when none. Unreadable stored clocks are skipped.
Result<std::optional<StoredBody>> version_with_clock(Db& db, const std::string& record_id,
                                                     const sync::VectorClock& clock);

// The largest counter of `actor`'s dots on any record and on `record_id` (0 = none).
Result<ActorCounters> actor_counters(Db& db, const std::string& actor, const std::string& record_id);

}  // namespace akt::store

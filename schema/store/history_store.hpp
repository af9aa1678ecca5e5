// A record's stored versions, oldest first: its history for GET /v1/records/{id}/history (PROTOCOL §6.1).
// Functions over a Db inside the caller's read transaction (ServerStore::read).
#pragma once

#include <string>
#include <vector>

#include "schema/store/db.hpp"
#include "sync/record.hpp"

namespace akt::store {

struct HistoryVersion {
  sync::Version version;
  bool live = false;  // not dominated by another version: the record's current state
};

// Every version of the record `record_id` (a canonical UUID) in the order the server stored them;
// empty when there is none. kCorruption for an unreadable stored clock or list.
Result<std::vector<HistoryVersion>> record_history(Db& db, const std::string& record_id);

}  // namespace akt::store

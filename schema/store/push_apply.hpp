// SQLite helpers the store's files share: UUIDs as 16-byte blobs, quarantine rows. The push itself is
// the push engine (push_engine.hpp) over the SQLite push port (sqlite_push_port.hpp). Internal to akt_store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "schema/store/attachment_index.hpp"
#include "schema/store/db.hpp"
#include "schema/store/push_engine.hpp"
#include "schema/store/server_store.hpp"

namespace akt::store {

// 16-byte blob of a canonical UUID string. REQUIRES: `uuid` is a valid UUID.
std::string uuid_blob(const std::string& uuid);
std::string blob_uuid(std::string_view blob);

// The columns of a quarantine row, in the order read_quarantine_row expects.
inline constexpr const char* kQuarantineColumns =
    "id, device, batch_id, record_id, actor, n, code, detail, edit, received_at, fields, COALESCE(released_at, 0), COALESCE(discarded_at, 0), args";
QuarantineEntry read_quarantine_row(Stmt& s);

}  // namespace akt::store

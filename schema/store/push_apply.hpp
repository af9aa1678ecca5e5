// Applying one push batch inside an open write transaction (DESIGN §3). Internal to akt_store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "schema/store/attachment_index.hpp"
#include "schema/store/db.hpp"
#include "schema/store/server_store.hpp"

namespace akt::store {

// SHA-256 of `data` as 32 raw bytes.
std::string sha256(std::string_view data);
// 16-byte blob of a canonical UUID string. REQUIRES: `uuid` is a valid UUID.
std::string uuid_blob(const std::string& uuid);
std::string blob_uuid(std::string_view blob);

// The columns of a quarantine row, in the order read_quarantine_row expects.
inline constexpr const char* kQuarantineColumns =
    "id, device, batch_id, record_id, actor, n, code, detail, edit, received_at, fields, COALESCE(released_at, 0), COALESCE(discarded_at, 0)";
QuarantineEntry read_quarantine_row(Stmt& s);

// The per-edit work that needs no database: done on the pushing caller's thread before the batch joins
// a group, so that the serial group-commit leader only reads and writes (server_store.cpp note 5).
struct PreparedEdit {
  std::string digest;   // SHA-256 of sync::edit_fingerprint(edit)
  std::string clock;    // sync::encode_clock(edit.clock())
  std::string changed;  // sync::encode_strings(edit.changed)
  // True unless the body is known to name no scope (municipality, community, component) other than the
  // edit's own: then a new record's scope needs no deriving from its body.
  bool body_may_move_scope = true;
  // When attachments are tracked (PushInput::blob_exists) for a device edit that is no tombstone: the
  // references in its body as sent.
  std::optional<AttachmentRefs> refs;
};
struct PreparedBatch {
  std::string digest;  // of the batch id and every edit's digest
  std::vector<PreparedEdit> edits;
};
PreparedBatch prepare_batch(const PushInput& in);

// Applies every edit of `in` using `db` (a write transaction must be open) and stores the answer.
// `prepared` is prepare_batch(in). `next_seq` is the next free feed sequence number; it
// advances for every record changed. Returns the answer, a stored answer for a replay, kConflict for a
// reused batch id, or the SQLite error that stopped it (the caller rolls the batch back then).
Result<PushOutput> apply_batch(Db& db, const PushInput& in, const PreparedBatch& prepared, const std::string& epoch,
                               const std::string& server_actor, std::int64_t& next_seq);

}  // namespace akt::store

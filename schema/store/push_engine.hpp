// The push engine (DESIGN §3, §4), written once over the push port (push_port.hpp): per edit the
// decision, the merge, held changes, uniqueness keys, inbox entries and the record's scope; per batch the
// stored answer. Engine-neutral: no SQL, no connection. Runs inside the caller's write transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "schema/store/form_rules.hpp"
#include "schema/store/push_port.hpp"
#include "schema/store/server_store.hpp"

namespace akt::store {

// SHA-256 of `data` as 32 raw bytes.
std::string sha256(std::string_view data);

// The per-edit work that needs no database: done on the pushing caller's thread before the batch joins
// a group, so that the serial group-commit leader only reads and writes (server_store.cpp note 5).
struct PreparedEdit {
  std::string digest;   // SHA-256 of sync::edit_fingerprint(edit)
  std::string clock;    // sync::encode_clock(edit.clock())
  std::string changed;  // the edit's list as stored: sync::stored_changed(edit, encode_strings(edit.changed))
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
PreparedBatch prepare_batch(const PushInput& in, const FormRules& rules);

// What the engine needs besides the batch: the store's identity and its form rules.
struct PushContext {
  const std::string& epoch;
  const std::string& server_actor;  // the dot actor of every merged or held version
  const FormRules& rules;
};

// Applies every edit of `in` through `port` and stores the answer. `prepared` is prepare_batch(in).
// `next_seq` is the next free feed sequence number; it advances for every record changed. Returns the
// answer, a stored answer for a replay, kConflict for a reused batch id, or the port's error that
// stopped it (the caller rolls the batch back then).
Result<PushOutput> apply_batch(PushPort& port, const PushInput& in, const PreparedBatch& prepared,
                               const PushContext& ctx, std::int64_t& next_seq);

}  // namespace akt::store

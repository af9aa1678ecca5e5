// The push engine's port (issue #20, docs/STORE.md "The push port"): the narrow set of reads and writes
// that the push engine (push_engine.cpp, merge_apply.cpp, record_scope.cpp, older_form_apply.cpp) needs
// inside one write transaction, in domain types only. No SQL, no connection, no row ids: each engine
// implements it (SqlitePushPort over the writer's connection; MemoryPushPort for unit tests; PostgreSQL).
//
// Contract for every implementation:
//  1. Every call runs inside the caller's open write transaction; the port never begins, commits or
//     rolls back. A non-OK Status (kBusy/kIOError/kCorruption) makes the caller roll the batch back.
//  2. Reads see every write made earlier through the same port (read-your-writes within the batch).
//  3. lock_record / lock_key are called before the engine reads what it will decide on; an engine with
//     concurrent writers takes row (or advisory) locks there, held to the end of the transaction. An
//     engine with one writer (SQLite: BEGIN IMMEDIATE) does nothing.
//  4. Record ids and actors are canonical UUID strings; clocks, dots, versions are sync:: types; inbox
//     candidates, ancestors, details and resolutions are the JSON texts the inbox stores and shows.
//  5. Feed sequence numbers are chosen by the engine (the caller's next_seq) and only stored here.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sync/attachment_json.hpp"
#include "sync/inbox_kind.hpp"
#include "sync/merge.hpp"
#include "sync/record.hpp"
#include "sync/status.hpp"
#include "sync/vector_clock.hpp"

namespace akt::store {

struct QuarantineEntry;

// The attachment references of a body by field path (as attachment_index.hpp names them).
using AttachmentRefs = std::vector<std::pair<std::string, sync::AttachmentRef>>;

// A record row as the push engine reads it.
struct RecordHead {
  std::string form_id;
  std::int64_t form_version = 0;
  sync::Scope scope;
  std::int64_t seq = 0;         // its latest change-feed position
  std::int64_t live_count = 0;  // live versions
};

// A live version's identity, for the push decision (no body).
struct LiveHead {
  sync::Dot dot;
  sync::VectorClock clock;
  bool deleted = false;
};

// A stored version with its liveness and the scope it carried (the merge reads a record's whole history).
struct StoredVersion {
  sync::Version v;
  bool live = false;
  // The scope the version carried: a device edit's `scope` as pushed, a server version's the scope the
  // engine gave it (the record's scope after that change). Versions stored before the engine kept it
  // have the scope their record had then (SQLite migration 16, PostgreSQL migration 3).
  sync::Scope scope;
};

// A device edit stored as a version, with the scope the edit carried (`edit.scope`). `clock_text` / `changed_text`, when not null, are the edit's clock
// and changed list already encoded as stored (sync::encode_clock / sync::stored_changed): the port may use
// them instead of encoding again.
struct EditVersion {
  const sync::Edit& edit;
  const std::vector<sync::Dot>& parents;  // the live versions it retired
  bool live = false;
  std::int64_t server_time = 0;
  const std::string& digest;  // SHA-256 of sync::edit_fingerprint(edit), 32 bytes
  const std::string* clock_text = nullptr;
  const std::string* changed_text = nullptr;
};

// The row of an open inbox entry, as the engine reads it.
struct OpenEntry {
  sync::InboxKind kind = sync::InboxKind::kField;
  std::string path;
  std::string candidates_json;  // JSON array
};

// An open inbox entry to open (or to replace the open one of the same record, kind and path).
struct EntryWrite {
  std::string record_id;
  sync::InboxKind kind = sync::InboxKind::kField;
  std::string path;
  std::optional<std::string> ancestor_json;  // nullopt = absent
  std::string candidates_json;               // JSON array
  std::string form_id, municipality;
  std::int64_t now = 0;                      // opened_at for a new entry, updated_at always
  std::string detail_json = "{}";
};

// A record holding a uniqueness key (duplicate_candidate entries).
struct KeyHolder {
  std::string record_id;
  std::int64_t updated_at = 0;
};

class PushPort {
 public:
  virtual ~PushPort() = default;

  // --- Locks (contract 3). Called before the engine reads the record (or the key's holders).
  virtual Status lock_record(const std::string& record_id) = 0;
  virtual Status lock_key(const std::string& form_id, const std::string& key) = 0;

  // --- Batches and devices.
  // The digest and answer stored for (device, batch_id); nullopt when the batch is new.
  virtual Result<std::optional<std::pair<std::string, std::string>>> stored_batch(const std::string& device,
                                                                                  const std::string& batch_id) = 0;
  virtual Status store_batch(const std::string& device, const std::string& batch_id, const std::string& digest,
                             const std::string& response, std::int64_t now) = 0;
  // The device pushed at `now` (its devices row is made when missing).
  virtual Status note_push(const std::string& device, std::int64_t now) = 0;
  // Keeps a rejected edit (id, released_at and discarded_at of `q` are ignored).
  virtual Status insert_quarantine(const QuarantineEntry& q) = 0;

  // --- Records.
  virtual Result<std::optional<RecordHead>> read_record(const std::string& record_id) = 0;
  // Creates the record row of `e` (form, form version and scope from `e`; created_at = updated_at = now;
  // conflicted [], not deletion-pending; pending_upload as given), or updates an existing row's form
  // version, scope, seq, live count, deleted and updated_at (its pending_upload and flags stay).
  virtual Status write_record(const sync::Edit& e, std::int64_t seq, std::int64_t live_count, bool deleted,
                              std::int64_t now, const std::vector<std::string>& pending_upload) = 0;
  // Moves an existing record to `seq` with the given live count and deletion; its form version too when set.
  virtual Status advance_record(const std::string& record_id, std::int64_t seq, std::int64_t live_count, bool deleted,
                                std::optional<std::int64_t> form_version, std::int64_t now) = 0;
  virtual Status set_record_scope(const std::string& record_id, const sync::Scope& scope) = 0;
  // Remembers `scope` among the scopes the record has had (idempotent).
  virtual Status remember_scope(const std::string& record_id, const sync::Scope& scope) = 0;
  virtual Status set_record_flags(const std::string& record_id, const std::vector<std::string>& conflicted,
                                  bool deletion_pending) = 0;

  // --- Versions.
  // The digest of the stored version with dot `dot`; nullopt when none.
  virtual Result<std::optional<std::string>> dot_digest(const sync::Dot& dot) = 0;
  // The largest counter of `actor`'s stored versions (0 when none).
  virtual Result<std::int64_t> max_counter(const std::string& actor) = 0;
  virtual Status live_heads(const std::string& record_id, std::vector<LiveHead>& out) = 0;
  // The record's live versions, complete, in no particular order.
  virtual Status live_versions(const std::string& record_id, std::vector<sync::Version>& out) = 0;
  // Every stored version of the record with the scope it carried, in no particular order.
  virtual Status versions(const std::string& record_id, std::vector<StoredVersion>& out) = 0;
  // A version of the record whose clock equals `clock`; nullopt when none.
  virtual Result<std::optional<sync::Version>> version_with_clock(const std::string& record_id,
                                                                  const sync::VectorClock& clock) = 0;
  virtual Result<std::optional<sync::Version>> version_by_dot(const sync::Dot& dot) = 0;
  virtual Status insert_edit_version(const EditVersion& v) = 0;
  // A live version by the server replica (a merge or a held change) with the scope the engine gave it;
  // device_time is 0.
  virtual Status insert_server_version(const std::string& record_id, const sync::Version& v,
                                       const sync::Scope& scope, const std::string& digest) = 0;
  virtual Status retire_version(const sync::Dot& dot) = 0;
  // Every live version of the record stops being live.
  virtual Status retire_live(const std::string& record_id) = 0;
  // `actor` appears in a stored clock: it is never enrolled as a tablet (SECURITY.md §3.1). Idempotent.
  virtual Status note_clock_actor(const std::string& actor) = 0;

  // --- Inbox entries.
  virtual Status open_entries(const std::string& record_id, std::vector<OpenEntry>& out) = 0;
  // The candidates of the open entry (record, kind, path); nullopt when none is open.
  virtual Result<std::optional<std::string>> open_entry_candidates(const std::string& record_id,
                                                                   sync::InboxKind kind,
                                                                   const std::string& path) = 0;
  // Opens the entry, or updates the open one's candidates, ancestor, detail and updated_at.
  virtual Status put_open_entry(const EntryWrite& w) = 0;
  virtual Status set_open_entry_candidates(const std::string& record_id, sync::InboxKind kind,
                                           const std::string& path, const std::string& candidates_json,
                                           const std::optional<std::string>& ancestor_json, std::int64_t now) = 0;
  // Resolves the open entry (resolved_by "" = by agreement) with its final candidates.
  virtual Status close_open_entry(const std::string& record_id, sync::InboxKind kind, const std::string& path,
                                  const std::string& candidates_json, const std::string& resolution_json,
                                  std::int64_t now) = 0;
  // The record's open entries are listed under `municipality` from now on.
  virtual Status move_open_entries(const std::string& record_id, const std::string& municipality) = 0;
  // Entry tracing: forget what was noted; then take the ids of the entries opened, or whose candidates
  // changed while open, since the last call (ascending, unique).
  virtual Status start_entry_trace() = 0;
  virtual Result<std::vector<std::int64_t>> take_touched_entries() = 0;

  // --- Uniqueness keys (conflicts.md scenario 7).
  virtual Result<std::optional<std::string>> record_key(const std::string& record_id) = 0;
  virtual Status put_record_key(const std::string& record_id, const std::string& form_id, const std::string& key) = 0;
  virtual Status delete_record_key(const std::string& record_id) = 0;
  // The non-deleted records of `form_id` holding `key`, ordered by record id, at most `limit`.
  virtual Result<std::vector<KeyHolder>> key_holders(const std::string& form_id, const std::string& key,
                                                     std::size_t limit) = 0;

  // --- Attachments (PROTOCOL §14.5).
  virtual Status note_attachment_refs(const std::string& record_id, const std::string& actor,
                                      const AttachmentRefs& refs) = 0;
  // The record's list of attachment paths whose file the server lacks (computed by the engine).
  virtual Status set_pending_upload(const std::string& record_id, const std::vector<std::string>& paths) = 0;

  // --- Feed (contract 5). Called once per batch, after its last edit and before its answer is made, with
  // the feed numbers the engine handed out, [first, end). Returns the amount to add to each of them. An
  // engine whose caller's next_seq is final (SQLite: one writer) keeps them: 0. An engine with concurrent
  // writers (PostgreSQL, docs/STORE.md §7) was handed provisional numbers, and here takes the real ones
  // under a lock held to COMMIT and renumbers the records it moved.
  virtual Result<std::int64_t> stamp_feed(std::int64_t first, std::int64_t end) {
    (void)first;
    (void)end;
    return std::int64_t{0};
  }
};

}  // namespace akt::store

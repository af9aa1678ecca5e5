// The push port (push_port.hpp) on SQLite: the writer's connection inside its open transaction. The only
// SQL of the push path; the engine's rules live in push_engine.cpp and merge_apply.cpp.
#pragma once

#include <string>

#include "schema/store/db.hpp"
#include "schema/store/push_port.hpp"

namespace akt::store {

// Uses `db` (a write transaction must be open; `db` must outlive the port). Not thread-safe. SQLite has
// one writer (BEGIN IMMEDIATE), so lock_record and lock_key do nothing.
class SqlitePushPort final : public PushPort {
 public:
  explicit SqlitePushPort(Db& db) : db_(db) {}

  Status lock_record(const std::string& record_id) override;
  Status lock_key(const std::string& form_id, const std::string& key) override;

  Result<std::optional<std::pair<std::string, std::string>>> stored_batch(const std::string& device,
                                                                          const std::string& batch_id) override;
  Status store_batch(const std::string& device, const std::string& batch_id, const std::string& digest,
                     const std::string& response, std::int64_t now) override;
  Status note_push(const std::string& device, std::int64_t now) override;
  Status insert_quarantine(const QuarantineEntry& q) override;

  Result<std::optional<RecordHead>> read_record(const std::string& record_id) override;
  Status write_record(const sync::Edit& e, std::int64_t seq, std::int64_t live_count, bool deleted, std::int64_t now,
                      const std::vector<std::string>& pending_upload) override;
  Status advance_record(const std::string& record_id, std::int64_t seq, std::int64_t live_count, bool deleted,
                        std::optional<std::int64_t> form_version, std::int64_t now) override;
  Status set_record_scope(const std::string& record_id, const sync::Scope& scope) override;
  Status remember_scope(const std::string& record_id, const sync::Scope& scope) override;
  Status set_record_flags(const std::string& record_id, const std::vector<std::string>& conflicted,
                          bool deletion_pending) override;

  Result<std::optional<std::string>> dot_digest(const sync::Dot& dot) override;
  Result<std::int64_t> max_counter(const std::string& actor) override;
  Status live_heads(const std::string& record_id, std::vector<LiveHead>& out) override;
  Status live_versions(const std::string& record_id, std::vector<sync::Version>& out) override;
  Status versions(const std::string& record_id, std::vector<StoredVersion>& out) override;
  Result<std::optional<sync::Version>> version_with_clock(const std::string& record_id,
                                                          const sync::VectorClock& clock) override;
  Result<std::optional<sync::Version>> version_by_dot(const sync::Dot& dot) override;
  Status insert_edit_version(const EditVersion& v) override;
  Status insert_server_version(const std::string& record_id, const sync::Version& v,
                               const sync::Scope& scope, const std::string& digest) override;
  Status retire_version(const sync::Dot& dot) override;
  Status retire_live(const std::string& record_id) override;
  Status note_clock_actor(const std::string& actor) override;

  Status open_entries(const std::string& record_id, std::vector<OpenEntry>& out) override;
  Result<std::optional<std::string>> open_entry_candidates(const std::string& record_id, sync::InboxKind kind,
                                                           const std::string& path) override;
  Status put_open_entry(const EntryWrite& w) override;
  Status set_open_entry_candidates(const std::string& record_id, sync::InboxKind kind, const std::string& path,
                                   const std::string& candidates_json, const std::optional<std::string>& ancestor_json,
                                   std::int64_t now) override;
  Status close_open_entry(const std::string& record_id, sync::InboxKind kind, const std::string& path,
                          const std::string& candidates_json, const std::string& resolution_json,
                          std::int64_t now) override;
  Status move_open_entries(const std::string& record_id, const std::string& municipality) override;
  Status start_entry_trace() override;
  Result<std::vector<std::int64_t>> take_touched_entries() override;

  Result<std::optional<std::string>> record_key(const std::string& record_id) override;
  Status put_record_key(const std::string& record_id, const std::string& form_id, const std::string& key) override;
  Status delete_record_key(const std::string& record_id) override;
  Result<std::vector<KeyHolder>> key_holders(const std::string& form_id, const std::string& key,
                                             std::size_t limit) override;

  Status note_attachment_refs(const std::string& record_id, const std::string& actor,
                              const AttachmentRefs& refs) override;
  Status set_pending_upload(const std::string& record_id, const std::vector<std::string>& paths) override;

 private:
  Db& db_;
};

// The live body of the record `id_blob` with exactly one live, non-deleted version; nullopt otherwise.
Result<std::optional<std::string>> single_live_body(Db& db, const std::string& id_blob);

}  // namespace akt::store

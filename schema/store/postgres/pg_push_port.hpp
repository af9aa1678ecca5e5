// The push port (push_port.hpp) on PostgreSQL: one connection inside the caller's READ COMMITTED write
// transaction. Locks are transaction-scoped advisory locks; feed numbers are provisional until stamp_feed
// takes the real ones under the feed_head row lock (docs/STORE.md §7, §8).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "schema/store/postgres/pg_conn.hpp"
#include "schema/store/push_port.hpp"

namespace akt::store::pg {

// Uses `conn` (a transaction must be open; `conn` must outlive the port). Not thread-safe. One port per
// transaction: the records it moved and the entries it touched are remembered until COMMIT.
class PgPushPort final : public PushPort {
 public:
  explicit PgPushPort(PgConn& conn);

  // The first provisional feed number to hand the engine (its next_seq): negative, and distinct for
  // every connection open at once, so that provisional numbers of concurrent writers never meet in the
  // records_by_seq index, nor meet a real (positive) number.
  std::int64_t provisional_seq() const { return provisional_; }

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
  // Takes the actor's counter lock first (held to COMMIT): the server's next merge counter is
  // max_counter + 1, so two servers merging at once must not both read the same maximum.
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

  // Gives an existing record the provisional feed number `seq` (a change outside a push: closing an inbox
  // entry); stamp_feed makes it real.
  Status move_record(const std::string& record_id, std::int64_t seq, std::int64_t now);

  // Takes end - first real feed numbers from feed_head (its row lock is held to COMMIT) and renumbers
  // the records this port moved from [first, end) to them. No lock when nothing moved.
  Result<std::int64_t> stamp_feed(std::int64_t first, std::int64_t end) override;

 private:
  Status lock(const std::string& name);
  Status note_entry(std::int64_t id) {
    touched_.push_back(id);
    return {};
  }

  PgConn& c_;
  std::int64_t provisional_;
  std::set<std::string> moved_;         // records given a feed number since the last stamp
  std::vector<std::int64_t> touched_;   // entries opened or extended since start_entry_trace
};

}  // namespace akt::store::pg

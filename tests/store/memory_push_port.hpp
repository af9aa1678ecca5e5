// An in-memory push port (push_port.hpp) for fast engine tests: plain containers, no SQL. It keeps what
// the push engine reads back and what tests inspect; it has no transactions (a failed batch is not rolled
// back) and keeps no attachment index beyond the references noted. Not thread-safe.
#pragma once

#include <map>
#include <set>
#include <tuple>

#include "schema/store/push_port.hpp"
#include "schema/store/server_store.hpp"

namespace akt::test {

class MemoryPushPort final : public store::PushPort {
 public:
  struct Record {
    store::RecordHead head;
    bool deleted = false;
    std::int64_t created_at = 0, updated_at = 0;
    std::vector<std::string> pending_upload, conflicted;
    bool deletion_pending = false;
  };
  struct Row {
    std::string record_id;
    sync::Version v;
    bool live = false;
    std::string digest;
    sync::Scope scope;  // the scope the version carried
  };
  struct Entry {
    std::int64_t id = 0;
    std::string record_id;
    sync::InboxKind kind = sync::InboxKind::kField;
    std::string path, status = "open";
    std::optional<std::string> ancestor_json;
    std::string candidates_json, form_id, municipality, detail_json, resolution_json, resolved_by;
    std::int64_t opened_at = 0, updated_at = 0, resolved_at = 0;
  };

  Status lock_record(const std::string&) override { return {}; }
  Status lock_key(const std::string&, const std::string&) override { return {}; }

  Result<std::optional<std::pair<std::string, std::string>>> stored_batch(const std::string& device,
                                                                          const std::string& batch_id) override;
  Status store_batch(const std::string& device, const std::string& batch_id, const std::string& digest,
                     const std::string& response, std::int64_t now) override;
  Status note_push(const std::string& device, std::int64_t now) override;
  Status insert_quarantine(const store::QuarantineEntry& q) override;

  Result<std::optional<store::RecordHead>> read_record(const std::string& record_id) override;
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
  Status live_heads(const std::string& record_id, std::vector<store::LiveHead>& out) override;
  Status live_versions(const std::string& record_id, std::vector<sync::Version>& out) override;
  Status versions(const std::string& record_id, std::vector<store::StoredVersion>& out) override;
  Result<std::optional<sync::Version>> version_with_clock(const std::string& record_id,
                                                          const sync::VectorClock& clock) override;
  Result<std::optional<sync::Version>> version_by_dot(const sync::Dot& dot) override;
  Status insert_edit_version(const store::EditVersion& v) override;
  Status insert_server_version(const std::string& record_id, const sync::Version& v,
                               const sync::Scope& scope, const std::string& digest) override;
  Status retire_version(const sync::Dot& dot) override;
  Status retire_live(const std::string& record_id) override;
  Status note_clock_actor(const std::string& actor) override;

  Status open_entries(const std::string& record_id, std::vector<store::OpenEntry>& out) override;
  Result<std::optional<std::string>> open_entry_candidates(const std::string& record_id, sync::InboxKind kind,
                                                           const std::string& path) override;
  Status put_open_entry(const store::EntryWrite& w) override;
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
  Result<std::vector<store::KeyHolder>> key_holders(const std::string& form_id, const std::string& key,
                                                    std::size_t limit) override;

  Status note_attachment_refs(const std::string& record_id, const std::string& actor,
                              const store::AttachmentRefs& refs) override;
  Status set_pending_upload(const std::string& record_id, const std::vector<std::string>& paths) override;

  // What tests inspect.
  std::map<std::string, Record> records;
  std::vector<Row> rows;  // in the order stored
  std::vector<Entry> entries;
  std::vector<store::QuarantineEntry> quarantined;
  std::set<std::tuple<std::string, std::string, std::string, std::string>> scopes;  // record, m, c, component
  std::set<std::string> clock_actors;

 private:
  Entry* open_entry(const std::string& record_id, sync::InboxKind kind, const std::string& path);
  void trace(const Entry& e) { traced_.push_back(e.id); }

  std::map<std::pair<std::string, std::string>, std::pair<std::string, std::string>> batches_;
  std::map<std::string, std::int64_t> last_push_;
  std::map<std::string, std::pair<std::string, std::string>> keys_;  // record -> (form, key)
  std::set<std::tuple<std::string, std::string, std::string>> refs_;  // digest, record, actor
  std::vector<std::int64_t> traced_;
};

}  // namespace akt::test

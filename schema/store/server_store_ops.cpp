// The SQLite engine's side of the store seam (store_tx.hpp): StoreReader and StoreWriter over one Db
// inside ServerStore::read / write, forwarding to the SQL of accounts_store, forms_store, inbox_store,
// history_store, record_list, audit_list and attachment_index. No rule lives here, only the mapping.
#include "schema/store/server_store.hpp"

#include "schema/store/accounts_store.hpp"
#include "schema/store/attachment_index.hpp"
#include "schema/store/audit_list.hpp"
#include "schema/store/db.hpp"
#include "schema/store/forms_store.hpp"
#include "schema/store/history_store.hpp"
#include "schema/store/inbox_store.hpp"
#include "schema/store/migrations.hpp"
#include "schema/store/push_apply.hpp"
#include "schema/store/record_list.hpp"
#include "schema/store/store_tx.hpp"

namespace akt::store {
namespace {

// The reads, once for both interfaces (Base is StoreReader or StoreWriter).
template <class Base>
class SqliteReads : public Base {
 public:
  explicit SqliteReads(Db& db) : db_(db) {}

  Result<std::optional<User>> find_user(const std::string& username) override { return store::find_user(db_, username); }
  Result<std::optional<User>> find_user_by_id(std::int64_t id) override { return store::find_user_by_id(db_, id); }
  Result<std::vector<User>> list_users() override { return store::list_users(db_); }
  Result<std::vector<sync::Assignment>> assignments_of(std::int64_t user_id) override {
    return store::assignments_of(db_, user_id);
  }
  Result<std::optional<TokenInfo>> lookup_token(const std::string& token_hash) override {
    return store::lookup_token(db_, token_hash);
  }
  Result<std::optional<std::int64_t>> device_owner(const std::string& actor) override {
    return store::device_owner(db_, actor);
  }
  Result<bool> actor_has_versions(const std::string& actor) override { return store::actor_has_versions(db_, actor); }
  Result<std::optional<std::vector<sync::Assignment>>> device_user_scope(const std::string& actor) override {
    return store::device_user_scope(db_, actor);
  }
  Result<std::vector<DeviceRow>> list_devices() override { return store::list_devices(db_); }
  Result<std::pair<std::string, std::string>> device_of(const std::string& actor) override {
    return store::device_of(db_, actor);
  }
  Result<std::vector<FormRow>> list_forms(bool with_definitions) override {
    return store::list_forms(db_, with_definitions);
  }
  Result<std::optional<FormRow>> get_form(const std::string& form_id, std::int64_t version) override {
    return store::get_form(db_, form_id, version);
  }
  Result<std::vector<InboxEntry>> list_inbox(const InboxFilter& filter) override {
    return store::list_inbox(db_, filter);
  }
  Result<std::optional<InboxEntry>> get_inbox_entry(std::int64_t id) override {
    return store::get_inbox_entry(db_, id);
  }
  Result<std::vector<HistoryVersion>> record_history(const std::string& record_id) override {
    return store::record_history(db_, record_id);
  }
  Result<std::optional<StoredBody>> version_with_clock(const std::string& record_id,
                                                       const sync::VectorClock& clock) override {
    return store::version_with_clock(db_, record_id, clock);
  }
  Result<ActorCounters> actor_counters(const std::string& actor, const std::string& record_id) override {
    return store::actor_counters(db_, actor, record_id);
  }
  Result<std::vector<RecordListRow>> list_records(const RecordListFilter& filter, std::size_t limit,
                                                  const std::function<bool(const RecordListRow&)>& keep,
                                                  bool* more) override {
    return store::list_records(db_, filter, limit, keep, more);
  }
  Result<std::optional<QuarantineEntry>> get_quarantine_entry(std::int64_t id) override {
    return store::get_quarantine_entry(db_, id);
  }
  Result<std::vector<AuditRow>> list_audit(const AuditFilter& filter, std::int64_t before_id,
                                           std::size_t limit) override {
    return store::list_audit(db_, filter, before_id, limit);
  }
  Result<std::optional<UploadRow>> find_upload(const std::string& id, const std::string& actor) override {
    return store::find_upload(db_, id, uuid_blob(actor));
  }
  Result<std::optional<std::string>> upload_of_digest(const std::string& actor, const std::string& digest) override {
    return store::upload_of_digest(db_, uuid_blob(actor), digest);
  }
  Result<std::vector<UploadRow>> list_uploads() override { return store::list_uploads(db_); }
  Result<std::vector<std::string>> records_referencing(const std::string& digest, std::size_t limit) override {
    return store::records_referencing(db_, digest, limit);
  }
  Result<bool> is_blob_holder(const std::string& digest, const std::string& actor) override {
    return store::is_blob_holder(db_, digest, uuid_blob(actor));
  }
  Result<bool> is_blob_referenced(const std::string& digest) override {
    return store::is_blob_referenced(db_, digest);
  }
  Result<std::optional<DeviceReport>> read_device_report(const std::string& actor) override {
    return store::read_device_report(db_, actor);
  }
  Result<std::vector<PlaceCount>> count_records_by_place() override { return store::count_records_by_place(db_); }
  Result<bool> schema_is_current() override {
    auto v = store::schema_version(db_);
    if (!v.ok()) return v.status();
    return *v == latest_schema_version();
  }
  Result<std::optional<std::string>> meta_value(const std::string& key) override {
    AKT_STMT(s, db_, "SELECT value FROM meta WHERE key = ?1");
    s->bind(1, std::string_view(key));
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<std::string>();
    return std::optional<std::string>(std::string(s->text(0)));
  }

 protected:
  Db& db_;
};

class SqliteReader final : public SqliteReads<StoreReader> {
 public:
  using SqliteReads::SqliteReads;
};

class SqliteWriter final : public SqliteReads<StoreWriter> {
 public:
  SqliteWriter(Db& db, std::int64_t& next_seq) : SqliteReads(db), next_seq_(next_seq) {}

  Result<std::int64_t> insert_user(const User& user) override { return store::insert_user(db_, user); }
  Status set_role(std::int64_t user_id, sync::Role role) override { return store::set_role(db_, user_id, role); }
  Status set_special_category(std::int64_t user_id, bool granted) override {
    return store::set_special_category(db_, user_id, granted);
  }
  Status set_disabled(std::int64_t user_id, bool disabled) override {
    return store::set_disabled(db_, user_id, disabled);
  }
  Status set_password_hash(std::int64_t user_id, const std::string& hash) override {
    return store::set_password_hash(db_, user_id, hash);
  }
  Status revoke_sessions(std::int64_t user_id, std::int64_t now, const std::string& keep) override {
    return store::revoke_sessions(db_, user_id, now, keep);
  }
  Status set_supervisor(std::int64_t user_id, std::int64_t supervisor_id) override {
    return store::set_supervisor(db_, user_id, supervisor_id);
  }
  Status bump_supervisor_scope(std::int64_t user_id) override { return store::bump_supervisor_scope(db_, user_id); }
  Status set_assignments(std::int64_t user_id, const std::vector<sync::Assignment>& assignments) override {
    return store::set_assignments(db_, user_id, assignments);
  }
  Status insert_token(const std::string& hash, const std::string& kind, std::int64_t user_id,
                      const std::string& device_actor, std::int64_t now, std::int64_t expires_at) override {
    return store::insert_token(db_, hash, kind, user_id, device_actor, now, expires_at);
  }
  Status revoke_token(const std::string& hash, std::int64_t now) override {
    return store::revoke_token(db_, hash, now);
  }
  Status revoke_device(const std::string& actor, std::int64_t now) override {
    return store::revoke_device(db_, actor, now);
  }
  Status insert_enrolment(const std::string& code_hash, std::int64_t user_id, const std::string& device_name,
                          std::int64_t created_by, std::int64_t now, std::int64_t expires_at) override {
    return store::insert_enrolment(db_, code_hash, user_id, device_name, created_by, now, expires_at);
  }
  Result<std::pair<std::int64_t, std::string>> use_enrolment(const std::string& code_hash, const std::string& actor,
                                                             std::int64_t now) override {
    return store::use_enrolment(db_, code_hash, actor, now);
  }
  Status register_device(const std::string& actor, std::int64_t user_id, const std::string& name,
                         const std::string& app_version, std::int64_t now) override {
    return store::register_device(db_, actor, user_id, name, app_version, now);
  }
  Status rebind_device(const std::string& actor, const std::string& name, const std::string& app_version,
                       std::int64_t now) override {
    return store::rebind_device(db_, actor, name, app_version, now);
  }
  Status report_device_client(const std::string& actor, const std::string& app, std::int64_t unsynced,
                              std::int64_t now) override {
    return store::report_device_client(db_, actor, app, unsynced, now);
  }
  Status put_meta(const std::string& key, const std::string& value) override {
    AKT_STMT(s, db_, "INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2");
    s->bind(1, std::string_view(key));
    s->bind(2, std::string_view(value));
    return s->run();
  }
  Status insert_audit(std::int64_t at, const std::string& username, const std::string& action,
                      const std::string& target, const std::string& detail_json, const std::string& remote) override {
    return store::insert_audit(db_, at, username, action, target, detail_json, remote);
  }
  Status put_form_draft(const FormRow& row) override { return store::put_form_draft(db_, row); }
  Status publish_form(const std::string& form_id, std::int64_t version, std::int64_t now) override {
    return store::publish_form(db_, form_id, version, now);
  }
  Status retire_form(const std::string& form_id, std::int64_t version, std::int64_t now) override {
    return store::retire_form(db_, form_id, version, now);
  }
  Status mark_released(std::int64_t id, std::int64_t now) override { return store::mark_released(db_, id, now); }
  Status mark_discarded(std::int64_t id, std::int64_t now) override { return store::mark_discarded(db_, id, now); }
  Status close_inbox_entry(std::int64_t id, const std::string& by, const std::string& resolution_json,
                           std::int64_t now) override {
    return store::close_inbox_entry(db_, id, by, resolution_json, now, next_seq_);
  }
  Status put_upload(const UploadRow& upload, const std::string& actor) override {
    return store::put_upload(db_, upload, uuid_blob(actor));
  }
  Status delete_upload(const std::string& id) override { return store::delete_upload(db_, id); }
  Status note_blob_holder(const std::string& digest, const std::string& actor, std::int64_t now) override {
    return store::note_blob_holder(db_, digest, uuid_blob(actor), now);
  }
  Status forget_blob_holders(const std::string& digest) override { return store::forget_blob_holders(db_, digest); }
  Status attachment_arrived(const std::string& digest, const std::function<bool(const std::string&)>& exists,
                            const std::function<sync::MergeSchema(const std::string&, std::int64_t)>& schema_for,
                            std::int64_t now) override {
    return store::attachment_arrived(db_, digest, exists, schema_for, next_seq_, now);
  }

 private:
  std::int64_t& next_seq_;
};

}  // namespace

Status ServerStore::update(const std::function<Status(StoreWriter&)>& fn) {
  return write([&fn](Db& db, std::int64_t& next_seq) {
    SqliteWriter tx(db, next_seq);
    return fn(tx);
  });
}

Status ServerStore::query(const std::function<Status(StoreReader&)>& fn) {
  return read([&fn](Db& db) {
    SqliteReader tx(db);
    return fn(tx);
  });
}

}  // namespace akt::store

// The PostgreSQL engine's side of the store seam: StoreReader and StoreWriter forwarding to pg_accounts,
// pg_catalog, pg_records and pg_inbox (docs/STORE.md, "PostgreSQL engine").
#include "schema/store/postgres/pg_ops.hpp"

#include "schema/store/postgres/pg_accounts.hpp"
#include "schema/store/postgres/pg_catalog.hpp"
#include "schema/store/postgres/pg_inbox.hpp"
#include "schema/store/postgres/pg_migrations.hpp"
#include "schema/store/postgres/pg_records.hpp"

namespace akt::store::pg {
namespace {

template <class Base>
class PgReads : public Base {
 public:
  explicit PgReads(PgConn& c) : c_(c) {}

  Result<std::optional<User>> find_user(const std::string& username) override { return pg::find_user(c_, username); }
  Result<std::optional<User>> find_user_by_id(std::int64_t id) override { return pg::find_user_by_id(c_, id); }
  Result<std::vector<User>> list_users() override { return pg::list_users(c_); }
  Result<std::vector<sync::Assignment>> assignments_of(std::int64_t user_id) override {
    return pg::assignments_of(c_, user_id);
  }
  Result<std::optional<TokenInfo>> lookup_token(const std::string& token_hash) override {
    return pg::lookup_token(c_, token_hash);
  }
  Result<std::optional<std::int64_t>> device_owner(const std::string& actor) override {
    return pg::device_owner(c_, actor);
  }
  Result<bool> actor_has_versions(const std::string& actor) override { return pg::actor_has_versions(c_, actor); }
  Result<std::optional<std::vector<sync::Assignment>>> device_user_scope(const std::string& actor) override {
    return pg::device_user_scope(c_, actor);
  }
  Result<std::vector<DeviceRow>> list_devices() override { return pg::list_devices(c_); }
  Result<std::pair<std::string, std::string>> device_of(const std::string& actor) override {
    return pg::device_of(c_, actor);
  }
  Result<std::vector<FormRow>> list_forms(bool with_definitions) override {
    return pg::list_forms(c_, with_definitions);
  }
  Result<std::optional<FormRow>> get_form(const std::string& form_id, std::int64_t version) override {
    return pg::get_form(c_, form_id, version);
  }
  Result<std::vector<InboxEntry>> list_inbox(const InboxFilter& filter) override { return pg::list_inbox(c_, filter); }
  Result<std::optional<InboxEntry>> get_inbox_entry(std::int64_t id) override { return pg::get_inbox_entry(c_, id); }
  Result<std::vector<HistoryVersion>> record_history(const std::string& record_id) override {
    return pg::record_history(c_, record_id);
  }
  Result<std::optional<StoredBody>> version_with_clock(const std::string& record_id,
                                                       const sync::VectorClock& clock) override {
    return pg::version_with_clock(c_, record_id, clock);
  }
  Result<ActorCounters> actor_counters(const std::string& actor, const std::string& record_id) override {
    return pg::actor_counters(c_, actor, record_id);
  }
  Result<std::vector<RecordListRow>> list_records(const RecordListFilter& filter, std::size_t limit,
                                                  const std::function<bool(const RecordListRow&)>& keep,
                                                  bool* more) override {
    return pg::list_records(c_, filter, limit, keep, more);
  }
  Result<std::optional<QuarantineEntry>> get_quarantine_entry(std::int64_t id) override {
    return pg::get_quarantine_entry(c_, id);
  }
  Result<std::vector<AuditRow>> list_audit(const AuditFilter& filter, std::int64_t before_id,
                                           std::size_t limit) override {
    return pg::list_audit(c_, filter, before_id, limit);
  }
  Result<std::optional<UploadRow>> find_upload(const std::string& id, const std::string& actor) override {
    return pg::find_upload(c_, id, actor);
  }
  Result<std::optional<std::string>> upload_of_digest(const std::string& actor, const std::string& digest) override {
    return pg::upload_of_digest(c_, actor, digest);
  }
  Result<std::vector<UploadRow>> list_uploads() override { return pg::list_uploads(c_); }
  Result<std::vector<std::string>> records_referencing(const std::string& digest, std::size_t limit) override {
    return pg::records_referencing(c_, digest, limit);
  }
  Result<bool> is_blob_holder(const std::string& digest, const std::string& actor) override {
    return pg::is_blob_holder(c_, digest, actor);
  }
  Result<bool> is_blob_referenced(const std::string& digest) override { return pg::is_blob_referenced(c_, digest); }
  Result<std::optional<DeviceReport>> read_device_report(const std::string& actor) override {
    return pg::read_device_report(c_, actor);
  }
  Result<std::vector<PlaceCount>> count_records_by_place() override { return pg::count_records_by_place(c_); }
  Result<bool> schema_is_current() override {
    auto v = pg::schema_version(c_);
    if (!v.ok()) return v.status();
    return *v == latest_schema_version();
  }
  Result<std::optional<std::string>> meta_value(const std::string& key) override {
    auto r = c_.exec("SELECT value FROM meta WHERE key = $1", {pg::text(key)});
    if (!r.ok()) return r.status();
    if (r->rows() == 0) return std::optional<std::string>();
    return std::optional<std::string>(r->str(0, 0));
  }

 protected:
  PgConn& c_;
};

class PgReader final : public PgReads<StoreReader> {
 public:
  using PgReads::PgReads;
};

class PgWriter final : public PgReads<StoreWriter> {
 public:
  using PgReads::PgReads;

  Result<std::int64_t> insert_user(const User& user) override { return pg::insert_user(c_, user); }
  Status set_role(std::int64_t user_id, sync::Role role) override { return pg::set_role(c_, user_id, role); }
  Status set_special_category(std::int64_t user_id, bool granted) override {
    return pg::set_special_category(c_, user_id, granted);
  }
  Status set_disabled(std::int64_t user_id, bool disabled) override { return pg::set_disabled(c_, user_id, disabled); }
  Status set_password_hash(std::int64_t user_id, const std::string& hash) override {
    return pg::set_password_hash(c_, user_id, hash);
  }
  Status revoke_sessions(std::int64_t user_id, std::int64_t now, const std::string& keep) override {
    return pg::revoke_sessions(c_, user_id, now, keep);
  }
  Status set_supervisor(std::int64_t user_id, std::int64_t supervisor_id) override {
    return pg::set_supervisor(c_, user_id, supervisor_id);
  }
  Status bump_supervisor_scope(std::int64_t user_id) override { return pg::bump_supervisor_scope(c_, user_id); }
  Status set_assignments(std::int64_t user_id, const std::vector<sync::Assignment>& assignments) override {
    return pg::set_assignments(c_, user_id, assignments);
  }
  Status insert_token(const std::string& hash, const std::string& kind, std::int64_t user_id,
                      const std::string& device_actor, std::int64_t now, std::int64_t expires_at) override {
    return pg::insert_token(c_, hash, kind, user_id, device_actor, now, expires_at);
  }
  Status revoke_token(const std::string& hash, std::int64_t now) override { return pg::revoke_token(c_, hash, now); }
  Status revoke_device(const std::string& actor, std::int64_t now) override {
    return pg::revoke_device(c_, actor, now);
  }
  Status insert_enrolment(const std::string& code_hash, std::int64_t user_id, const std::string& device_name,
                          std::int64_t created_by, std::int64_t now, std::int64_t expires_at) override {
    return pg::insert_enrolment(c_, code_hash, user_id, device_name, created_by, now, expires_at);
  }
  Result<std::pair<std::int64_t, std::string>> use_enrolment(const std::string& code_hash, const std::string& actor,
                                                             std::int64_t now) override {
    return pg::use_enrolment(c_, code_hash, actor, now);
  }
  Status register_device(const std::string& actor, std::int64_t user_id, const std::string& name,
                         const std::string& app_version, std::int64_t now) override {
    return pg::register_device(c_, actor, user_id, name, app_version, now);
  }
  Status rebind_device(const std::string& actor, const std::string& name, const std::string& app_version,
                       std::int64_t now) override {
    return pg::rebind_device(c_, actor, name, app_version, now);
  }
  Status report_device_client(const std::string& actor, const std::string& app, std::int64_t unsynced,
                              std::int64_t now) override {
    return pg::report_device_client(c_, actor, app, unsynced, now);
  }
  Status put_meta(const std::string& key, const std::string& value) override {
    auto r = c_.exec("INSERT INTO meta(key, value) VALUES($1, $2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                     {pg::text(key), pg::text(value)});
    return r.ok() ? Status() : r.status();
  }
  Status insert_audit(std::int64_t at, const std::string& username, const std::string& action,
                      const std::string& target, const std::string& detail_json, const std::string& remote) override {
    return pg::insert_audit(c_, at, username, action, target, detail_json, remote);
  }
  Status put_form_draft(const FormRow& row) override { return pg::put_form_draft(c_, row); }
  Status publish_form(const std::string& form_id, std::int64_t version, std::int64_t now) override {
    return pg::publish_form(c_, form_id, version, now);
  }
  Status retire_form(const std::string& form_id, std::int64_t version, std::int64_t now) override {
    return pg::retire_form(c_, form_id, version, now);
  }
  Status mark_released(std::int64_t id, std::int64_t now) override { return pg::mark_released(c_, id, now); }
  Status mark_discarded(std::int64_t id, std::int64_t now) override { return pg::mark_discarded(c_, id, now); }
  Status close_inbox_entry(std::int64_t id, const std::string& by, const std::string& resolution_json,
                           std::int64_t now) override {
    return pg::close_inbox_entry(c_, id, by, resolution_json, now);
  }
  Status put_upload(const UploadRow& upload, const std::string& actor) override {
    return pg::put_upload(c_, upload, actor);
  }
  Status delete_upload(const std::string& id) override { return pg::delete_upload(c_, id); }
  Status note_blob_holder(const std::string& digest, const std::string& actor, std::int64_t now) override {
    return pg::note_blob_holder(c_, digest, actor, now);
  }
  Status forget_blob_holders(const std::string& digest) override { return pg::forget_blob_holders(c_, digest); }
  Status attachment_arrived(const std::string& digest, const std::function<bool(const std::string&)>& exists,
                            const std::function<sync::MergeSchema(const std::string&, std::int64_t)>& schema_for,
                            std::int64_t now) override {
    return pg::attachment_arrived(c_, digest, exists, schema_for, now);
  }
};

}  // namespace

std::unique_ptr<StoreReader> make_reader(PgConn& conn) { return std::make_unique<PgReader>(conn); }
std::unique_ptr<StoreWriter> make_writer(PgConn& conn) { return std::make_unique<PgWriter>(conn); }

}  // namespace akt::store::pg

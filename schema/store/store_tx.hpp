// The store seam (issue #20, first step): what the server reads and writes inside one transaction, in
// domain types only. `StoreReader` is a consistent snapshot; `StoreWriter` is a savepoint of the writer's
// group-committed transaction (ServerStore::query / ServerStore::update). Code under server/ sees these
// interfaces and store_types.hpp, never a connection or SQL; the SQLite engine implements them in
// sqlite_tx.cpp over the functions of accounts_store, forms_store, inbox_store... A second engine
// (PostgreSQL) implements the same two interfaces. Actors and record ids are canonical UUID strings.
//
// Every method returns a Status (kNotFound, kConflict... as documented; kBusy/kIOError/kCorruption when
// the engine fails); a non-OK Status returned from an update's function rolls back that update alone.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "schema/store/sync_store.hpp"
#include "schema/store/store_types.hpp"
#include "sync/access.hpp"
#include "sync/merge.hpp"
#include "sync/status.hpp"
#include "sync/vector_clock.hpp"

namespace akt::store {

// Reads, inside one snapshot. Not thread-safe: used by the one caller of ServerStore::query/update.
class StoreReader {
 public:
  virtual ~StoreReader() = default;

  // Accounts and sessions.
  virtual Result<std::optional<User>> find_user(const std::string& username) = 0;
  virtual Result<std::optional<User>> find_user_by_id(std::int64_t id) = 0;
  virtual Result<std::vector<User>> list_users() = 0;
  virtual Result<std::vector<sync::Assignment>> assignments_of(std::int64_t user_id) = 0;
  // nullopt when unknown. Expiry and revocation are reported, not filtered.
  virtual Result<std::optional<TokenInfo>> lookup_token(const std::string& token_hash) = 0;

  // Devices and enrolment.
  // The user a device actor is registered to: nullopt without a device row, 0 for a row of no user.
  virtual Result<std::optional<std::int64_t>> device_owner(const std::string& actor) = 0;
  // Whether any stored version carries a dot of `actor`.
  virtual Result<bool> actor_has_versions(const std::string& actor) = 0;
  // The scope the enrolled device `actor` writes in; nullopt when unscoped.
  virtual Result<std::optional<std::vector<sync::Assignment>>> device_user_scope(const std::string& actor) = 0;
  virtual Result<std::vector<DeviceRow>> list_devices() = 0;
  // Device name and username behind an actor ("" when unknown), for showing candidates.
  virtual Result<std::pair<std::string, std::string>> device_of(const std::string& actor) = 0;

  // Forms.
  virtual Result<std::vector<FormRow>> list_forms(bool with_definitions) = 0;
  virtual Result<std::optional<FormRow>> get_form(const std::string& form_id, std::int64_t version) = 0;

  // Inbox and records.
  virtual Result<std::vector<InboxEntry>> list_inbox(const InboxFilter& filter) = 0;
  virtual Result<std::optional<InboxEntry>> get_inbox_entry(std::int64_t id) = 0;
  // Every stored version of the record, oldest first (record_history in history_store.hpp).
  virtual Result<std::vector<HistoryVersion>> record_history(const std::string& record_id) = 0;
  // The body and form version of the record's version whose clock is `clock`; nullopt when none.
  virtual Result<std::optional<StoredBody>> version_with_clock(const std::string& record_id,
                                                               const sync::VectorClock& clock) = 0;
  // The largest counters of `actor`'s dots (on any record, and on `record_id`).
  virtual Result<ActorCounters> actor_counters(const std::string& actor, const std::string& record_id) = 0;
  // The submissions list page (list_records in record_list.hpp).
  virtual Result<std::vector<RecordListRow>> list_records(const RecordListFilter& filter, std::size_t limit,
                                                          const std::function<bool(const RecordListRow&)>& keep,
                                                          bool* more) = 0;

  // Admin and quarantine.
  virtual Result<std::optional<QuarantineEntry>> get_quarantine_entry(std::int64_t id) = 0;
  virtual Result<std::vector<AuditRow>> list_audit(const AuditFilter& filter, std::int64_t before_id,
                                                   std::size_t limit) = 0;

  // Attachments.
  // The open upload `id` of device `actor`; nullopt when unknown or another device's.
  virtual Result<std::optional<UploadRow>> find_upload(const std::string& id, const std::string& actor) = 0;
  // The id of device `actor`'s open upload of `digest`; nullopt when none.
  virtual Result<std::optional<std::string>> upload_of_digest(const std::string& actor, const std::string& digest) = 0;
  // Every open upload (id and created_at only), of any device.
  virtual Result<std::vector<UploadRow>> list_uploads() = 0;
  // Records referencing `digest` through an edit of a device that uploaded it, at most `limit`.
  virtual Result<std::vector<std::string>> records_referencing(const std::string& digest, std::size_t limit) = 0;
  // Whether device `actor` uploaded every byte of `digest`.
  virtual Result<bool> is_blob_holder(const std::string& digest, const std::string& actor) = 0;
  // Whether any stored version references `digest`.
  virtual Result<bool> is_blob_referenced(const std::string& digest) = 0;

  // Stats and health.
  virtual Result<std::optional<DeviceReport>> read_device_report(const std::string& actor) = 0;
  virtual Result<std::vector<PlaceCount>> count_records_by_place() = 0;
  // Whether the database's schema is the one this build knows (every migration applied).
  virtual Result<bool> schema_is_current() = 0;
  // A value of the database's own settings (the `meta` table: epoch, server actor, the pseudonym key's
  // check value), or nullopt when it has none.
  virtual Result<std::optional<std::string>> meta_value(const std::string& key) = 0;
};

// Reads and writes inside the writer's transaction. Writes that move the feed take their sequence
// numbers from the transaction's own counter (ServerStore::write's next_seq).
class StoreWriter : public StoreReader {
 public:
  // Accounts and sessions. insert_user: kConflict when the username exists; returns the new id.
  virtual Result<std::int64_t> insert_user(const User& user) = 0;
  virtual Status set_role(std::int64_t user_id, sync::Role role) = 0;
  virtual Status set_special_category(std::int64_t user_id, bool granted) = 0;
  virtual Status set_disabled(std::int64_t user_id, bool disabled) = 0;
  virtual Status set_password_hash(std::int64_t user_id, const std::string& hash) = 0;
  // Revokes the user's login sessions except the one whose token hash is `keep`.
  virtual Status revoke_sessions(std::int64_t user_id, std::int64_t now, const std::string& keep = {}) = 0;
  virtual Status set_supervisor(std::int64_t user_id, std::int64_t supervisor_id) = 0;
  virtual Status bump_supervisor_scope(std::int64_t user_id) = 0;
  virtual Status set_assignments(std::int64_t user_id, const std::vector<sync::Assignment>& assignments) = 0;
  virtual Status insert_token(const std::string& hash, const std::string& kind, std::int64_t user_id,
                              const std::string& device_actor, std::int64_t now, std::int64_t expires_at) = 0;
  virtual Status revoke_token(const std::string& hash, std::int64_t now) = 0;

  // Devices and enrolment (see accounts_store.hpp for each failure).
  virtual Status revoke_device(const std::string& actor, std::int64_t now) = 0;
  virtual Status insert_enrolment(const std::string& code_hash, std::int64_t user_id, const std::string& device_name,
                                  std::int64_t created_by, std::int64_t now, std::int64_t expires_at) = 0;
  // kNotFound when the code is unknown, used or expired; otherwise its user id and device name.
  virtual Result<std::pair<std::int64_t, std::string>> use_enrolment(const std::string& code_hash,
                                                                     const std::string& actor, std::int64_t now) = 0;
  // kConflict when the actor is already registered.
  virtual Status register_device(const std::string& actor, std::int64_t user_id, const std::string& name,
                                 const std::string& app_version, std::int64_t now) = 0;
  virtual Status rebind_device(const std::string& actor, const std::string& name, const std::string& app_version,
                               std::int64_t now) = 0;
  virtual Status report_device_client(const std::string& actor, const std::string& app, std::int64_t unsynced,
                                      std::int64_t now) = 0;

  // Sets a `meta` value (inserted, or replacing the one there).
  virtual Status put_meta(const std::string& key, const std::string& value) = 0;

  // Audit.
  virtual Status insert_audit(std::int64_t at, const std::string& username, const std::string& action,
                              const std::string& target, const std::string& detail_json,
                              const std::string& remote) = 0;

  // Forms (kConflict / kNotFound as in forms_store.hpp).
  virtual Status put_form_draft(const FormRow& row) = 0;
  virtual Status publish_form(const std::string& form_id, std::int64_t version, std::int64_t now) = 0;
  virtual Status retire_form(const std::string& form_id, std::int64_t version, std::int64_t now) = 0;

  // Quarantine.
  virtual Status mark_released(std::int64_t id, std::int64_t now) = 0;
  virtual Status mark_discarded(std::int64_t id, std::int64_t now) = 0;

  // Inbox: closes the entry with the choice made and gives its record the next feed position.
  virtual Status close_inbox_entry(std::int64_t id, const std::string& by, const std::string& resolution_json,
                                   std::int64_t now) = 0;

  // Attachments. put_upload replaces the device's open upload of the same digest.
  virtual Status put_upload(const UploadRow& upload, const std::string& actor) = 0;
  virtual Status delete_upload(const std::string& id) = 0;
  // Records device `actor` as holding every byte of `digest`.
  virtual Status note_blob_holder(const std::string& digest, const std::string& actor, std::int64_t now) = 0;
  // Forgets every holder of `digest` (its file is gone).
  virtual Status forget_blob_holders(const std::string& digest) = 0;
  // After the file of `digest` arrived: recomputes the pending uploads of the records referencing it and
  // gives each changed record the next feed position. `schema_for` may be unset.
  virtual Status attachment_arrived(const std::string& digest, const std::function<bool(const std::string&)>& exists,
                                    const std::function<sync::MergeSchema(const std::string&, std::int64_t)>& schema_for,
                                    std::int64_t now) = 0;
};

}  // namespace akt::store

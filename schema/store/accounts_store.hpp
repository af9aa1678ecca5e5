// Accounts in the server database (migration 2): users, assignments, tokens (hashes only), enrolment
// codes, devices and the audit log. Functions over a Db inside the caller's transaction: run writes
// through ServerStore::write and reads through ServerStore::read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "schema/store/db.hpp"
#include "schema/store/store_types.hpp"
#include "sync/access.hpp"

namespace akt::store {





// kConflict when the username exists.
Result<std::int64_t> insert_user(Db& db, const User& user);
Result<std::optional<User>> find_user(Db& db, const std::string& username);
Result<std::optional<User>> find_user_by_id(Db& db, std::int64_t id);
Result<std::vector<User>> list_users(Db& db);
Status set_role(Db& db, std::int64_t user_id, sync::Role role);
Status set_special_category(Db& db, std::int64_t user_id, bool granted);
// The user a device actor is registered to: nullopt when the actor has no device row, 0 when the row has
// no user (a static config device or a resolver that pushed).
Result<std::optional<std::int64_t>> device_owner(Db& db, const std::string& actor);
// Whether `actor` is in some stored clock: a version carries a dot of it, or a stored edit's context names it.
Result<bool> actor_has_versions(Db& db, const std::string& actor);
// Re-enrolment of a known device of the same user: new name and app version, not revoked any more, and
// every earlier token of the actor revoked (only the new one works).
Status rebind_device(Db& db, const std::string& actor, const std::string& name, const std::string& app_version,
                     std::int64_t now);
Status set_disabled(Db& db, std::int64_t user_id, bool disabled);
Status set_password_hash(Db& db, std::int64_t user_id, const std::string& hash);
// Revokes every unrevoked login session of the user except the one whose token hash is `keep` (may be empty).
Status revoke_sessions(Db& db, std::int64_t user_id, std::int64_t now, const std::string& keep = {});
// Sets (or, with 0, clears) the user's supervisor. Bumps the scope version of the user's old and new
// supervisor: their devices reset their cursor (their scope covers their team's).
Status set_supervisor(Db& db, std::int64_t user_id, std::int64_t supervisor_id);
// Bumps the scope version of the user's supervisor, if any (a team member's scope changed).
Status bump_supervisor_scope(Db& db, std::int64_t user_id);
// Replaces the user's assignments and bumps their scope version (their devices reset their cursor).
Status set_assignments(Db& db, std::int64_t user_id, const std::vector<sync::Assignment>& assignments);
Result<std::vector<sync::Assignment>> assignments_of(Db& db, std::int64_t user_id);
// The scope the enrolled device `actor` writes in today: its user's assignments (a supervisor's plus
// their team's). nullopt when unscoped: a user who reads everything, or a device of no user (static).
Result<std::optional<std::vector<sync::Assignment>>> device_user_scope(Db& db, const std::string& actor);

Status insert_token(Db& db, const std::string& hash, const std::string& kind, std::int64_t user_id,
                    const std::string& device_actor, std::int64_t now, std::int64_t expires_at);
// nullopt when unknown. Expiry and revocation are reported, not filtered, so callers can say which.
Result<std::optional<TokenInfo>> lookup_token(Db& db, const std::string& hash);
Status revoke_token(Db& db, const std::string& hash, std::int64_t now);
// Revokes the device and every token bound to it. kNotFound for an unknown device.
Status revoke_device(Db& db, const std::string& actor, std::int64_t now);

Status insert_enrolment(Db& db, const std::string& code_hash, std::int64_t user_id, const std::string& device_name,
                        std::int64_t created_by, std::int64_t now, std::int64_t expires_at);
// Marks a valid code used by `actor` and returns its user id and device name. kNotFound when the code is
// unknown, used or expired.
Result<std::pair<std::int64_t, std::string>> use_enrolment(Db& db, const std::string& code_hash,
                                                           const std::string& actor, std::int64_t now);
// kConflict when the actor is already registered (a reinstall must use a new actor id).
Status register_device(Db& db, const std::string& actor, std::int64_t user_id, const std::string& name,
                       const std::string& app_version, std::int64_t now);
Result<std::vector<DeviceRow>> list_devices(Db& db);
// Stores what a device reports about itself (PROTOCOL §13.2): `app` when non-empty, `unsynced` when
// >= 0. Creates the row for a device not seen before (static config devices).
Status report_device_client(Db& db, const std::string& actor, const std::string& app, std::int64_t unsynced,
                            std::int64_t now);
// What the device reported last; nullopt for a device without a row.
Result<std::optional<DeviceReport>> read_device_report(Db& db, const std::string& actor);
Result<std::vector<PlaceCount>> count_records_by_place(Db& db);

Status insert_audit(Db& db, std::int64_t at, const std::string& username, const std::string& action,
                    const std::string& target, const std::string& detail_json, const std::string& remote);
Result<std::vector<AuditRow>> list_audit(Db& db, std::int64_t before_id, std::size_t limit);

// Whether some earlier scope of the record is covered by `assignments` (the feed tells a device when
// a record it held leaves its scope).
Result<bool> record_was_in_scope(Db& db, const std::string& record_id,
                                 const std::vector<sync::Assignment>& assignments, const std::string& form_id);

}  // namespace akt::store

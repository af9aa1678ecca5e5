// Accounts on PostgreSQL: users, assignments, tokens, enrolment codes, devices, the audit log. The same
// contract as accounts_store.hpp (the SQLite engine's), each function one or a few bound statements
// inside the caller's transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "schema/store/postgres/pg_conn.hpp"
#include "schema/store/store_types.hpp"
#include "sync/access.hpp"

namespace akt::store::pg {

Result<std::int64_t> insert_user(PgConn& c, const User& user);
Result<std::optional<User>> find_user(PgConn& c, const std::string& username);
Result<std::optional<User>> find_user_by_id(PgConn& c, std::int64_t id);
Result<std::vector<User>> list_users(PgConn& c);
Status set_role(PgConn& c, std::int64_t user_id, sync::Role role);
Status set_special_category(PgConn& c, std::int64_t user_id, bool granted);
Status set_disabled(PgConn& c, std::int64_t user_id, bool disabled);
Status set_password_hash(PgConn& c, std::int64_t user_id, const std::string& hash);
Status revoke_sessions(PgConn& c, std::int64_t user_id, std::int64_t now, const std::string& keep);
Status set_supervisor(PgConn& c, std::int64_t user_id, std::int64_t supervisor_id);
Status bump_supervisor_scope(PgConn& c, std::int64_t user_id);
Status set_assignments(PgConn& c, std::int64_t user_id, const std::vector<sync::Assignment>& assignments);
Result<std::vector<sync::Assignment>> assignments_of(PgConn& c, std::int64_t user_id);

Status insert_token(PgConn& c, const std::string& hash, const std::string& kind, std::int64_t user_id,
                    const std::string& device_actor, std::int64_t now, std::int64_t expires_at);
Result<std::optional<TokenInfo>> lookup_token(PgConn& c, const std::string& hash);
Status revoke_token(PgConn& c, const std::string& hash, std::int64_t now);

Result<std::optional<std::int64_t>> device_owner(PgConn& c, const std::string& actor);
Result<std::optional<std::vector<sync::Assignment>>> device_user_scope(PgConn& c, const std::string& actor);
Result<std::vector<DeviceRow>> list_devices(PgConn& c);
Result<std::pair<std::string, std::string>> device_of(PgConn& c, const std::string& actor);
Status revoke_device(PgConn& c, const std::string& actor, std::int64_t now);
Status insert_enrolment(PgConn& c, const std::string& code_hash, std::int64_t user_id, const std::string& device_name,
                        std::int64_t created_by, std::int64_t now, std::int64_t expires_at);
Result<std::pair<std::int64_t, std::string>> use_enrolment(PgConn& c, const std::string& code_hash,
                                                           const std::string& actor, std::int64_t now);
Status register_device(PgConn& c, const std::string& actor, std::int64_t user_id, const std::string& name,
                       const std::string& app_version, std::int64_t now);
Status rebind_device(PgConn& c, const std::string& actor, const std::string& name, const std::string& app_version,
                     std::int64_t now);
Status report_device_client(PgConn& c, const std::string& actor, const std::string& app, std::int64_t unsynced,
                            std::int64_t now);
Result<std::optional<DeviceReport>> read_device_report(PgConn& c, const std::string& actor);

Status insert_audit(PgConn& c, std::int64_t at, const std::string& username, const std::string& action,
                    const std::string& target, const std::string& detail_json, const std::string& remote);
Result<std::vector<AuditRow>> list_audit(PgConn& c, const AuditFilter& filter, std::int64_t before_id,
                                         std::size_t limit);

}  // namespace akt::store::pg

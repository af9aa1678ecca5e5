// Accounts tables on PostgreSQL: plain bound statements, one function each. Writes that check a
// precondition (a code not used yet, a device not registered yet) do it in the statement's own WHERE,
// so two concurrent transactions cannot both pass it.
#include "schema/store/postgres/pg_accounts.hpp"

#include <algorithm>
#include <cstdint>

namespace akt::store::pg {
namespace {

constexpr const char* kUserCols =
    "u.id, u.username, u.display_name, u.role, u.password_hash, COALESCE(u.supervisor_id, 0), u.disabled, "
    "u.scope_version, u.created_at, u.special_category, u.resolver_actor::text";

User read_user(const PgResult& r, int row, int c) {
  User u;
  u.id = r.int64(row, c);
  u.username = r.str(row, c + 1);
  u.display_name = r.str(row, c + 2);
  u.role = sync::role_from_string(r.str(row, c + 3)).value_or(sync::Role::kEnumerator);
  u.password_hash = r.str(row, c + 4);
  u.supervisor_id = r.int64(row, c + 5);
  u.disabled = r.boolean(row, c + 6);
  u.scope_version = r.int64(row, c + 7);
  u.created_at = r.int64(row, c + 8);
  u.special_category = r.boolean(row, c + 9);
  u.resolver_actor = r.str(row, c + 10);
  return u;
}

Result<std::optional<User>> one_user(Result<PgResult> r) {
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<User>();
  return std::optional<User>(read_user(*r, 0, 0));
}

std::vector<sync::Assignment> read_assignments(const PgResult& r) {
  std::vector<sync::Assignment> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back({r.str(i, 0), r.str(i, 1), r.str(i, 2), r.str(i, 3)});
  return out;
}

// A supervisor's scope covers their team's assignments too.
Status add_team_scope(PgConn& c, std::int64_t supervisor_id, std::vector<sync::Assignment>& scope) {
  auto r = c.exec(
      "SELECT a.municipality, a.community, a.component, a.form_id FROM assignments a JOIN users u ON u.id = a.user_id "
      "WHERE u.supervisor_id = $1::bigint ORDER BY a.id",
      {int64(supervisor_id)});
  if (!r.ok()) return r.status();
  for (auto& a : read_assignments(*r)) scope.push_back(std::move(a));
  return {};
}

Status run(Result<PgResult> r) { return r.status(); }

}  // namespace

Result<std::int64_t> insert_user(PgConn& c, const User& u) {
  // ON CONFLICT DO NOTHING: a taken username is an answer, not an error that would end the transaction.
  auto r = c.exec(
      "INSERT INTO users(username, display_name, role, password_hash, supervisor_id, disabled, created_at) "
      "VALUES($1, $2, $3, $4, NULLIF($5::bigint, 0), $6::boolean, $7::bigint) ON CONFLICT (username) DO NOTHING "
      "RETURNING id",
      {text(u.username), text(u.display_name), text(sync::to_string(u.role)), text(u.password_hash),
       int64(u.supervisor_id), boolean(u.disabled), int64(u.created_at)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return Status::conflict("user '" + u.username + "' exists");
  return r->int64(0, 0);
}

Result<std::optional<User>> find_user(PgConn& c, const std::string& username) {
  static const std::string sql = std::string("SELECT ") + kUserCols + " FROM users u WHERE u.username = $1";
  return one_user(c.exec(sql, {text(username)}));
}

Result<std::optional<User>> find_user_by_id(PgConn& c, std::int64_t id) {
  static const std::string sql = std::string("SELECT ") + kUserCols + " FROM users u WHERE u.id = $1::bigint";
  return one_user(c.exec(sql, {int64(id)}));
}

Result<std::vector<User>> list_users(PgConn& c) {
  static const std::string sql = std::string("SELECT ") + kUserCols + " FROM users u ORDER BY u.username";
  auto r = c.exec(sql);
  if (!r.ok()) return r.status();
  std::vector<User> out;
  for (int i = 0; i < r->rows(); ++i) out.push_back(read_user(*r, i, 0));
  return out;
}

Status set_role(PgConn& c, std::int64_t user_id, sync::Role role) {
  return run(c.exec("UPDATE users SET role = $2, scope_version = scope_version + 1 WHERE id = $1::bigint",
                    {int64(user_id), text(sync::to_string(role))}));
}

Status set_special_category(PgConn& c, std::int64_t user_id, bool granted) {
  return run(c.exec("UPDATE users SET special_category = $2::boolean WHERE id = $1::bigint",
                    {int64(user_id), boolean(granted)}));
}

Status set_disabled(PgConn& c, std::int64_t user_id, bool disabled) {
  return run(
      c.exec("UPDATE users SET disabled = $2::boolean WHERE id = $1::bigint", {int64(user_id), boolean(disabled)}));
}

Status set_password_hash(PgConn& c, std::int64_t user_id, const std::string& hash) {
  return run(c.exec("UPDATE users SET password_hash = $2 WHERE id = $1::bigint", {int64(user_id), text(hash)}));
}

Status revoke_sessions(PgConn& c, std::int64_t user_id, std::int64_t now, const std::string& keep) {
  return run(c.exec(
      "UPDATE tokens SET revoked_at = $2::bigint WHERE user_id = $1::bigint AND kind = 'session' AND revoked_at IS NULL "
      "AND hash <> $3::bytea",
      {int64(user_id), int64(now), bytes(keep)}));
}

Status bump_supervisor_scope(PgConn& c, std::int64_t user_id) {
  return run(c.exec(
      "UPDATE users SET scope_version = scope_version + 1 WHERE id = (SELECT supervisor_id FROM users WHERE id = "
      "$1::bigint)",
      {int64(user_id)}));
}

Status set_supervisor(PgConn& c, std::int64_t user_id, std::int64_t supervisor_id) {
  AKT_TRY(bump_supervisor_scope(c, user_id));  // the old supervisor
  AKT_TRY(run(c.exec("UPDATE users SET supervisor_id = NULLIF($2::bigint, 0) WHERE id = $1::bigint",
                     {int64(user_id), int64(supervisor_id)})));
  return bump_supervisor_scope(c, user_id);  // the new one
}

Status set_assignments(PgConn& c, std::int64_t user_id, const std::vector<sync::Assignment>& assignments) {
  AKT_TRY(run(c.exec("DELETE FROM assignments WHERE user_id = $1::bigint", {int64(user_id)})));
  for (const sync::Assignment& a : assignments)
    AKT_TRY(run(c.exec(
        "INSERT INTO assignments(user_id, municipality, community, component, form_id) VALUES($1::bigint,$2,$3,$4,$5)",
        {int64(user_id), text(a.municipality), text(a.community), text(a.component), text(a.form_id)})));
  return run(c.exec("UPDATE users SET scope_version = scope_version + 1 WHERE id = $1::bigint", {int64(user_id)}));
}

Result<std::vector<sync::Assignment>> assignments_of(PgConn& c, std::int64_t user_id) {
  auto r = c.exec(
      "SELECT municipality, community, component, form_id FROM assignments WHERE user_id = $1::bigint ORDER BY id",
      {int64(user_id)});
  if (!r.ok()) return r.status();
  return read_assignments(*r);
}

Status insert_token(PgConn& c, const std::string& hash, const std::string& kind, std::int64_t user_id,
                    const std::string& device_actor, std::int64_t now, std::int64_t expires_at) {
  return run(c.exec(
      "INSERT INTO tokens(hash, kind, user_id, device_actor, created_at, expires_at) "
      "VALUES($1::bytea, $2, $3::bigint, $4::uuid, $5::bigint, $6::bigint)",
      {bytes(hash), text(kind), int64(user_id), uuid_or_null(device_actor), int64(now), int64(expires_at)}));
}

Result<std::optional<TokenInfo>> lookup_token(PgConn& c, const std::string& hash) {
  static const std::string sql =
      std::string("SELECT t.kind, COALESCE(t.device_actor::text, ''), t.expires_at, ") +
      "t.revoked_at IS NOT NULL OR d.revoked_at IS NOT NULL, " + kUserCols +
      " FROM tokens t JOIN users u ON u.id = t.user_id LEFT JOIN devices d ON d.actor = t.device_actor "
      "WHERE t.hash = $1::bytea";
  auto r = c.exec(sql, {bytes(hash)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<TokenInfo>();
  TokenInfo info;
  info.kind = r->str(0, 0);
  info.device_actor = r->str(0, 1);
  info.expires_at = r->int64(0, 2);
  info.revoked = r->boolean(0, 3);
  info.user = read_user(*r, 0, 4);
  auto own = assignments_of(c, info.user.id);
  if (!own.ok()) return own.status();
  info.scope = std::move(*own);
  if (info.user.role == sync::Role::kSupervisor) AKT_TRY(add_team_scope(c, info.user.id, info.scope));
  return std::optional<TokenInfo>(std::move(info));
}

Status revoke_token(PgConn& c, const std::string& hash, std::int64_t now) {
  return run(c.exec("UPDATE tokens SET revoked_at = $2::bigint WHERE hash = $1::bytea AND revoked_at IS NULL",
                    {bytes(hash), int64(now)}));
}

Result<std::optional<std::int64_t>> device_owner(PgConn& c, const std::string& actor) {
  auto r = c.exec("SELECT COALESCE(user_id, 0) FROM devices WHERE actor = $1::uuid", {text(actor)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(r->int64(0, 0));
}

Result<std::optional<std::vector<sync::Assignment>>> device_user_scope(PgConn& c, const std::string& actor) {
  using Scope = std::optional<std::vector<sync::Assignment>>;
  auto r = c.exec("SELECT u.id, u.role FROM devices d JOIN users u ON u.id = d.user_id WHERE d.actor = $1::uuid",
                  {text(actor)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return Scope();
  const std::int64_t user_id = r->int64(0, 0);
  auto role = sync::role_from_string(r->str(0, 1));
  if (!role) return Status::corruption("unknown role of user " + std::to_string(user_id));
  if (sync::reads_everything(*role)) return Scope();
  auto scope = assignments_of(c, user_id);
  if (!scope.ok()) return scope.status();
  if (*role == sync::Role::kSupervisor) AKT_TRY(add_team_scope(c, user_id, *scope));
  return Scope(std::move(*scope));
}

Result<std::vector<DeviceRow>> list_devices(PgConn& c) {
  auto r = c.exec(
      "SELECT d.actor::text, d.name, COALESCE(u.username, ''), d.app_version, d.registered_at, d.last_push, "
      "d.last_pull, d.last_cursor, COALESCE(d.revoked_at, 0), d.client_app, COALESCE(d.unsynced, -1), d.reported_at "
      "FROM devices d LEFT JOIN users u ON u.id = d.user_id ORDER BY d.name, d.actor");
  if (!r.ok()) return r.status();
  std::vector<DeviceRow> out;
  for (int i = 0; i < r->rows(); ++i) {
    DeviceRow d;
    d.actor = r->str(i, 0);
    d.name = r->str(i, 1);
    d.username = r->str(i, 2);
    d.app_version = r->str(i, 3);
    d.registered_at = r->int64(i, 4);
    d.last_push = r->int64(i, 5);
    d.last_pull = r->int64(i, 6);
    d.last_cursor = r->int64(i, 7);
    d.revoked_at = r->int64(i, 8);
    d.client_app = r->str(i, 9);
    d.unsynced = r->int64(i, 10);
    d.reported_at = r->int64(i, 11);
    out.push_back(std::move(d));
  }
  return out;
}

Result<std::pair<std::string, std::string>> device_of(PgConn& c, const std::string& actor) {
  auto r = c.exec(
      "SELECT d.name, COALESCE(u.username, '') FROM devices d LEFT JOIN users u ON u.id = d.user_id "
      "WHERE d.actor = $1::uuid",
      {text(actor)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::pair<std::string, std::string>();
  return std::pair<std::string, std::string>(r->str(0, 0), r->str(0, 1));
}

Status revoke_device(PgConn& c, const std::string& actor, std::int64_t now) {
  auto r = c.exec("UPDATE devices SET revoked_at = $2::bigint WHERE actor = $1::uuid AND user_id IS NOT NULL",
                  {text(actor), int64(now)});
  if (!r.ok()) return r.status();
  if (r->affected() == 0) return Status::not_found("no registered device " + actor);
  return run(c.exec("UPDATE tokens SET revoked_at = $2::bigint WHERE device_actor = $1::uuid AND revoked_at IS NULL",
                    {text(actor), int64(now)}));
}

Status insert_enrolment(PgConn& c, const std::string& code_hash, std::int64_t user_id, const std::string& device_name,
                        std::int64_t created_by, std::int64_t now, std::int64_t expires_at) {
  return run(c.exec(
      "INSERT INTO enrolments(code_hash, user_id, device_name, created_by, created_at, expires_at) "
      "VALUES($1::bytea, $2::bigint, $3, $4::bigint, $5::bigint, $6::bigint)",
      {bytes(code_hash), int64(user_id), text(device_name), int64(created_by), int64(now), int64(expires_at)}));
}

Result<std::pair<std::int64_t, std::string>> use_enrolment(PgConn& c, const std::string& code_hash,
                                                           const std::string& actor, std::int64_t now) {
  // One statement: of two concurrent uses of a code, the second re-reads used_at after the first commits.
  auto r = c.exec(
      "UPDATE enrolments SET used_at = $2::bigint, used_by = $3::uuid WHERE code_hash = $1::bytea AND used_at IS NULL "
      "AND expires_at > $2::bigint RETURNING user_id, device_name",
      {bytes(code_hash), int64(now), text(actor)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return Status::not_found("unknown, used or expired enrolment code");
  return std::pair<std::int64_t, std::string>(r->int64(0, 0), r->str(0, 1));
}

Status register_device(PgConn& c, const std::string& actor, std::int64_t user_id, const std::string& name,
                       const std::string& app_version, std::int64_t now) {
  // A row of no user that never pushed (a device that only reported itself) is taken over; any other
  // existing row is a registered actor.
  auto r = c.exec(
      "INSERT INTO devices(actor, user_id, name, registered_at, app_version) "
      "VALUES($1::uuid, $2::bigint, $3, $4::bigint, $5) ON CONFLICT (actor) DO UPDATE SET user_id = excluded.user_id, "
      "name = excluded.name, registered_at = excluded.registered_at, app_version = excluded.app_version "
      "WHERE devices.user_id IS NULL AND devices.last_push = 0",
      {text(actor), int64(user_id), text(name), int64(now), text(app_version)});
  if (!r.ok()) return r.status();
  if (r->affected() == 0)
    return Status::conflict("actor " + actor + " is already registered; a reinstall must use a new actor id");
  return {};
}

Status rebind_device(PgConn& c, const std::string& actor, const std::string& name, const std::string& app_version,
                     std::int64_t now) {
  AKT_TRY(run(c.exec("UPDATE devices SET name = $2, app_version = $3, revoked_at = NULL WHERE actor = $1::uuid",
                     {text(actor), text(name), text(app_version)})));
  return run(c.exec("UPDATE tokens SET revoked_at = $2::bigint WHERE device_actor = $1::uuid AND revoked_at IS NULL",
                    {text(actor), int64(now)}));
}

Status report_device_client(PgConn& c, const std::string& actor, const std::string& app, std::int64_t unsynced,
                            std::int64_t now) {
  return run(c.exec(
      "INSERT INTO devices(actor, client_app, unsynced, reported_at) VALUES($1::uuid, $2::text, $3::bigint, $4::bigint) "
      "ON CONFLICT (actor) DO UPDATE SET client_app = CASE WHEN $2::text = '' THEN devices.client_app ELSE $2::text "
      "END, unsynced = COALESCE($3::bigint, devices.unsynced), reported_at = $4::bigint",
      {text(actor), text(app), unsynced >= 0 ? int64(unsynced) : null(), int64(now)}));
}

Result<std::optional<DeviceReport>> read_device_report(PgConn& c, const std::string& actor) {
  auto r = c.exec("SELECT client_app, COALESCE(unsynced, -1), reported_at FROM devices WHERE actor = $1::uuid",
                  {text(actor)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<DeviceReport>();
  return std::optional<DeviceReport>(DeviceReport{r->str(0, 0), r->int64(0, 1), r->int64(0, 2)});
}

Status insert_audit(PgConn& c, std::int64_t at, const std::string& username, const std::string& action,
                    const std::string& target, const std::string& detail_json, const std::string& remote) {
  return run(c.exec(
      "INSERT INTO audit(at, username, action, target, detail, remote) VALUES($1::bigint, $2, $3, $4, $5, $6)",
      {int64(at), text(username), text(action), text(target), text(detail_json), text(remote)}));
}

Result<std::vector<AuditRow>> list_audit(PgConn& c, const AuditFilter& f, std::int64_t before_id, std::size_t limit) {
  auto r = c.exec(
      "SELECT id, at, username, action, target, detail, remote FROM audit WHERE ($1::bigint = 0 OR id < $1::bigint) "
      "AND (NOT $3::boolean OR username = $4::text) AND ($5::text = '' OR action = $5::text) "
      "AND ($6::bigint = 0 OR at >= $6::bigint) AND ($7::bigint = 0 OR at < $7::bigint) "
      "ORDER BY id DESC LIMIT $2::bigint",
      {int64(before_id), int64(static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX))), boolean(f.username.has_value()),
       text(f.username.value_or("")), text(f.action), int64(f.from_ms), int64(f.to_ms)});
  if (!r.ok()) return r.status();
  std::vector<AuditRow> out;
  for (int i = 0; i < r->rows(); ++i)
    out.push_back({r->int64(i, 0), r->int64(i, 1), r->str(i, 2), r->str(i, 3), r->str(i, 4), r->str(i, 5),
                   r->str(i, 6)});
  return out;
}

}  // namespace akt::store::pg

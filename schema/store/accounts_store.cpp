// Accounts tables: plain statements, one function each.
#include "schema/store/accounts_store.hpp"

#include "schema/store/push_apply.hpp"

namespace akt::store {

namespace {

User read_user(Stmt& s, int c) {
  User u;
  u.id = s.int64(c);
  u.username = std::string(s.text(c + 1));
  u.display_name = std::string(s.text(c + 2));
  u.role = sync::role_from_string(s.text(c + 3)).value_or(sync::Role::kEnumerator);
  u.password_hash = std::string(s.text(c + 4));
  u.supervisor_id = s.int64(c + 5);
  u.disabled = s.int64(c + 6) != 0;
  u.scope_version = s.int64(c + 7);
  u.created_at = s.int64(c + 8);
  u.special_category = s.int64(c + 9) != 0;
  u.resolver_actor = std::string(s.text(c + 10));
  return u;
}

constexpr const char* kUserCols =
    "u.id, u.username, u.display_name, u.role, u.password_hash, COALESCE(u.supervisor_id, 0), u.disabled, "
    "u.scope_version, u.created_at, u.special_category, COALESCE(u.resolver_actor, '')";

}  // namespace

Result<std::int64_t> insert_user(Db& db, const User& u) {
  AKT_STMT(s, db,
           "INSERT INTO users(username, display_name, role, password_hash, supervisor_id, disabled, created_at) "
           "VALUES(?1, ?2, ?3, ?4, NULLIF(?5, 0), ?6, ?7)");
  s->bind(1, u.username);
  s->bind(2, u.display_name);
  s->bind(3, sync::to_string(u.role));
  s->bind(4, u.password_hash);
  s->bind(5, u.supervisor_id);
  s->bind(6, std::int64_t{u.disabled});
  s->bind(7, u.created_at);
  Status st = s->run();
  if (st.code() == Status::Code::kConflict) return Status::conflict("user '" + u.username + "' exists");
  if (!st.ok()) return st;
  return db.last_insert_rowid();
}

Result<std::optional<User>> find_user(Db& db, const std::string& username) {
  static const std::string sql = std::string("SELECT ") + kUserCols + " FROM users u WHERE u.username = ?1";
  AKT_STMT(s, db, sql.c_str());
  s->bind(1, username);
  auto row = s->step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<User>();
  return std::optional<User>(read_user(*s, 0));
}

Result<std::optional<User>> find_user_by_id(Db& db, std::int64_t id) {
  static const std::string sql = std::string("SELECT ") + kUserCols + " FROM users u WHERE u.id = ?1";
  AKT_STMT(s, db, sql.c_str());
  s->bind(1, id);
  auto row = s->step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<User>();
  return std::optional<User>(read_user(*s, 0));
}

Result<std::vector<User>> list_users(Db& db) {
  static const std::string sql = std::string("SELECT ") + kUserCols + " FROM users u ORDER BY u.username";
  AKT_STMT(s, db, sql.c_str());
  std::vector<User> out;
  for (;;) {
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(read_user(*s, 0));
  }
}

Status set_role(Db& db, std::int64_t user_id, sync::Role role) {
  AKT_STMT(s, db, "UPDATE users SET role = ?2, scope_version = scope_version + 1 WHERE id = ?1");
  s->bind(1, user_id);
  s->bind(2, sync::to_string(role));
  return s->run();
}

Status set_special_category(Db& db, std::int64_t user_id, bool granted) {
  AKT_STMT(s, db, "UPDATE users SET special_category = ?2 WHERE id = ?1");
  s->bind(1, user_id);
  s->bind(2, std::int64_t{granted});
  return s->run();
}

Status set_disabled(Db& db, std::int64_t user_id, bool disabled) {
  AKT_STMT(s, db, "UPDATE users SET disabled = ?2 WHERE id = ?1");
  s->bind(1, user_id);
  s->bind(2, std::int64_t{disabled});
  return s->run();
}

Status set_password_hash(Db& db, std::int64_t user_id, const std::string& hash) {
  AKT_STMT(s, db, "UPDATE users SET password_hash = ?2 WHERE id = ?1");
  s->bind(1, user_id);
  s->bind(2, hash);
  return s->run();
}

Status revoke_sessions(Db& db, std::int64_t user_id, std::int64_t now, const std::string& keep) {
  AKT_STMT(s, db,
           "UPDATE tokens SET revoked_at = ?2 WHERE user_id = ?1 AND kind = 'session' AND revoked_at IS NULL "
           "AND hash != ?3");
  s->bind(1, user_id);
  s->bind(2, now);
  s->bind_blob(3, keep.data(), keep.size());
  return s->run();
}

Status bump_supervisor_scope(Db& db, std::int64_t user_id) {
  AKT_STMT(s, db,
           "UPDATE users SET scope_version = scope_version + 1 "
           "WHERE id = (SELECT supervisor_id FROM users WHERE id = ?1)");
  s->bind(1, user_id);
  return s->run();
}

Status set_supervisor(Db& db, std::int64_t user_id, std::int64_t supervisor_id) {
  AKT_TRY(bump_supervisor_scope(db, user_id));  // the old supervisor
  {
    AKT_STMT(s, db, "UPDATE users SET supervisor_id = ?2 WHERE id = ?1");
    s->bind(1, user_id);
    if (supervisor_id == 0) s->bind_null(2);
    else s->bind(2, supervisor_id);
    AKT_TRY(s->run());
  }
  return bump_supervisor_scope(db, user_id);  // the new one
}

Status set_assignments(Db& db, std::int64_t user_id, const std::vector<sync::Assignment>& assignments) {
  {
    AKT_STMT(s, db, "DELETE FROM assignments WHERE user_id = ?1");
    s->bind(1, user_id);
    AKT_TRY(s->run());
  }
  for (const sync::Assignment& a : assignments) {
    AKT_STMT(s, db,
             "INSERT INTO assignments(user_id, municipality, community, component, form_id) VALUES(?1,?2,?3,?4,?5)");
    s->bind(1, user_id);
    s->bind(2, a.municipality);
    s->bind(3, a.community);
    s->bind(4, a.component);
    s->bind(5, a.form_id);
    AKT_TRY(s->run());
  }
  AKT_STMT(s, db, "UPDATE users SET scope_version = scope_version + 1 WHERE id = ?1");
  s->bind(1, user_id);
  return s->run();
}

Result<std::vector<sync::Assignment>> assignments_of(Db& db, std::int64_t user_id) {
  AKT_STMT(s, db,
           "SELECT municipality, community, component, form_id FROM assignments WHERE user_id = ?1 ORDER BY id");
  s->bind(1, user_id);
  std::vector<sync::Assignment> out;
  for (;;) {
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back({std::string(s->text(0)), std::string(s->text(1)), std::string(s->text(2)),
                   std::string(s->text(3))});
  }
}

Result<std::optional<std::vector<sync::Assignment>>> device_user_scope(Db& db, const std::string& actor) {
  using Scope = std::optional<std::vector<sync::Assignment>>;
  std::int64_t user_id = 0;
  sync::Role role = sync::Role::kEnumerator;
  {
    AKT_STMT(s, db, "SELECT u.id, u.role FROM devices d JOIN users u ON u.id = d.user_id WHERE d.actor = ?1");
    const std::string blob = uuid_blob(actor);
    s->bind_blob(1, blob.data(), blob.size());
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return Scope();
    user_id = s->int64(0);
    auto r = sync::role_from_string(s->text(1));
    if (!r) return Status::corruption("unknown role of user " + std::to_string(user_id));
    role = *r;
  }
  if (sync::reads_everything(role)) return Scope();
  auto own = assignments_of(db, user_id);
  if (!own.ok()) return own.status();
  std::vector<sync::Assignment> scope = std::move(*own);
  if (role == sync::Role::kSupervisor) {
    AKT_STMT(s, db,
             "SELECT a.municipality, a.community, a.component, a.form_id FROM assignments a "
             "JOIN users u ON u.id = a.user_id WHERE u.supervisor_id = ?1");
    s->bind(1, user_id);
    for (;;) {
      auto row = s->step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      scope.push_back({std::string(s->text(0)), std::string(s->text(1)), std::string(s->text(2)),
                       std::string(s->text(3))});
    }
  }
  return Scope(std::move(scope));
}

Status insert_token(Db& db, const std::string& hash, const std::string& kind, std::int64_t user_id,
                    const std::string& device_actor, std::int64_t now, std::int64_t expires_at) {
  AKT_STMT(s, db,
           "INSERT INTO tokens(hash, kind, user_id, device_actor, created_at, expires_at) VALUES(?1,?2,?3,?4,?5,?6)");
  s->bind_blob(1, hash.data(), hash.size());
  s->bind(2, kind);
  s->bind(3, user_id);
  if (device_actor.empty()) {
    s->bind_null(4);
  } else {
    std::string blob = uuid_blob(device_actor);
    s->bind_blob(4, blob.data(), blob.size());
  }
  s->bind(5, now);
  s->bind(6, expires_at);
  return s->run();
}

Result<std::optional<TokenInfo>> lookup_token(Db& db, const std::string& hash) {
  static const std::string sql =
      std::string("SELECT t.kind, t.device_actor, t.expires_at, t.revoked_at IS NOT NULL OR d.revoked_at IS NOT NULL, ") +
      kUserCols +
      " FROM tokens t JOIN users u ON u.id = t.user_id LEFT JOIN devices d ON d.actor = t.device_actor "
      "WHERE t.hash = ?1";
  TokenInfo info;
  {
    AKT_STMT(s, db, sql.c_str());
    s->bind_blob(1, hash.data(), hash.size());
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<TokenInfo>();
    info.kind = std::string(s->text(0));
    if (!s->is_null(1)) info.device_actor = blob_uuid(s->blob(1));
    info.expires_at = s->int64(2);
    info.revoked = s->int64(3) != 0;
    info.user = read_user(*s, 4);
  }
  auto own = assignments_of(db, info.user.id);
  if (!own.ok()) return own.status();
  info.scope = std::move(*own);
  if (info.user.role == sync::Role::kSupervisor) {
    // A supervisor sees their team's scope as well as their own.
    AKT_STMT(s, db,
             "SELECT a.municipality, a.community, a.component, a.form_id FROM assignments a "
             "JOIN users u ON u.id = a.user_id WHERE u.supervisor_id = ?1");
    s->bind(1, info.user.id);
    for (;;) {
      auto row = s->step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      info.scope.push_back({std::string(s->text(0)), std::string(s->text(1)), std::string(s->text(2)),
                            std::string(s->text(3))});
    }
  }
  return std::optional<TokenInfo>(std::move(info));
}

Status revoke_token(Db& db, const std::string& hash, std::int64_t now) {
  AKT_STMT(s, db, "UPDATE tokens SET revoked_at = ?2 WHERE hash = ?1 AND revoked_at IS NULL");
  s->bind_blob(1, hash.data(), hash.size());
  s->bind(2, now);
  return s->run();
}

Status revoke_device(Db& db, const std::string& actor, std::int64_t now) {
  const std::string blob = uuid_blob(actor);
  {
    AKT_STMT(s, db, "UPDATE devices SET revoked_at = ?2 WHERE actor = ?1 AND user_id IS NOT NULL");
    s->bind_blob(1, blob.data(), blob.size());
    s->bind(2, now);
    AKT_TRY(s->run());
    if (db.changes() == 0) return Status::not_found("no registered device " + actor);
  }
  AKT_STMT(s, db, "UPDATE tokens SET revoked_at = ?2 WHERE device_actor = ?1 AND revoked_at IS NULL");
  s->bind_blob(1, blob.data(), blob.size());
  s->bind(2, now);
  return s->run();
}

Status insert_enrolment(Db& db, const std::string& code_hash, std::int64_t user_id, const std::string& device_name,
                        std::int64_t created_by, std::int64_t now, std::int64_t expires_at) {
  AKT_STMT(s, db,
           "INSERT INTO enrolments(code_hash, user_id, device_name, created_by, created_at, expires_at) "
           "VALUES(?1,?2,?3,?4,?5,?6)");
  s->bind_blob(1, code_hash.data(), code_hash.size());
  s->bind(2, user_id);
  s->bind(3, device_name);
  s->bind(4, created_by);
  s->bind(5, now);
  s->bind(6, expires_at);
  return s->run();
}

Result<std::pair<std::int64_t, std::string>> use_enrolment(Db& db, const std::string& code_hash,
                                                           const std::string& actor, std::int64_t now) {
  std::pair<std::int64_t, std::string> out;
  {
    AKT_STMT(s, db,
             "SELECT user_id, device_name FROM enrolments WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > ?2");
    s->bind_blob(1, code_hash.data(), code_hash.size());
    s->bind(2, now);
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::not_found("unknown, used or expired enrolment code");
    out = {s->int64(0), std::string(s->text(1))};
  }
  AKT_STMT(s, db, "UPDATE enrolments SET used_at = ?2, used_by = ?3 WHERE code_hash = ?1");
  const std::string blob = uuid_blob(actor);
  s->bind_blob(1, code_hash.data(), code_hash.size());
  s->bind(2, now);
  s->bind_blob(3, blob.data(), blob.size());
  AKT_TRY(s->run());
  return out;
}

Status register_device(Db& db, const std::string& actor, std::int64_t user_id, const std::string& name,
                       const std::string& app_version, std::int64_t now) {
  const std::string blob = uuid_blob(actor);
  {
    AKT_STMT(s, db, "SELECT user_id IS NOT NULL OR last_push > 0 FROM devices WHERE actor = ?1");
    s->bind_blob(1, blob.data(), blob.size());
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (*row && s->int64(0) != 0)
      return Status::conflict("actor " + actor + " is already registered; a reinstall must use a new actor id");
  }
  AKT_STMT(s, db,
           "INSERT INTO devices(actor, user_id, name, registered_at, app_version) VALUES(?1,?2,?3,?4,?5) "
           "ON CONFLICT(actor) DO UPDATE SET user_id = excluded.user_id, name = excluded.name, "
           "registered_at = excluded.registered_at, app_version = excluded.app_version");
  s->bind_blob(1, blob.data(), blob.size());
  s->bind(2, user_id);
  s->bind(3, name);
  s->bind(4, now);
  s->bind(5, app_version);
  return s->run();
}

Result<std::optional<std::int64_t>> device_owner(Db& db, const std::string& actor) {
  const std::string blob = uuid_blob(actor);
  AKT_STMT(s, db, "SELECT COALESCE(user_id, 0) FROM devices WHERE actor = ?1");
  s->bind_blob(1, blob.data(), blob.size());
  auto row = s->step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(s->int64(0));
}

Result<bool> actor_has_versions(Db& db, const std::string& actor) {
  const std::string blob = uuid_blob(actor);
  {
    AKT_STMT(s, db, "SELECT 1 FROM versions WHERE actor = ?1 LIMIT 1");
    s->bind_blob(1, blob.data(), blob.size());
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (*row) return true;
  }
  // Named only in a context (clock_actors, migration 13).
  AKT_STMT(s, db, "SELECT 1 FROM clock_actors WHERE actor = lower(?1)");
  s->bind(1, actor);
  auto row = s->step();
  if (!row.ok()) return row.status();
  return *row;
}

Status rebind_device(Db& db, const std::string& actor, const std::string& name, const std::string& app_version,
                     std::int64_t now) {
  const std::string blob = uuid_blob(actor);
  {
    AKT_STMT(s, db, "UPDATE devices SET name = ?2, app_version = ?3, revoked_at = NULL WHERE actor = ?1");
    s->bind_blob(1, blob.data(), blob.size());
    s->bind(2, name);
    s->bind(3, app_version);
    AKT_TRY(s->run());
  }
  AKT_STMT(s, db, "UPDATE tokens SET revoked_at = ?2 WHERE device_actor = ?1 AND revoked_at IS NULL");
  s->bind_blob(1, blob.data(), blob.size());
  s->bind(2, now);
  return s->run();
}

Result<std::vector<DeviceRow>> list_devices(Db& db) {
  AKT_STMT(s, db,
           "SELECT d.actor, d.name, COALESCE(u.username, ''), d.app_version, d.registered_at, d.last_push, "
           "d.last_pull, d.last_cursor, COALESCE(d.revoked_at, 0), d.client_app, COALESCE(d.unsynced, -1), "
           "d.reported_at FROM devices d LEFT JOIN users u ON u.id = d.user_id "
           "ORDER BY d.name, d.actor");
  std::vector<DeviceRow> out;
  for (;;) {
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    DeviceRow d;
    d.actor = blob_uuid(s->blob(0));
    d.name = std::string(s->text(1));
    d.username = std::string(s->text(2));
    d.app_version = std::string(s->text(3));
    d.registered_at = s->int64(4);
    d.last_push = s->int64(5);
    d.last_pull = s->int64(6);
    d.last_cursor = s->int64(7);
    d.revoked_at = s->int64(8);
    d.client_app = std::string(s->text(9));
    d.unsynced = s->int64(10);
    d.reported_at = s->int64(11);
    out.push_back(std::move(d));
  }
}

Status report_device_client(Db& db, const std::string& actor, const std::string& app, std::int64_t unsynced,
                            std::int64_t now) {
  const std::string blob = uuid_blob(actor);
  AKT_STMT(s, db,
           "INSERT INTO devices(actor, client_app, unsynced, reported_at) VALUES(?1, ?2, ?3, ?4) "
           "ON CONFLICT(actor) DO UPDATE SET client_app = CASE WHEN ?2 = '' THEN client_app ELSE ?2 END, "
           "unsynced = COALESCE(?3, unsynced), reported_at = ?4");
  s->bind_blob(1, blob.data(), blob.size());
  s->bind(2, app);
  if (unsynced >= 0)
    s->bind(3, unsynced);
  else
    s->bind_null(3);
  s->bind(4, now);
  return s->run();
}

Result<std::optional<DeviceReport>> read_device_report(Db& db, const std::string& actor) {
  const std::string blob = uuid_blob(actor);
  AKT_STMT(s, db, "SELECT client_app, COALESCE(unsynced, -1), reported_at FROM devices WHERE actor = ?1");
  s->bind_blob(1, blob.data(), blob.size());
  auto row = s->step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<DeviceReport>();
  return std::optional<DeviceReport>(DeviceReport{std::string(s->text(0)), s->int64(1), s->int64(2)});
}

Result<std::vector<PlaceCount>> count_records_by_place(Db& db) {
  AKT_STMT(s, db,
           "SELECT municipality, community, component, form_id, COUNT(*) FROM records WHERE deleted = 0 "
           "GROUP BY municipality, community, component, form_id ORDER BY municipality, form_id");
  std::vector<PlaceCount> out;
  for (;;) {
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back({std::string(s->text(0)), std::string(s->text(1)), std::string(s->text(2)),
                   std::string(s->text(3)), s->int64(4)});
  }
}

Status insert_audit(Db& db, std::int64_t at, const std::string& username, const std::string& action,
                    const std::string& target, const std::string& detail_json, const std::string& remote) {
  AKT_STMT(s, db,
           "INSERT INTO audit(at, username, action, target, detail, remote) VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
  s->bind(1, at);
  s->bind(2, username);
  s->bind(3, action);
  s->bind(4, target);
  s->bind(5, detail_json);
  s->bind(6, remote);
  return s->run();
}

Result<std::vector<AuditRow>> list_audit(Db& db, std::int64_t before_id, std::size_t limit) {
  AKT_STMT(s, db,
           "SELECT id, at, username, action, target, detail, remote FROM audit WHERE ?1 = 0 OR id < ?1 "
           "ORDER BY id DESC LIMIT ?2");
  s->bind(1, before_id);
  s->bind(2, static_cast<std::int64_t>(limit));
  std::vector<AuditRow> out;
  for (;;) {
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back({s->int64(0), s->int64(1), std::string(s->text(2)), std::string(s->text(3)),
                   std::string(s->text(4)), std::string(s->text(5)), std::string(s->text(6))});
  }
}

Result<bool> record_was_in_scope(Db& db, const std::string& record_id,
                                 const std::vector<sync::Assignment>& assignments, const std::string& form_id) {
  AKT_STMT(s, db, "SELECT municipality, community, component FROM record_scopes WHERE record_id = ?1");
  const std::string blob = uuid_blob(record_id);
  s->bind_blob(1, blob.data(), blob.size());
  for (;;) {
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return false;
    sync::Scope sc{std::string(s->text(0)), std::string(s->text(1)), std::string(s->text(2))};
    if (sync::in_scope(assignments, sc, form_id)) return true;
  }
}

}  // namespace akt::store

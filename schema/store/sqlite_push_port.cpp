// The push port on SQLite: each operation one cached statement (or a few) on the writer's connection.
// UUIDs are stored as 16-byte blobs, clocks, dots and path lists as their canonical JSON texts.
#include "schema/store/sqlite_push_port.hpp"

#include "schema/store/entry_trace.hpp"
#include "schema/store/push_apply.hpp"
#include "schema/store/stored_answer.hpp"
#include "sync/stored_changed.hpp"
#include "sync/wire_json.hpp"

namespace akt::store {

namespace {

void bind_uuid(Stmt& s, int i, const std::string& uuid) {
  const std::string blob = uuid_blob(uuid);
  s.bind_blob(i, blob.data(), blob.size());
}

// The columns read_version expects, in order.
#define AKT_VERSION_COLUMNS "actor, n, clock, parents, changed, body, deleted, form_version, device_time, server_time"

Status read_version(Stmt& s, sync::Version& v) {
  v.dot = {blob_uuid(s.blob(0)), s.int64(1)};
  auto clock = sync::decode_clock(s.text(2));
  auto parents = sync::decode_dots(s.text(3));
  auto changed = sync::decode_changed(s.text(4), s.text(5));
  if (!clock.ok() || !parents.ok() || !changed.ok()) return Status::corruption("unreadable stored version");
  v.clock = std::move(*clock);
  v.parents = std::move(*parents);
  v.changed = std::move(*changed);
  v.body = std::string(s.text(5));
  v.deleted = s.int64(6) != 0;
  v.form_version = s.int64(7);
  v.device_time = s.int64(8);
  v.server_time = s.int64(9);
  return {};
}

Result<std::optional<sync::Version>> one_version(Stmt& s) {
  auto row = s.step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<sync::Version>();
  sync::Version v;
  AKT_TRY(read_version(s, v));
  return std::optional<sync::Version>(std::move(v));
}

}  // namespace

Status SqlitePushPort::lock_record(const std::string&) { return {}; }
Status SqlitePushPort::lock_key(const std::string&, const std::string&) { return {}; }

Result<std::optional<std::pair<std::string, std::string>>> SqlitePushPort::stored_batch(const std::string& device,
                                                                                        const std::string& batch_id) {
  using Stored = std::optional<std::pair<std::string, std::string>>;
  AKT_STMT(s, db_, "SELECT digest, response FROM batches WHERE device = ?1 AND batch_id = ?2");
  bind_uuid(*s, 1, device);
  s->bind(2, batch_id);
  auto row = s->step();
  if (!row.ok()) return row.status();
  if (!*row) return Stored();
  auto answer = stored_answer_of(*s, 1);
  if (!answer.ok()) return answer.status();
  return Stored(std::pair<std::string, std::string>(std::string(s->blob(0)), std::move(*answer)));
}

Status SqlitePushPort::store_batch(const std::string& device, const std::string& batch_id, const std::string& digest,
                                   const std::string& response, std::int64_t now) {
  AKT_STMT(s, db_, "INSERT INTO batches(device, batch_id, digest, response, created_at) VALUES(?1,?2,?3,?4,?5)");
  bind_uuid(*s, 1, device);
  s->bind(2, batch_id);
  s->bind_blob(3, digest.data(), digest.size());
  bind_answer(*s, 4, response);  // compressed (stored_answer.hpp)
  s->bind(5, now);
  return s->run();
}

Status SqlitePushPort::note_push(const std::string& device, std::int64_t now) {
  AKT_STMT(s, db_,
           "INSERT INTO devices(actor, last_push) VALUES(?1, ?2) "
           "ON CONFLICT(actor) DO UPDATE SET last_push = excluded.last_push");
  bind_uuid(*s, 1, device);
  s->bind(2, now);
  return s->run();
}

Status SqlitePushPort::insert_quarantine(const QuarantineEntry& q) {
  AKT_STMT(s, db_,
           "INSERT INTO quarantine(device, batch_id, record_id, actor, n, code, detail, edit, received_at, fields, args) "
           "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)");
  bind_uuid(*s, 1, q.device);
  s->bind(2, q.batch_id);
  bind_uuid(*s, 3, q.record_id);
  bind_uuid(*s, 4, q.dot.actor);
  s->bind(5, q.dot.n);
  s->bind(6, q.code);
  s->bind(7, q.detail);
  s->bind(8, q.edit_json);
  s->bind(9, q.received_at);
  s->bind(10, q.fields_json);
  s->bind(11, q.args_json);
  return s->run();
}

Result<std::optional<RecordHead>> SqlitePushPort::read_record(const std::string& record_id) {
  AKT_STMT(s, db_,
           "SELECT form_id, seq, live_count, municipality, community, component, form_version "
           "FROM records WHERE id = ?1");
  bind_uuid(*s, 1, record_id);
  auto row = s->step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<RecordHead>();
  RecordHead h;
  h.form_id = std::string(s->text(0));
  h.seq = s->int64(1);
  h.live_count = s->int64(2);
  h.scope = {std::string(s->text(3)), std::string(s->text(4)), std::string(s->text(5))};
  h.form_version = s->int64(6);
  return std::optional<RecordHead>(std::move(h));
}

Status SqlitePushPort::write_record(const sync::Edit& e, std::int64_t seq, std::int64_t live_count, bool deleted,
                                    std::int64_t now, const std::vector<std::string>& pending_upload) {
  AKT_STMT(s, db_,
           "INSERT INTO records(id, form_id, form_version, municipality, community, component, seq, live_count, "
           "deleted, created_at, updated_at, pending_upload) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?10,?11) "
           "ON CONFLICT(id) DO UPDATE SET form_version = excluded.form_version, "
           "municipality = excluded.municipality, community = excluded.community, component = excluded.component, "
           "seq = excluded.seq, live_count = excluded.live_count, deleted = excluded.deleted, "
           "updated_at = excluded.updated_at");
  bind_uuid(*s, 1, e.record_id);
  s->bind(2, e.form_id);
  s->bind(3, e.form_version);
  s->bind(4, e.scope.municipality);
  s->bind(5, e.scope.community);
  s->bind(6, e.scope.component);
  s->bind(7, seq);
  s->bind(8, live_count);
  s->bind(9, std::int64_t{deleted});
  s->bind(10, now);
  s->bind(11, sync::encode_strings(pending_upload));
  return s->run();
}

Status SqlitePushPort::advance_record(const std::string& record_id, std::int64_t seq, std::int64_t live_count,
                                      bool deleted, std::optional<std::int64_t> form_version, std::int64_t now) {
  if (form_version) {
    AKT_STMT(s, db_,
             "UPDATE records SET seq = ?2, live_count = ?3, deleted = ?4, form_version = ?5, updated_at = ?6 "
             "WHERE id = ?1");
    bind_uuid(*s, 1, record_id);
    s->bind(2, seq);
    s->bind(3, live_count);
    s->bind(4, std::int64_t{deleted});
    s->bind(5, *form_version);
    s->bind(6, now);
    return s->run();
  }
  AKT_STMT(s, db_, "UPDATE records SET seq = ?2, live_count = ?3, deleted = ?4, updated_at = ?5 WHERE id = ?1");
  bind_uuid(*s, 1, record_id);
  s->bind(2, seq);
  s->bind(3, live_count);
  s->bind(4, std::int64_t{deleted});
  s->bind(5, now);
  return s->run();
}

Status SqlitePushPort::set_record_scope(const std::string& record_id, const sync::Scope& scope) {
  AKT_STMT(s, db_, "UPDATE records SET municipality = ?2, community = ?3, component = ?4 WHERE id = ?1");
  bind_uuid(*s, 1, record_id);
  s->bind(2, scope.municipality);
  s->bind(3, scope.community);
  s->bind(4, scope.component);
  return s->run();
}

Status SqlitePushPort::remember_scope(const std::string& record_id, const sync::Scope& scope) {
  AKT_STMT(s, db_,
           "INSERT OR IGNORE INTO record_scopes(record_id, municipality, community, component) VALUES(?1, ?2, ?3, ?4)");
  bind_uuid(*s, 1, record_id);
  s->bind(2, scope.municipality);
  s->bind(3, scope.community);
  s->bind(4, scope.component);
  return s->run();
}

Status SqlitePushPort::set_record_flags(const std::string& record_id, const std::vector<std::string>& conflicted,
                                        bool deletion_pending) {
  AKT_STMT(s, db_, "UPDATE records SET conflicted = ?2, deletion_pending = ?3 WHERE id = ?1");
  bind_uuid(*s, 1, record_id);
  s->bind(2, sync::encode_strings(conflicted));
  s->bind(3, std::int64_t{deletion_pending});
  return s->run();
}

Result<std::optional<std::string>> SqlitePushPort::dot_digest(const sync::Dot& dot) {
  AKT_STMT(s, db_, "SELECT digest FROM versions WHERE actor = ?1 AND n = ?2");
  bind_uuid(*s, 1, dot.actor);
  s->bind(2, dot.n);
  auto row = s->step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(std::string(s->blob(0)));
}

Result<std::int64_t> SqlitePushPort::max_counter(const std::string& actor) {
  AKT_STMT(s, db_, "SELECT COALESCE(MAX(n), 0) FROM versions WHERE actor = ?1");
  bind_uuid(*s, 1, actor);
  auto row = s->step();
  if (!row.ok()) return row.status();
  return s->int64(0);
}

Status SqlitePushPort::live_heads(const std::string& record_id, std::vector<LiveHead>& out) {
  AKT_STMT(s, db_, "SELECT actor, n, clock, deleted FROM versions WHERE record_id = ?1 AND is_live = 1");
  bind_uuid(*s, 1, record_id);
  for (;;) {
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return {};
    LiveHead h;
    h.dot = {blob_uuid(s->blob(0)), s->int64(1)};
    auto clock = sync::decode_clock(s->text(2));
    if (!clock.ok()) return Status::corruption("stored clock: " + clock.status().message());
    h.clock = std::move(*clock);
    h.deleted = s->int64(3) != 0;
    out.push_back(std::move(h));
  }
}

Status SqlitePushPort::live_versions(const std::string& record_id, std::vector<sync::Version>& out) {
  AKT_STMT(s, db_, "SELECT " AKT_VERSION_COLUMNS " FROM versions WHERE record_id = ?1 AND is_live = 1");
  bind_uuid(*s, 1, record_id);
  for (;;) {
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return {};
    AKT_TRY(read_version(*s, out.emplace_back()));
  }
}

Status SqlitePushPort::versions(const std::string& record_id, std::vector<StoredVersion>& out) {
  AKT_STMT(s, db_,
           "SELECT " AKT_VERSION_COLUMNS ", is_live, municipality, community, component FROM versions "
           "WHERE record_id = ?1");
  bind_uuid(*s, 1, record_id);
  for (;;) {
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return {};
    StoredVersion& v = out.emplace_back();
    AKT_TRY(read_version(*s, v.v));
    v.live = s->int64(10) != 0;
    v.scope = {std::string(s->text(11)), std::string(s->text(12)), std::string(s->text(13))};
  }
}

Result<std::optional<sync::Version>> SqlitePushPort::version_with_clock(const std::string& record_id,
                                                                        const sync::VectorClock& clock) {
  // Clocks are stored in one canonical text (zero entries never kept), so equal clocks compare as text.
  AKT_STMT(s, db_, "SELECT " AKT_VERSION_COLUMNS " FROM versions WHERE record_id = ?1 AND clock = ?2 LIMIT 1");
  bind_uuid(*s, 1, record_id);
  s->bind(2, sync::encode_clock(clock));
  return one_version(*s);
}

Result<std::optional<sync::Version>> SqlitePushPort::version_by_dot(const sync::Dot& dot) {
  AKT_STMT(s, db_, "SELECT " AKT_VERSION_COLUMNS " FROM versions WHERE actor = ?1 AND n = ?2");
  bind_uuid(*s, 1, dot.actor);
  s->bind(2, dot.n);
  return one_version(*s);
}

Status SqlitePushPort::insert_edit_version(const EditVersion& v) {
  const sync::Edit& e = v.edit;
  AKT_STMT(s, db_,
           "INSERT INTO versions(record_id, actor, n, clock, parents, changed, body, deleted, is_live, "
           "form_version, device_time, server_time, digest, municipality, community, component) "
           "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)");
  bind_uuid(*s, 1, e.record_id);
  bind_uuid(*s, 2, e.dot.actor);
  s->bind(3, e.dot.n);
  if (v.clock_text) s->bind(4, *v.clock_text);
  else s->bind(4, sync::encode_clock(e.clock()));
  s->bind(5, v.parents.empty() ? std::string("[]") : sync::encode_dots(v.parents));
  if (v.changed_text) s->bind(6, *v.changed_text);
  else s->bind(6, sync::stored_changed(e, sync::encode_strings(e.changed)));
  s->bind(7, e.body);
  s->bind(8, std::int64_t{e.deleted});
  s->bind(9, std::int64_t{v.live});
  s->bind(10, e.form_version);
  s->bind(11, e.device_time);
  s->bind(12, v.server_time);
  s->bind_blob(13, v.digest.data(), v.digest.size());
  s->bind(14, e.scope.municipality);
  s->bind(15, e.scope.community);
  s->bind(16, e.scope.component);
  return s->run();
}

Status SqlitePushPort::insert_server_version(const std::string& record_id, const sync::Version& v,
                                             const sync::Scope& scope, const std::string& digest) {
  AKT_STMT(s, db_,
           "INSERT INTO versions(record_id, actor, n, clock, parents, changed, body, deleted, is_live, "
           "form_version, device_time, server_time, digest, municipality, community, component) "
           "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,1,?9,0,?10,?11,?12,?13,?14)");
  bind_uuid(*s, 1, record_id);
  bind_uuid(*s, 2, v.dot.actor);
  s->bind(3, v.dot.n);
  s->bind(4, sync::encode_clock(v.clock));
  s->bind(5, sync::encode_dots(v.parents));
  s->bind(6, sync::encode_strings(v.changed));
  s->bind(7, v.body);
  s->bind(8, std::int64_t{v.deleted});
  s->bind(9, v.form_version);
  s->bind(10, v.server_time);
  s->bind_blob(11, digest.data(), digest.size());
  s->bind(12, scope.municipality);
  s->bind(13, scope.community);
  s->bind(14, scope.component);
  return s->run();
}

Status SqlitePushPort::retire_version(const sync::Dot& dot) {
  AKT_STMT(s, db_, "UPDATE versions SET is_live = 0 WHERE actor = ?1 AND n = ?2");
  bind_uuid(*s, 1, dot.actor);
  s->bind(2, dot.n);
  return s->run();
}

Status SqlitePushPort::retire_live(const std::string& record_id) {
  AKT_STMT(s, db_, "UPDATE versions SET is_live = 0 WHERE record_id = ?1 AND is_live = 1");
  bind_uuid(*s, 1, record_id);
  return s->run();
}

Status SqlitePushPort::note_clock_actor(const std::string& actor) {
  AKT_STMT(s, db_, "INSERT OR IGNORE INTO clock_actors(actor) VALUES(lower(?1))");
  s->bind(1, actor);
  return s->run();
}

Status SqlitePushPort::open_entries(const std::string& record_id, std::vector<OpenEntry>& out) {
  AKT_STMT(s, db_, "SELECT kind, path, candidates FROM conflicts WHERE record_id = ?1 AND status = 'open'");
  bind_uuid(*s, 1, record_id);
  for (;;) {
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return {};
    const auto kind = sync::inbox_kind_from(s->text(0));
    if (!kind) return Status::corruption("inbox entry of unknown kind " + std::string(s->text(0)));
    out.push_back({*kind, std::string(s->text(1)), std::string(s->text(2))});
  }
}

Result<std::optional<std::string>> SqlitePushPort::open_entry_candidates(const std::string& record_id,
                                                                         sync::InboxKind kind,
                                                                         const std::string& path) {
  AKT_STMT(s, db_,
           "SELECT candidates FROM conflicts WHERE record_id = ?1 AND kind = ?2 AND path = ?3 AND status = 'open'");
  bind_uuid(*s, 1, record_id);
  s->bind(2, sync::to_string(kind));
  s->bind(3, path);
  auto row = s->step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(std::string(s->text(0)));
}

Status SqlitePushPort::put_open_entry(const EntryWrite& w) {
  AKT_STMT(s, db_,
           "INSERT INTO conflicts(record_id, kind, path, ancestor, candidates, form_id, municipality, opened_at, "
           "updated_at, detail) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9) "
           "ON CONFLICT(record_id, kind, path) WHERE status = 'open' DO UPDATE SET candidates = excluded.candidates, "
           "ancestor = excluded.ancestor, updated_at = excluded.updated_at, detail = excluded.detail");
  bind_uuid(*s, 1, w.record_id);
  s->bind(2, sync::to_string(w.kind));
  s->bind(3, w.path);
  if (w.ancestor_json) s->bind(4, *w.ancestor_json);
  else s->bind_null(4);
  s->bind(5, w.candidates_json);
  s->bind(6, w.form_id);
  s->bind(7, w.municipality);
  s->bind(8, w.now);
  s->bind(9, w.detail_json);
  return s->run();
}

Status SqlitePushPort::set_open_entry_candidates(const std::string& record_id, sync::InboxKind kind,
                                                 const std::string& path, const std::string& candidates_json,
                                                 const std::optional<std::string>& ancestor_json, std::int64_t now) {
  AKT_STMT(s, db_,
           "UPDATE conflicts SET candidates = ?4, ancestor = ?5, updated_at = ?6 "
           "WHERE record_id = ?1 AND kind = ?2 AND path = ?3 AND status = 'open'");
  bind_uuid(*s, 1, record_id);
  s->bind(2, sync::to_string(kind));
  s->bind(3, path);
  s->bind(4, candidates_json);
  if (ancestor_json) s->bind(5, *ancestor_json);
  else s->bind_null(5);
  s->bind(6, now);
  return s->run();
}

Status SqlitePushPort::close_open_entry(const std::string& record_id, sync::InboxKind kind,
                                        const std::string& path, const std::string& candidates_json,
                                        const std::string& resolution_json, std::int64_t now) {
  AKT_STMT(s, db_,
           "UPDATE conflicts SET status = 'resolved', resolved_at = ?4, resolved_by = '', updated_at = ?4, "
           "candidates = ?6, resolution = ?5 WHERE record_id = ?1 AND kind = ?2 AND path = ?3 AND status = 'open'");
  bind_uuid(*s, 1, record_id);
  s->bind(2, sync::to_string(kind));
  s->bind(3, path);
  s->bind(4, now);
  s->bind(5, resolution_json);
  s->bind(6, candidates_json);
  return s->run();
}

Status SqlitePushPort::move_open_entries(const std::string& record_id, const std::string& municipality) {
  AKT_STMT(s, db_,
           "UPDATE conflicts SET municipality = ?2 WHERE record_id = ?1 AND status = 'open' AND municipality <> ?2");
  bind_uuid(*s, 1, record_id);
  s->bind(2, municipality);
  return s->run();
}

Status SqlitePushPort::start_entry_trace() { return akt::store::start_entry_trace(db_); }

Result<std::vector<std::int64_t>> SqlitePushPort::take_touched_entries() { return take_traced_entries(db_); }

Result<std::optional<std::string>> SqlitePushPort::record_key(const std::string& record_id) {
  AKT_STMT(s, db_, "SELECT key FROM record_keys WHERE record_id = ?1");
  bind_uuid(*s, 1, record_id);
  auto row = s->step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(std::string(s->text(0)));
}

Status SqlitePushPort::put_record_key(const std::string& record_id, const std::string& form_id,
                                      const std::string& key) {
  AKT_STMT(s, db_, "INSERT OR REPLACE INTO record_keys(record_id, form_id, key) VALUES(?1, ?2, ?3)");
  bind_uuid(*s, 1, record_id);
  s->bind(2, form_id);
  s->bind(3, key);
  return s->run();
}

Status SqlitePushPort::delete_record_key(const std::string& record_id) {
  AKT_STMT(s, db_, "DELETE FROM record_keys WHERE record_id = ?1");
  bind_uuid(*s, 1, record_id);
  return s->run();
}

Result<std::vector<KeyHolder>> SqlitePushPort::key_holders(const std::string& form_id, const std::string& key,
                                                           std::size_t limit) {
  AKT_STMT(s, db_,
           "SELECT k.record_id, r.updated_at FROM record_keys k JOIN records r ON r.id = k.record_id "
           "WHERE k.form_id = ?1 AND k.key = ?2 AND r.deleted = 0 ORDER BY k.record_id LIMIT ?3");
  s->bind(1, form_id);
  s->bind(2, key);
  s->bind(3, static_cast<std::int64_t>(limit));
  std::vector<KeyHolder> out;
  for (;;) {
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back({blob_uuid(s->blob(0)), s->int64(1)});
  }
}

Status SqlitePushPort::note_attachment_refs(const std::string& record_id, const std::string& actor,
                                            const AttachmentRefs& refs) {
  if (refs.empty()) return {};
  return akt::store::note_attachment_refs(db_, uuid_blob(record_id), uuid_blob(actor), refs);
}

Status SqlitePushPort::set_pending_upload(const std::string& record_id, const std::vector<std::string>& paths) {
  AKT_STMT(s, db_, "UPDATE records SET pending_upload = ?2 WHERE id = ?1 AND pending_upload <> ?2");
  bind_uuid(*s, 1, record_id);
  s->bind(2, sync::encode_strings(paths));
  return s->run();
}

Result<std::optional<std::string>> single_live_body(Db& db, const std::string& id_blob) {
  AKT_STMT(s, db, "SELECT body, deleted FROM versions WHERE record_id = ?1 AND is_live = 1 LIMIT 2");
  s->bind_blob(1, id_blob.data(), id_blob.size());
  std::optional<std::string> body;
  for (int n = 0;; ++n) {
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return body;
    if (n > 0 || s->int64(1) != 0) return std::optional<std::string>();
    body = std::string(s->text(0));
  }
}

}  // namespace akt::store

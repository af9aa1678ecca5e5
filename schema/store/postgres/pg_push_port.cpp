// The push port on PostgreSQL: each operation one prepared statement (a few for an inbox entry) on the
// transaction's connection. UUIDs are the uuid type, read back as canonical lowercase text; clocks, dots
// and path lists are their canonical JSON texts, byte for byte as on SQLite.
#include "schema/store/postgres/pg_push_port.hpp"

#include <algorithm>

#include "schema/store/postgres/pg_records.hpp"
#include "schema/store/server_store.hpp"
#include "sync/stored_changed.hpp"
#include "sync/wire_json.hpp"

namespace akt::store::pg {
namespace {

Result<std::optional<sync::Version>> one_version(const Result<PgResult>& r) {
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<sync::Version>();
  sync::Version v;
  AKT_TRY(read_version(*r, 0, v));
  return std::optional<sync::Version>(std::move(v));
}

Status done(const Result<PgResult>& r) { return r.ok() ? Status() : r.status(); }

// A PostgreSQL array literal of UUIDs (canonical UUIDs need no quoting).
std::string uuid_array(const std::set<std::string>& ids) {
  std::string out = "{";
  for (const std::string& id : ids) {
    if (out.size() > 1) out += ',';
    out += id;
  }
  return out + "}";
}

}  // namespace

// Backend ids are unique among the connections open at once; 2^32 feed numbers per batch are plenty.
PgPushPort::PgPushPort(PgConn& conn)
    : c_(conn), provisional_(-((static_cast<std::int64_t>(conn.backend_pid()) + 1) << 32)) {}

Status PgPushPort::lock(const std::string& name) {
  // Transaction-scoped: released by COMMIT or ROLLBACK, never left behind by a failed batch.
  return done(c_.exec("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))", {text(name)}));
}

// Advisory locks, not SELECT ... FOR UPDATE: a new record has no row to lock yet, and two devices may
// create the same record at once. A hash collision only makes two unrelated batches wait for each other.
Status PgPushPort::lock_record(const std::string& record_id) { return lock("record:" + record_id); }

Status PgPushPort::lock_key(const std::string& form_id, const std::string& key) {
  return lock("key:" + std::to_string(form_id.size()) + ":" + form_id + key);
}

Result<std::optional<std::pair<std::string, std::string>>> PgPushPort::stored_batch(const std::string& device,
                                                                                    const std::string& batch_id) {
  using Stored = std::optional<std::pair<std::string, std::string>>;
  auto r = c_.exec("SELECT digest, response FROM batches WHERE device = $1::uuid AND batch_id = $2",
                   {text(device), text(batch_id)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return Stored();
  return Stored(std::pair<std::string, std::string>(r->str(0, 0), r->str(0, 1)));
}

Status PgPushPort::store_batch(const std::string& device, const std::string& batch_id, const std::string& digest,
                               const std::string& response, std::int64_t now) {
  // The same batch pushed twice at once (a device retrying while its first request still runs): the
  // second waited here for the first's row, which is now committed. Not a reused batch id (kConflict, a
  // 409 the device would not retry) but a retry to make again: it will get the stored answer.
  auto r = c_.exec(
      "INSERT INTO batches(device, batch_id, digest, response, created_at) VALUES($1::uuid, $2, $3, $4, $5::bigint) "
      "ON CONFLICT DO NOTHING",
      {text(device), text(batch_id), bytes(digest), text(response), int64(now)});
  if (!r.ok()) return r.status();
  if (r->affected() == 0) return Status::busy("batch '" + batch_id + "' was stored meanwhile by another request");
  return {};
}

Status PgPushPort::note_push(const std::string& device, std::int64_t now) {
  return done(c_.exec(
      "INSERT INTO devices(actor, last_push) VALUES($1::uuid, $2::bigint) "
      "ON CONFLICT(actor) DO UPDATE SET last_push = excluded.last_push",
      {text(device), int64(now)}));
}

Status PgPushPort::insert_quarantine(const QuarantineEntry& q) {
  return done(c_.exec(
      "INSERT INTO quarantine(device, batch_id, record_id, actor, n, code, detail, edit, received_at, fields, "
      "args) VALUES($1::uuid, $2, $3::uuid, $4::uuid, $5::bigint, $6, $7, $8, $9::bigint, $10, $11)",
      {text(q.device), text(q.batch_id), text(q.record_id), text(q.dot.actor), int64(q.dot.n), text(q.code),
       text(q.detail), text(q.edit_json), int64(q.received_at), text(q.fields_json),
       text(q.args_json.empty() ? "{}" : q.args_json)}));
}

Result<std::optional<RecordHead>> PgPushPort::read_record(const std::string& record_id) {
  auto r = c_.exec(
      "SELECT form_id, seq, live_count, municipality, community, component, form_version FROM records "
      "WHERE id = $1::uuid",
      {text(record_id)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<RecordHead>();
  RecordHead h;
  h.form_id = r->str(0, 0);
  h.seq = r->int64(0, 1);
  h.live_count = r->int64(0, 2);
  h.scope = {r->str(0, 3), r->str(0, 4), r->str(0, 5)};
  h.form_version = r->int64(0, 6);
  return std::optional<RecordHead>(std::move(h));
}

Status PgPushPort::write_record(const sync::Edit& e, std::int64_t seq, std::int64_t live_count, bool deleted,
                                std::int64_t now, const std::vector<std::string>& pending_upload) {
  moved_.insert(e.record_id);
  return done(c_.exec(
      "INSERT INTO records(id, form_id, form_version, municipality, community, component, seq, live_count, "
      "deleted, created_at, updated_at, pending_upload) VALUES($1::uuid, $2, $3::bigint, $4, $5, $6, $7::bigint, "
      "$8::bigint, $9::boolean, $10::bigint, $10::bigint, $11) "
      "ON CONFLICT(id) DO UPDATE SET form_version = excluded.form_version, "
      "municipality = excluded.municipality, community = excluded.community, component = excluded.component, "
      "seq = excluded.seq, live_count = excluded.live_count, deleted = excluded.deleted, "
      "updated_at = excluded.updated_at",
      {text(e.record_id), text(e.form_id), int64(e.form_version), text(e.scope.municipality),
       text(e.scope.community), text(e.scope.component), int64(seq), int64(live_count), boolean(deleted), int64(now),
       text(sync::encode_strings(pending_upload))}));
}

Status PgPushPort::advance_record(const std::string& record_id, std::int64_t seq, std::int64_t live_count,
                                  bool deleted, std::optional<std::int64_t> form_version, std::int64_t now) {
  moved_.insert(record_id);
  // NULL form version: the record keeps its own.
  return done(c_.exec(
      "UPDATE records SET seq = $2::bigint, live_count = $3::bigint, deleted = $4::boolean, "
      "form_version = COALESCE($5::bigint, form_version), updated_at = $6::bigint WHERE id = $1::uuid",
      {text(record_id), int64(seq), int64(live_count), boolean(deleted), form_version ? int64(*form_version) : null(),
       int64(now)}));
}

Status PgPushPort::move_record(const std::string& record_id, std::int64_t seq, std::int64_t now) {
  moved_.insert(record_id);
  return done(c_.exec("UPDATE records SET seq = $2::bigint, updated_at = $3::bigint WHERE id = $1::uuid",
                      {text(record_id), int64(seq), int64(now)}));
}

Status PgPushPort::set_record_scope(const std::string& record_id, const sync::Scope& scope) {
  return done(c_.exec("UPDATE records SET municipality = $2, community = $3, component = $4 WHERE id = $1::uuid",
                      {text(record_id), text(scope.municipality), text(scope.community), text(scope.component)}));
}

Status PgPushPort::remember_scope(const std::string& record_id, const sync::Scope& scope) {
  return done(c_.exec(
      "INSERT INTO record_scopes(record_id, municipality, community, component) VALUES($1::uuid, $2, $3, $4) "
      "ON CONFLICT DO NOTHING",
      {text(record_id), text(scope.municipality), text(scope.community), text(scope.component)}));
}

Status PgPushPort::set_record_flags(const std::string& record_id, const std::vector<std::string>& conflicted,
                                    bool deletion_pending) {
  return done(c_.exec("UPDATE records SET conflicted = $2, deletion_pending = $3::boolean WHERE id = $1::uuid",
                      {text(record_id), text(sync::encode_strings(conflicted)), boolean(deletion_pending)}));
}

Result<std::optional<std::string>> PgPushPort::dot_digest(const sync::Dot& dot) {
  auto r = c_.exec("SELECT digest FROM versions WHERE actor = $1::uuid AND n = $2::bigint",
                   {text(dot.actor), int64(dot.n)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<std::string>();
  return std::optional<std::string>(r->str(0, 0));
}

Result<std::int64_t> PgPushPort::max_counter(const std::string& actor) {
  // The lock first, then the read: under READ COMMITTED the SELECT's snapshot is taken after the lock
  // was granted, so it sees the counter the previous holder committed.
  AKT_TRY(lock("counter:" + actor));
  auto r = c_.exec("SELECT COALESCE(max(n), 0)::bigint FROM versions WHERE actor = $1::uuid", {text(actor)});
  if (!r.ok()) return r.status();
  return r->int64(0, 0);
}

Status PgPushPort::live_heads(const std::string& record_id, std::vector<LiveHead>& out) {
  // Ordered as SQLite's index (record_id, is_live, actor, n) gives them.
  auto r = c_.exec(
      "SELECT actor::text, n, clock, deleted FROM versions WHERE record_id = $1::uuid AND is_live "
      "ORDER BY actor, n",
      {text(record_id)});
  if (!r.ok()) return r.status();
  for (int i = 0; i < r->rows(); ++i) {
    LiveHead h;
    h.dot = {r->str(i, 0), r->int64(i, 1)};
    auto clock = sync::decode_clock(r->str(i, 2));
    if (!clock.ok()) return Status::corruption("stored clock: " + clock.status().message());
    h.clock = std::move(*clock);
    h.deleted = r->boolean(i, 3);
    out.push_back(std::move(h));
  }
  return {};
}

Status PgPushPort::live_versions(const std::string& record_id, std::vector<sync::Version>& out) {
  auto r = c_.exec("SELECT " AKT_PG_VERSION_COLUMNS
                   " FROM versions WHERE record_id = $1::uuid AND is_live ORDER BY actor, n",
                   {text(record_id)});
  if (!r.ok()) return r.status();
  for (int i = 0; i < r->rows(); ++i) AKT_TRY(read_version(*r, i, out.emplace_back()));
  return {};
}

Status PgPushPort::versions(const std::string& record_id, std::vector<StoredVersion>& out) {
  auto r = c_.exec("SELECT " AKT_PG_VERSION_COLUMNS
                   ", is_live, municipality, community, component FROM versions WHERE record_id = $1::uuid "
                   "ORDER BY is_live, actor, n",
                   {text(record_id)});
  if (!r.ok()) return r.status();
  for (int i = 0; i < r->rows(); ++i) {
    StoredVersion& v = out.emplace_back();
    AKT_TRY(read_version(*r, i, v.v));
    v.live = r->boolean(i, 10);
    v.scope = {r->str(i, 11), r->str(i, 12), r->str(i, 13)};
  }
  return {};
}

Result<std::optional<sync::Version>> PgPushPort::version_with_clock(const std::string& record_id,
                                                                    const sync::VectorClock& clock) {
  // Clocks are stored in one canonical text, so equal clocks compare as text.
  return one_version(c_.exec("SELECT " AKT_PG_VERSION_COLUMNS
                             " FROM versions WHERE record_id = $1::uuid AND clock = $2 ORDER BY id LIMIT 1",
                             {text(record_id), text(sync::encode_clock(clock))}));
}

Result<std::optional<sync::Version>> PgPushPort::version_by_dot(const sync::Dot& dot) {
  return one_version(c_.exec("SELECT " AKT_PG_VERSION_COLUMNS " FROM versions WHERE actor = $1::uuid AND n = $2::bigint",
                             {text(dot.actor), int64(dot.n)}));
}

Status PgPushPort::insert_edit_version(const EditVersion& v) {
  const sync::Edit& e = v.edit;
  return done(c_.exec(
      "INSERT INTO versions(record_id, actor, n, clock, parents, changed, body, deleted, is_live, form_version, "
      "device_time, server_time, digest, municipality, community, component) VALUES($1::uuid, $2::uuid, "
      "$3::bigint, $4, $5, $6, $7, $8::boolean, $9::boolean, $10::bigint, $11::bigint, $12::bigint, $13, $14, $15, "
      "$16)",
      {text(e.record_id), text(e.dot.actor), int64(e.dot.n),
       text(v.clock_text ? *v.clock_text : sync::encode_clock(e.clock())),
       text(v.parents.empty() ? std::string("[]") : sync::encode_dots(v.parents)),
       text(v.changed_text ? *v.changed_text : sync::stored_changed(e, sync::encode_strings(e.changed))),
       text(e.body), boolean(e.deleted),
       boolean(v.live), int64(e.form_version), int64(e.device_time), int64(v.server_time), bytes(v.digest),
       text(e.scope.municipality), text(e.scope.community), text(e.scope.component)}));
}

Status PgPushPort::insert_server_version(const std::string& record_id, const sync::Version& v,
                                         const sync::Scope& scope, const std::string& digest) {
  return done(c_.exec(
      "INSERT INTO versions(record_id, actor, n, clock, parents, changed, body, deleted, is_live, form_version, "
      "device_time, server_time, digest, municipality, community, component) VALUES($1::uuid, $2::uuid, "
      "$3::bigint, $4, $5, $6, $7, $8::boolean, true, $9::bigint, 0, $10::bigint, $11, $12, $13, $14)",
      {text(record_id), text(v.dot.actor), int64(v.dot.n), text(sync::encode_clock(v.clock)),
       text(sync::encode_dots(v.parents)), text(sync::encode_strings(v.changed)), text(v.body), boolean(v.deleted),
       int64(v.form_version), int64(v.server_time), bytes(digest), text(scope.municipality), text(scope.community),
       text(scope.component)}));
}

Status PgPushPort::retire_version(const sync::Dot& dot) {
  return done(c_.exec("UPDATE versions SET is_live = false WHERE actor = $1::uuid AND n = $2::bigint",
                      {text(dot.actor), int64(dot.n)}));
}

Status PgPushPort::retire_live(const std::string& record_id) {
  return done(c_.exec("UPDATE versions SET is_live = false WHERE record_id = $1::uuid AND is_live", {text(record_id)}));
}

Status PgPushPort::note_clock_actor(const std::string& actor) {
  return done(c_.exec("INSERT INTO clock_actors(actor) VALUES(lower($1::text)) ON CONFLICT DO NOTHING", {text(actor)}));
}

Status PgPushPort::open_entries(const std::string& record_id, std::vector<OpenEntry>& out) {
  auto r = c_.exec(
      "SELECT kind, path, candidates FROM conflicts WHERE record_id = $1::uuid AND status = 'open' ORDER BY id",
      {text(record_id)});
  if (!r.ok()) return r.status();
  for (int i = 0; i < r->rows(); ++i) {
    const auto kind = sync::inbox_kind_from(r->str(i, 0));
    if (!kind) return Status::corruption("inbox entry of unknown kind " + r->str(i, 0));
    out.push_back({*kind, r->str(i, 1), r->str(i, 2)});
  }
  return {};
}

Result<std::optional<std::string>> PgPushPort::open_entry_candidates(const std::string& record_id,
                                                                     sync::InboxKind kind,
                                                                     const std::string& path) {
  auto r = c_.exec(
      "SELECT candidates FROM conflicts WHERE record_id = $1::uuid AND kind = $2 AND path = $3 AND status = 'open'",
      {text(record_id), text(sync::to_string(kind)), text(path)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<std::string>();
  return std::optional<std::string>(r->str(0, 0));
}

Status PgPushPort::put_open_entry(const EntryWrite& w) {
  // An update first, an insert only when no entry is open: INSERT ... ON CONFLICT would use up an entry
  // id for every update, and ids are in the push answer (the same on every engine). The record's lock is
  // held, so nobody opens the entry between the two.
  auto up = c_.exec(
      "WITH o AS (SELECT id, candidates FROM conflicts WHERE record_id = $1::uuid AND kind = $2 AND path = $3 "
      "AND status = 'open') "
      "UPDATE conflicts c SET candidates = $4, ancestor = $5, updated_at = $6::bigint, detail = $7 FROM o "
      "WHERE c.id = o.id RETURNING c.id, o.candidates",
      {text(w.record_id), text(sync::to_string(w.kind)), text(w.path), text(w.candidates_json),
       w.ancestor_json ? text(*w.ancestor_json) : null(), int64(w.now), text(w.detail_json)});
  if (!up.ok()) return up.status();
  if (up->rows() > 0) return up->str(0, 1) != w.candidates_json ? note_entry(up->int64(0, 0)) : Status();
  auto in = c_.exec(
      "INSERT INTO conflicts(record_id, kind, path, ancestor, candidates, form_id, municipality, opened_at, "
      "updated_at, detail) VALUES($1::uuid, $2, $3, $4, $5, $6, $7, $8::bigint, $8::bigint, $9) RETURNING id",
      {text(w.record_id), text(sync::to_string(w.kind)), text(w.path), w.ancestor_json ? text(*w.ancestor_json) : null(),
       text(w.candidates_json), text(w.form_id), text(w.municipality), int64(w.now), text(w.detail_json)});
  if (!in.ok()) return in.status();
  return note_entry(in->int64(0, 0));
}

Status PgPushPort::set_open_entry_candidates(const std::string& record_id, sync::InboxKind kind,
                                             const std::string& path, const std::string& candidates_json,
                                             const std::optional<std::string>& ancestor_json, std::int64_t now) {
  auto up = c_.exec(
      "WITH o AS (SELECT id, candidates FROM conflicts WHERE record_id = $1::uuid AND kind = $2 AND path = $3 "
      "AND status = 'open') "
      "UPDATE conflicts c SET candidates = $4, ancestor = $5, updated_at = $6::bigint FROM o "
      "WHERE c.id = o.id RETURNING c.id, o.candidates",
      {text(record_id), text(sync::to_string(kind)), text(path), text(candidates_json),
       ancestor_json ? text(*ancestor_json) : null(), int64(now)});
  if (!up.ok()) return up.status();
  if (up->rows() > 0 && up->str(0, 1) != candidates_json) return note_entry(up->int64(0, 0));
  return {};
}

Status PgPushPort::close_open_entry(const std::string& record_id, sync::InboxKind kind, const std::string& path,
                                    const std::string& candidates_json, const std::string& resolution_json,
                                    std::int64_t now) {
  return done(c_.exec(
      "UPDATE conflicts SET status = 'resolved', resolved_at = $4::bigint, resolved_by = '', "
      "updated_at = $4::bigint, candidates = $6, resolution = $5 "
      "WHERE record_id = $1::uuid AND kind = $2 AND path = $3 AND status = 'open'",
      {text(record_id), text(sync::to_string(kind)), text(path), int64(now), text(resolution_json), text(candidates_json)}));
}

Status PgPushPort::move_open_entries(const std::string& record_id, const std::string& municipality) {
  return done(c_.exec(
      "UPDATE conflicts SET municipality = $2 WHERE record_id = $1::uuid AND status = 'open' AND municipality <> $2",
      {text(record_id), text(municipality)}));
}

Status PgPushPort::start_entry_trace() {
  touched_.clear();
  return {};
}

Result<std::vector<std::int64_t>> PgPushPort::take_touched_entries() {
  std::vector<std::int64_t> ids;
  ids.swap(touched_);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

Result<std::optional<std::string>> PgPushPort::record_key(const std::string& record_id) {
  auto r = c_.exec("SELECT key FROM record_keys WHERE record_id = $1::uuid", {text(record_id)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<std::string>();
  return std::optional<std::string>(r->str(0, 0));
}

Status PgPushPort::put_record_key(const std::string& record_id, const std::string& form_id, const std::string& key) {
  return done(c_.exec(
      "INSERT INTO record_keys(record_id, form_id, key) VALUES($1::uuid, $2, $3) "
      "ON CONFLICT(record_id) DO UPDATE SET form_id = excluded.form_id, key = excluded.key",
      {text(record_id), text(form_id), text(key)}));
}

Status PgPushPort::delete_record_key(const std::string& record_id) {
  return done(c_.exec("DELETE FROM record_keys WHERE record_id = $1::uuid", {text(record_id)}));
}

Result<std::vector<KeyHolder>> PgPushPort::key_holders(const std::string& form_id, const std::string& key,
                                                       std::size_t limit) {
  auto r = c_.exec(
      "SELECT k.record_id::text, r.updated_at FROM record_keys k JOIN records r ON r.id = k.record_id "
      "WHERE k.form_id = $1 AND k.key = $2 AND NOT r.deleted ORDER BY k.record_id LIMIT $3::bigint",
      {text(form_id), text(key), int64(static_cast<std::int64_t>(limit))});
  if (!r.ok()) return r.status();
  std::vector<KeyHolder> out;
  for (int i = 0; i < r->rows(); ++i) out.push_back({r->str(i, 0), r->int64(i, 1)});
  return out;
}

Status PgPushPort::note_attachment_refs(const std::string& record_id, const std::string& actor,
                                        const AttachmentRefs& refs) {
  for (const auto& ref : refs)
    AKT_TRY(done(c_.exec(
        "INSERT INTO blob_refs(digest, record_id, actor) VALUES($1, $2::uuid, $3::uuid) ON CONFLICT DO NOTHING",
        {text(ref.second.digest), text(record_id), text(actor)})));
  return {};
}

Status PgPushPort::set_pending_upload(const std::string& record_id, const std::vector<std::string>& paths) {
  return done(c_.exec("UPDATE records SET pending_upload = $2 WHERE id = $1::uuid AND pending_upload <> $2",
                      {text(record_id), text(sync::encode_strings(paths))}));
}

Result<std::int64_t> PgPushPort::stamp_feed(std::int64_t first, std::int64_t end) {
  if (end <= first) return std::int64_t{0};
  // The row lock on feed_head is held from here to COMMIT: a second writer waits, then reads the
  // committed last_seq. PostgreSQL shows a transaction to new snapshots before it releases its locks, so
  // every snapshot sees a prefix of the feed (docs/STORE.md §7).
  auto head = c_.exec("UPDATE feed_head SET last_seq = last_seq + $1::bigint RETURNING last_seq", {int64(end - first)});
  if (!head.ok()) return head.status();
  if (head->rows() != 1) return Status::corruption("feed_head has no row");
  const std::int64_t shift = head->int64(0, 0) - end + 1;
  c_.stamped_head = head->int64(0, 0);
  auto moved = c_.exec(
      "UPDATE records SET seq = seq + $1::bigint WHERE id = ANY($2::uuid[]) AND seq >= $3::bigint AND seq < $4::bigint",
      {int64(shift), text(uuid_array(moved_)), int64(first), int64(end)});
  if (!moved.ok()) return moved.status();
  moved_.clear();
  return shift;
}

}  // namespace akt::store::pg

// The tablet's local store. Design notes:
//  1. A save is done when its transaction committed: the edit row and the device counter move together,
//     so a dot is never reused after a crash (DESIGN §2).
//  2. `edits` holds the device's own edits from the save until the server's feed shows a live version
//     covering them: queued (batch_id NULL) -> in a batch (batch_id set, batch stored) -> acknowledged
//     (acked_epoch set) -> dropped by the pull that covers it. Rejected edits move to `rejected`.
//  3. A batch's request text is stored when the batch is formed; a retry sends those bytes unchanged.
//  4. The cursor is written only by apply_changes, in the transaction that applied its page.
//  5. The local view of a record = pulled live versions, then the device's edits in counter order, each
//     retiring the versions its clock covers (the server's rule, DESIGN §3 step 2).
//  6. An acknowledged edit leaving `edits` moves to `pushed` and stays there for kPushedRetentionMs after
//     the next sync. A new server epoch (a restore from backup, DESIGN §5) moves every edit of `pushed`
//     not acknowledged under that epoch back into `edits`, unacknowledged: the restored server gets
//     again all the device still holds, as duplicates for what it had and as new edits for what it lost.
#include "schema/store/tablet_store.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "schema/store/db.hpp"
#include "schema/store/migrations.hpp"
#include "sync/uuid.hpp"
#include "sync/wire_json.hpp"

namespace akt::store {
using detail::bind_id;
using detail::blob_text;
using detail::parse_id;
namespace {

constexpr Migration kTabletMigrations[] = {
    {1, R"sql(
CREATE TABLE device(
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  actor      TEXT NOT NULL,
  server     TEXT NOT NULL,
  token      TEXT NOT NULL,
  counter    INTEGER NOT NULL DEFAULT 0,   -- last dot counter used
  install    TEXT NOT NULL,                -- random prefix of this install's batch ids
  next_batch INTEGER NOT NULL DEFAULT 1,
  cursor     TEXT NOT NULL DEFAULT '',
  epoch      TEXT NOT NULL DEFAULT '',
  last_sync  INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE TABLE records(
  id           BLOB PRIMARY KEY,
  form_id      TEXT NOT NULL,
  form_version INTEGER NOT NULL,
  municipality TEXT NOT NULL,
  community    TEXT NOT NULL,
  component    TEXT NOT NULL,
  seq          INTEGER NOT NULL DEFAULT 0, -- server feed position; 0 = never pulled
  conflict     INTEGER NOT NULL DEFAULT 0, -- the server's flag: siblings, or fields awaiting an admin
  conflicted   TEXT NOT NULL DEFAULT '[]', -- JSON array of the fields in conflict
  deletion_pending INTEGER NOT NULL DEFAULT 0,
  resync       INTEGER NOT NULL DEFAULT 0  -- set by an epoch reset until the feed shows the record again
) WITHOUT ROWID;
-- Live versions as last pulled.
CREATE TABLE versions(
  record_id    BLOB NOT NULL,
  actor        TEXT NOT NULL,
  n            INTEGER NOT NULL,
  clock        TEXT NOT NULL,
  changed      TEXT NOT NULL,
  body         TEXT NOT NULL,
  deleted      INTEGER NOT NULL,
  device_time  INTEGER NOT NULL,
  server_time  INTEGER NOT NULL,
  PRIMARY KEY(record_id, actor, n)
) WITHOUT ROWID;
-- The device's own edits until the feed covers them; n is the dot counter (the actor is the device's).
CREATE TABLE edits(
  n            INTEGER PRIMARY KEY,
  record_id    BLOB NOT NULL REFERENCES records(id),
  form_version INTEGER NOT NULL,
  context      TEXT NOT NULL,
  changed      TEXT NOT NULL,
  body         TEXT NOT NULL,
  deleted      INTEGER NOT NULL,
  device_time  INTEGER NOT NULL,
  batch_id     TEXT,                       -- NULL while queued
  solo         INTEGER NOT NULL DEFAULT 0, -- its batch was refused whole: send it alone
  acked_epoch  TEXT                        -- NULL until acknowledged
);
CREATE INDEX edits_by_record ON edits(record_id, n);
CREATE INDEX edits_by_batch ON edits(batch_id);
CREATE TABLE batches(
  seq     INTEGER PRIMARY KEY,
  id      TEXT NOT NULL UNIQUE,
  request TEXT NOT NULL                    -- the exact body sent, and re-sent on retry
);
CREATE TABLE rejected(
  id        INTEGER PRIMARY KEY,
  record_id TEXT NOT NULL,
  actor     TEXT NOT NULL,
  n         INTEGER NOT NULL,
  batch_id  TEXT NOT NULL,
  code      TEXT NOT NULL,
  detail    TEXT NOT NULL,
  edit      TEXT NOT NULL
);
)sql"},
    // How the device trusts its server's TLS certificate (kept at init, used by every sync).
    {2, R"sql(
ALTER TABLE device ADD COLUMN tls_ca TEXT NOT NULL DEFAULT '';   -- PEM text of the CA to trust ('' = system store)
ALTER TABLE device ADD COLUMN tls_pin TEXT NOT NULL DEFAULT '';  -- SHA-256 of the server certificate ('' = none)
ALTER TABLE rejected ADD COLUMN fields TEXT NOT NULL DEFAULT '';  -- the server's per-field problems (JSON array)
)sql"},
    // The device's own edits once the feed covered them (note 6), with the record's form and scope, so
    // that a server restored from a backup (a new epoch) gets them again.
    {3, R"sql(
CREATE TABLE pushed(
  n            INTEGER PRIMARY KEY,
  record_id    BLOB NOT NULL,
  form_id      TEXT NOT NULL,
  form_version INTEGER NOT NULL,
  municipality TEXT NOT NULL,
  community    TEXT NOT NULL,
  component    TEXT NOT NULL,
  context      TEXT NOT NULL,
  changed      TEXT NOT NULL,
  body         TEXT NOT NULL,
  deleted      INTEGER NOT NULL,
  device_time  INTEGER NOT NULL,
  acked_epoch  TEXT NOT NULL,
  kept_since   INTEGER NOT NULL DEFAULT 0  -- the first sync after it came here (0 = none yet); pruned after
);                                         -- kPushedRetentionMs
)sql"},
    // The feed position a push answer gave each acknowledged edit (a record the feed leaves out because it
    // is this edit exactly, PROTOCOL §5.1 skip_own, takes it), and what each server said it takes as
    // request bodies (PROTOCOL §1: the first upload of a run goes zstd to a server that said so before).
    {4, R"sql(
ALTER TABLE edits ADD COLUMN acked_seq INTEGER NOT NULL DEFAULT 0;
CREATE TABLE servers(
  url        TEXT PRIMARY KEY,
  takes_zstd INTEGER NOT NULL DEFAULT 0    -- an answer advertised `Accept-Encoding: zstd` (no 415 since)
) WITHOUT ROWID;
)sql"},
    // What a sync measured of the link to each server (JSON bytes per second each way, and when, by the
    // device's clock), so that the next sync sizes its first push batch and feed page from it
    // (clients/sync_client.hpp, SyncOptions::link_memory).
    {5, R"sql(
ALTER TABLE servers ADD COLUMN push_rate INTEGER NOT NULL DEFAULT 0;  -- 0 = never measured
ALTER TABLE servers ADD COLUMN push_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE servers ADD COLUMN pull_rate INTEGER NOT NULL DEFAULT 0;
ALTER TABLE servers ADD COLUMN pull_at INTEGER NOT NULL DEFAULT 0;
)sql"},
};

Status migrate_tablet(Db& db) {
  std::int64_t current = 0;
  {
    AKT_STMT(s, db, "PRAGMA user_version");
    auto row = s->step();
    if (!row.ok()) return row.status();
    current = s->int64(0);
  }
  const int latest = std::prev(std::end(kTabletMigrations))->version;
  if (current > latest)
    return Status::corruption("tablet database schema " + std::to_string(current) + " is newer than this program");
  for (const Migration& m : kTabletMigrations) {
    if (m.version <= current) continue;
    Tx tx(db);
    AKT_TRY(tx.status());
    AKT_TRY(db.exec(m.sql));
    AKT_TRY(db.exec("PRAGMA user_version=" + std::to_string(m.version)));
    AKT_TRY(tx.commit());
  }
  return {};
}

// Reads a record and computes its local view (note 5). nullopt when unknown.
Result<std::optional<LocalRecord>> load_record(Db& db, const sync::UuidBytes& id, const std::string& actor) {
  LocalRecord r;
  {
    AKT_STMT(s, db, "SELECT form_id, form_version, municipality, community, component, seq, conflict, "
                    "conflicted, deletion_pending FROM records WHERE id = ?1");
    bind_id(*s, 1, id);
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<LocalRecord>();
    r.record_id = sync::format_uuid(id);
    r.form_id = s->text(0);
    r.form_version = s->int64(1);
    r.scope = {std::string(s->text(2)), std::string(s->text(3)), std::string(s->text(4))};
    r.seq = s->int64(5);
    r.server_conflict = s->int64(6) != 0;
    auto fields = sync::decode_strings(s->text(7));
    if (fields.ok()) r.conflicted = std::move(*fields);
    r.deletion_pending = s->int64(8) != 0;
  }
  auto decode = [](LocalVersion& v, std::string_view clock, std::string_view changed) -> Status {
    auto c = sync::decode_clock(clock);
    auto ch = sync::decode_strings(changed);
    if (!c.ok() || !ch.ok()) return Status::corruption("tablet store: undecodable clock or changed list");
    v.clock = std::move(*c);
    v.changed = std::move(*ch);
    return {};
  };
  {
    AKT_STMT(s, db, "SELECT actor, n, clock, changed, body, deleted, device_time, server_time FROM versions "
                    "WHERE record_id = ?1 ORDER BY actor, n");
    bind_id(*s, 1, id);
    for (;;) {
      auto row = s->step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      LocalVersion v;
      v.dot = {std::string(s->text(0)), s->int64(1)};
      AKT_TRY(decode(v, s->text(2), s->text(3)));
      v.body = s->text(4);
      v.deleted = s->int64(5) != 0;
      v.device_time = s->int64(6);
      v.server_time = s->int64(7);
      r.live.push_back(std::move(v));
    }
  }
  AKT_STMT(s, db, "SELECT n, context, changed, body, deleted, device_time, acked_epoch IS NOT NULL FROM edits "
                  "WHERE record_id = ?1 ORDER BY n");
  bind_id(*s, 1, id);
  for (;;) {
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    LocalVersion v;
    v.dot = {actor, s->int64(0)};
    AKT_TRY(decode(v, s->text(1), s->text(2)));
    v.clock = sync::edit_clock(v.clock, v.dot);
    v.body = s->text(3);
    v.deleted = s->int64(4) != 0;
    v.device_time = s->int64(5);
    v.is_local = true;
    v.is_acked = s->int64(6) != 0;
    if (!v.is_acked) ++r.unsynced;
    // An edit some live version already covers adds nothing; otherwise it retires what it covers.
    if (std::any_of(r.live.begin(), r.live.end(), [&](const LocalVersion& x) { return v.clock.leq(x.clock); }))
      continue;
    std::erase_if(r.live, [&](const LocalVersion& x) { return x.clock.leq(v.clock); });
    r.live.push_back(std::move(v));
  }
  for (std::size_t i = 1; i < r.live.size(); ++i)
    if (r.live[i].clock.get(actor) > r.live[r.current].clock.get(actor)) r.current = i;
  return std::optional<LocalRecord>(std::move(r));
}

}  // namespace

namespace detail {

std::string blob_text(std::string_view b) {
  sync::UuidBytes u{};
  if (b.size() != u.size()) return {};
  std::memcpy(u.data(), b.data(), u.size());
  return sync::format_uuid(u);
}

Result<sync::UuidBytes> parse_id(const std::string& id) {
  auto u = sync::parse_uuid(id);
  if (!u) return Status::invalid_argument("not a record id (UUID): '" + id.substr(0, 64) + "'");
  return *u;
}

void bind_id(Stmt& s, int i, const sync::UuidBytes& id) { s.bind_blob(i, id.data(), id.size()); }

}  // namespace detail

TabletStore::TabletStore(std::unique_ptr<Db> db) : db_(std::move(db)) {}
TabletStore::~TabletStore() = default;

Result<std::unique_ptr<TabletStore>> TabletStore::open(const std::string& path, bool durable) {
  DbOptions o;
  o.synchronous_full = durable;
  o.page_size = 4096;         // a tablet holds thousands of records, not millions
  o.wal_autocheckpoint = 1000;
  auto db = Db::open(path, o);
  if (!db.ok()) return db.status();
  AKT_TRY(migrate_tablet(**db));
  return std::unique_ptr<TabletStore>(new TabletStore(std::move(*db)));
}

Status TabletStore::init(const DeviceConfig& c, std::uint64_t install_nonce, std::int64_t now_ms) {
  if (!sync::is_uuid(c.actor)) return Status::invalid_argument("actor must be a UUID, got '" + c.actor + "'");
  if (c.server.empty() || c.token.empty()) return Status::invalid_argument("server and token must not be empty");
  Tx tx(*db_);
  AKT_TRY(tx.status());
  if (device().ok()) return Status::conflict("this database is already initialised as a device");
  char install[17];
  std::snprintf(install, sizeof install, "%016llx", static_cast<unsigned long long>(install_nonce));
  AKT_STMT(s, *db_, "INSERT INTO device(id, actor, server, token, install, created_at) VALUES(1,?1,?2,?3,?4,?5)");
  s->bind(1, sync::format_uuid(*sync::parse_uuid(c.actor)));
  s->bind(2, c.server);
  s->bind(3, c.token);
  s->bind(4, std::string_view(install));
  s->bind(5, now_ms);
  AKT_TRY(s->run());
  return tx.commit();
}

Status TabletStore::set_token(const std::string& token) {
  if (token.empty()) return Status::invalid_argument("token must not be empty");
  AKT_STMT(s, *db_, "UPDATE device SET token = ?1 WHERE id = 1");
  s->bind(1, token);
  AKT_TRY(s->run());
  if (db_->changes() == 0) return Status::not_found("this database is not a device yet (run init)");
  return {};
}

Status TabletStore::set_tls_trust(const TlsTrust& trust) {
  AKT_STMT(s, *db_, "UPDATE device SET tls_ca = ?1, tls_pin = ?2 WHERE id = 1");
  s->bind(1, trust.ca_pem);
  s->bind(2, trust.pin_sha256);
  AKT_TRY(s->run());
  if (db_->changes() == 0) return Status::not_found("this database is not a device yet (run init)");
  return {};
}

Result<TlsTrust> TabletStore::tls_trust() {
  AKT_STMT(s, *db_, "SELECT tls_ca, tls_pin FROM device WHERE id = 1");
  auto row = s->step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::not_found("this database is not a device yet (run init)");
  return TlsTrust{std::string(s->text(0)), std::string(s->text(1))};
}

Result<DeviceInfo> TabletStore::device() {
  AKT_STMT(s, *db_, "SELECT actor, server, token, counter, cursor, epoch, last_sync FROM device WHERE id = 1");
  auto row = s->step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::not_found("this database is not a device yet (run init)");
  DeviceInfo d;
  d.config = {std::string(s->text(0)), std::string(s->text(1)), std::string(s->text(2))};
  d.counter = s->int64(3);
  d.cursor = s->text(4);
  d.epoch = s->text(5);
  d.last_sync_ms = s->int64(6);
  return d;
}

Result<sync::Dot> TabletStore::add_edit(const std::string& record_id, const std::string& body,
                                        const std::vector<std::string>& changed, bool deleted, std::int64_t now_ms) {
  auto id = parse_id(record_id);
  if (!id.ok()) return id.status();
  auto dev = device();
  if (!dev.ok()) return dev.status();
  auto rec = load_record(*db_, *id, dev->config.actor);
  if (!rec.ok()) return rec.status();
  if (!*rec) return Status::not_found("no record " + record_id);
  const LocalRecord& r = **rec;
  if (r.is_deleted()) return Status::invalid_argument("record " + record_id + " is deleted");
  // The context is the version the user sees: the one holding the device's latest edit (DESIGN §2).
  const sync::VectorClock context = r.live.empty() ? sync::VectorClock() : r.live[r.current].clock;
  const sync::Dot dot{dev->config.actor, dev->counter + 1};
  {
    AKT_STMT(s, *db_, "INSERT INTO edits(n, record_id, form_version, context, changed, body, deleted, device_time) "
                      "VALUES(?1,?2,?3,?4,?5,?6,?7,?8)");
    s->bind(1, dot.n);
    bind_id(*s, 2, *id);
    s->bind(3, r.form_version);
    s->bind(4, sync::encode_clock(context));
    s->bind(5, sync::encode_strings(changed));
    s->bind(6, deleted ? std::string("{}") : body);
    s->bind(7, std::int64_t{deleted});
    s->bind(8, now_ms);
    AKT_TRY(s->run());
  }
  AKT_STMT(s, *db_, "UPDATE device SET counter = ?1 WHERE id = 1");
  s->bind(1, dot.n);
  AKT_TRY(s->run());
  return dot;
}

Result<std::string> TabletStore::create(const NewRecord& nr, std::int64_t now_ms,
                                        const std::array<std::uint8_t, 10>& random) {
  if (nr.form_id.empty() || nr.form_version < 1 || nr.scope.municipality.empty() || nr.scope.community.empty() ||
      nr.scope.component.empty())
    return Status::invalid_argument("a new record needs a form, a form version >= 1 and a full scope");
  const sync::UuidBytes id = sync::make_uuid_v7(static_cast<std::uint64_t>(now_ms), random);
  Tx tx(*db_);
  AKT_TRY(tx.status());
  {
    AKT_STMT(s, *db_, "INSERT INTO records(id, form_id, form_version, municipality, community, component) "
                      "VALUES(?1,?2,?3,?4,?5,?6)");
    bind_id(*s, 1, id);
    s->bind(2, nr.form_id);
    s->bind(3, nr.form_version);
    s->bind(4, nr.scope.municipality);
    s->bind(5, nr.scope.community);
    s->bind(6, nr.scope.component);
    if (Status st = s->run(); !st.ok()) return Status::conflict("record id collision: " + st.message());
  }
  auto dot = add_edit(sync::format_uuid(id), nr.body, nr.changed, false, now_ms);
  if (!dot.ok()) return dot.status();
  AKT_TRY(tx.commit());
  return sync::format_uuid(id);
}

Result<sync::Dot> TabletStore::edit(const std::string& record_id, const std::string& body,
                                    const std::vector<std::string>& changed, std::int64_t now_ms) {
  Tx tx(*db_);
  AKT_TRY(tx.status());
  auto dot = add_edit(record_id, body, changed, false, now_ms);
  if (dot.ok()) AKT_TRY(tx.commit());
  return dot;
}

Result<sync::Dot> TabletStore::remove(const std::string& record_id, std::int64_t now_ms) {
  Tx tx(*db_);
  AKT_TRY(tx.status());
  auto dot = add_edit(record_id, {}, {}, true, now_ms);
  if (dot.ok()) AKT_TRY(tx.commit());
  return dot;
}

Result<std::optional<LocalRecord>> TabletStore::record(const std::string& record_id) {
  auto id = parse_id(record_id);
  if (!id.ok()) return id.status();
  auto dev = device();
  if (!dev.ok()) return dev.status();
  return load_record(*db_, *id, dev->config.actor);
}

Result<std::vector<std::string>> TabletStore::record_ids() {
  std::vector<std::string> out;
  AKT_STMT(s, *db_, "SELECT id FROM records ORDER BY id");
  for (;;) {
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(blob_text(s->blob(0)));
  }
}

Result<std::size_t> TabletStore::unsynced() {
  AKT_STMT(s, *db_, "SELECT count(*) FROM edits WHERE acked_epoch IS NULL");
  auto row = s->step();
  if (!row.ok()) return row.status();
  return static_cast<std::size_t>(*row ? s->int64(0) : 0);
}

Result<StoreStats> TabletStore::stats() {
  StoreStats st;
  {
    AKT_STMT(s, *db_, "SELECT (SELECT count(*) FROM records), (SELECT count(*) FROM edits WHERE acked_epoch IS NULL), "
                      "(SELECT count(*) FROM rejected), (SELECT count(*) FROM batches)");
    auto row = s->step();
    if (!row.ok()) return row.status();
    st.records = static_cast<std::size_t>(s->int64(0));
    st.unsynced = static_cast<std::size_t>(s->int64(1));
    st.rejected = static_cast<std::size_t>(s->int64(2));
    st.batches_in_flight = static_cast<std::size_t>(s->int64(3));
  }
  // Only records with a server conflict flag or several pulled versions can be conflicts locally.
  std::vector<std::string> candidates;
  {
    AKT_STMT(s, *db_, "SELECT id FROM records r WHERE conflict != 0 OR "
                      "(SELECT count(*) FROM versions v WHERE v.record_id = r.id) > 1");
    for (;;) {
      auto row = s->step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      candidates.push_back(blob_text(s->blob(0)));
    }
  }
  for (const std::string& id : candidates) {
    auto r = record(id);
    if (!r.ok()) return r.status();
    if (*r && (*r)->is_conflict()) ++st.conflicts;
  }
  return st;
}


}  // namespace akt::store

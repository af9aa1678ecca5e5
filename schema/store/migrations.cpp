// The server store's schema, one migration per entry.
#include "schema/store/migrations.hpp"

#include <iterator>

namespace akt::store {
namespace {

constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE meta(
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

-- One row per record: where it stands now. seq is its position in the change feed (latest change).
CREATE TABLE records(
  id           BLOB PRIMARY KEY,          -- 16-byte UUID (v7 keeps inserts local)
  form_id      TEXT NOT NULL,
  form_version INTEGER NOT NULL,
  municipality TEXT NOT NULL,
  community    TEXT NOT NULL,
  component    TEXT NOT NULL,
  seq          INTEGER NOT NULL,
  live_count   INTEGER NOT NULL,
  deleted      INTEGER NOT NULL,
  created_at   INTEGER NOT NULL,          -- server ms
  updated_at   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX records_by_seq ON records(seq);

-- Every version ever accepted; is_live marks the ones no other version dominates.
CREATE TABLE versions(
  id           INTEGER PRIMARY KEY,
  record_id    BLOB NOT NULL,
  actor        BLOB NOT NULL,             -- 16-byte UUID of the device or server replica
  n            INTEGER NOT NULL,
  clock        TEXT NOT NULL,             -- canonical JSON {actor: n}
  parents      TEXT NOT NULL,             -- JSON array of dots this version retired
  changed      TEXT NOT NULL,             -- JSON array of field paths
  body         TEXT NOT NULL,             -- canonical JSON object
  deleted      INTEGER NOT NULL,
  is_live      INTEGER NOT NULL,
  form_version INTEGER NOT NULL,
  device_time  INTEGER NOT NULL,
  server_time  INTEGER NOT NULL,
  digest       BLOB NOT NULL              -- SHA-256 of the edit's content, tells duplicate from dot reuse
);
CREATE UNIQUE INDEX versions_by_dot ON versions(actor, n);
CREATE INDEX versions_by_record ON versions(record_id, is_live);

-- The stored answer of every batch, so that a replay is answered byte for byte.
CREATE TABLE batches(
  device     BLOB NOT NULL,
  batch_id   TEXT NOT NULL,
  digest     BLOB NOT NULL,               -- SHA-256 of the batch's canonical content
  response   TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY(device, batch_id)
) WITHOUT ROWID;

CREATE TABLE devices(
  actor       BLOB PRIMARY KEY,
  last_cursor INTEGER NOT NULL DEFAULT 0,
  last_push   INTEGER NOT NULL DEFAULT 0,
  last_pull   INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Rejected edits, kept whole so an admin can see them and release them after a fix.
CREATE TABLE quarantine(
  id          INTEGER PRIMARY KEY,
  device      BLOB NOT NULL,
  batch_id    TEXT NOT NULL,
  record_id   BLOB NOT NULL,
  actor       BLOB NOT NULL,
  n           INTEGER NOT NULL,
  code        TEXT NOT NULL,
  detail      TEXT NOT NULL,
  edit        TEXT NOT NULL,              -- the edit as canonical JSON
  received_at INTEGER NOT NULL
);
)sql"},
};

}  // namespace

int latest_schema_version() { return std::prev(std::end(kMigrations))->version; }

Status migrate(Db& db) {
  auto s = db.stmt("PRAGMA user_version");
  if (!s.ok()) return s.status();
  std::int64_t current = 0;
  {
    StmtGuard g(**s);
    auto row = g->step();
    if (!row.ok()) return row.status();
    current = g->int64(0);
  }
  if (current > latest_schema_version())
    return Status::corruption("database schema version " + std::to_string(current) +
                              " is newer than this server knows (" + std::to_string(latest_schema_version()) + ")");
  for (const Migration& m : kMigrations) {
    if (m.version <= current) continue;
    Tx tx(db);
    if (!tx.status().ok()) return tx.status();
    if (Status st = db.exec(m.sql); !st.ok()) return st;
    if (Status st = db.exec("PRAGMA user_version=" + std::to_string(m.version)); !st.ok()) return st;
    if (Status st = tx.commit(); !st.ok()) return st;
  }
  return {};
}

}  // namespace akt::store

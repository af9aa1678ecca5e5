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
    {2, R"sql(
-- Accounts (DESIGN §6): users with a role, their scope assignments, tokens stored only as hashes,
-- one-time enrolment codes for tablets, and the audit log.
CREATE TABLE users(
  id            INTEGER PRIMARY KEY,
  username      TEXT NOT NULL UNIQUE,
  display_name  TEXT NOT NULL DEFAULT '',
  role          TEXT NOT NULL CHECK (role IN ('enumerator', 'supervisor', 'me_officer', 'admin')),
  password_hash TEXT NOT NULL,            -- scrypt$N$r$p$salt$hash (hex)
  supervisor_id INTEGER REFERENCES users(id),
  disabled      INTEGER NOT NULL DEFAULT 0,
  scope_version INTEGER NOT NULL DEFAULT 1, -- bumped when assignments change: cursors reset
  created_at    INTEGER NOT NULL
);

-- What a user may push and pull: municipality x community x component x form; '*' matches any.
CREATE TABLE assignments(
  id           INTEGER PRIMARY KEY,
  user_id      INTEGER NOT NULL REFERENCES users(id),
  municipality TEXT NOT NULL,
  community    TEXT NOT NULL,
  component    TEXT NOT NULL,
  form_id      TEXT NOT NULL
);
CREATE INDEX assignments_by_user ON assignments(user_id);

CREATE TABLE tokens(
  hash         BLOB PRIMARY KEY,          -- SHA-256 of the bearer token
  kind         TEXT NOT NULL CHECK (kind IN ('device', 'session')),
  user_id      INTEGER NOT NULL REFERENCES users(id),
  device_actor BLOB,                      -- device tokens: the only actor they may push as
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  revoked_at   INTEGER
) WITHOUT ROWID;
CREATE INDEX tokens_by_actor ON tokens(device_actor);

CREATE TABLE enrolments(
  code_hash   BLOB PRIMARY KEY,           -- SHA-256 of the one-time code
  user_id     INTEGER NOT NULL REFERENCES users(id),
  device_name TEXT NOT NULL,
  created_by  INTEGER NOT NULL REFERENCES users(id),
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  used_at     INTEGER,
  used_by     BLOB
) WITHOUT ROWID;

ALTER TABLE devices ADD COLUMN user_id INTEGER REFERENCES users(id);
ALTER TABLE devices ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN registered_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN revoked_at INTEGER;
ALTER TABLE devices ADD COLUMN app_version TEXT NOT NULL DEFAULT '';

-- Every scope a record ever had, so that a device is told when a record leaves its scope.
CREATE TABLE record_scopes(
  record_id    BLOB NOT NULL,
  municipality TEXT NOT NULL,
  community    TEXT NOT NULL,
  component    TEXT NOT NULL,
  PRIMARY KEY(record_id, municipality, community, component)
) WITHOUT ROWID;
INSERT OR IGNORE INTO record_scopes SELECT id, municipality, community, component FROM records;

CREATE TABLE audit(
  id       INTEGER PRIMARY KEY,
  at       INTEGER NOT NULL,
  username TEXT NOT NULL,                 -- who ('' for anonymous, e.g. a failed login's claimed name in target)
  action   TEXT NOT NULL,
  target   TEXT NOT NULL,
  detail   TEXT NOT NULL,                 -- JSON object
  remote   TEXT NOT NULL
);
)sql"},
    {3, R"sql(
-- Form definitions (docs/FORMS.md). A published version is never edited: a change is a new version.
CREATE TABLE forms(
  form_id      TEXT NOT NULL,
  version      INTEGER NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('draft', 'published', 'retired')),
  title        TEXT NOT NULL,
  definition   TEXT NOT NULL,
  created_by   TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  published_at INTEGER,
  retired_at   INTEGER,
  PRIMARY KEY(form_id, version)
) WITHOUT ROWID;
ALTER TABLE quarantine ADD COLUMN fields TEXT NOT NULL DEFAULT '[]';  -- per-field problems, JSON
ALTER TABLE quarantine ADD COLUMN released_at INTEGER;
)sql"},
    {4, R"sql(
-- The conflict inbox (DESIGN §4): one open entry per record, kind and field path; every candidate with
-- the version that set it. Resolved entries keep the choice made.
CREATE TABLE conflicts(
  id           INTEGER PRIMARY KEY,
  record_id    BLOB NOT NULL,
  kind         TEXT NOT NULL CHECK (kind IN ('field', 'delete_edit', 'semantic', 'permission')),
  path         TEXT NOT NULL,
  status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
  ancestor     TEXT,                       -- JSON value, NULL when absent or no common ancestor
  candidates   TEXT NOT NULL,              -- JSON array of {value, dot, sides, device_time, server_time}
  form_id      TEXT NOT NULL,
  municipality TEXT NOT NULL,
  opened_at    INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  resolved_at  INTEGER,
  resolved_by  TEXT,
  resolution   TEXT                        -- JSON: the value chosen and the version that set it
);
CREATE UNIQUE INDEX conflicts_open ON conflicts(record_id, kind, path) WHERE status = 'open';
CREATE INDEX conflicts_by_status ON conflicts(status, id);
ALTER TABLE records ADD COLUMN conflicted TEXT NOT NULL DEFAULT '[]';   -- open conflicted paths
ALTER TABLE records ADD COLUMN deletion_pending INTEGER NOT NULL DEFAULT 0;
INSERT OR IGNORE INTO meta(key, value) VALUES('server_actor', lower(
  hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' ||
  substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))));
)sql"},
    {5, R"sql(
-- What a device last reported about itself in the X-Akt-Client header (PROTOCOL §13.2): its app, its
-- unsynced edits (NULL: never reported) and when. Shown on the console's field-team page.
ALTER TABLE devices ADD COLUMN client_app TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN unsynced INTEGER;
ALTER TABLE devices ADD COLUMN reported_at INTEGER NOT NULL DEFAULT 0;
-- Counts of live records per place and form (console statistics), read from this index alone.
CREATE INDEX records_by_place ON records(municipality, community, component, form_id) WHERE deleted = 0;
)sql"},
    {6, R"sql(
-- Every entry kind of conflicts.md, and a `detail` object per entry (semantic: the rules broken and the
-- provisional values; delete_edit: what was deleted). SQLite cannot change a CHECK: rebuild the table.
CREATE TABLE conflicts_v6(
  id           INTEGER PRIMARY KEY,
  record_id    BLOB NOT NULL,
  kind         TEXT NOT NULL CHECK (kind IN ('field', 'delete_edit', 'semantic', 'permission', 'locked_change',
                                             'duplicate_candidate', 'clock', 'schema')),
  path         TEXT NOT NULL,
  status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
  ancestor     TEXT,
  candidates   TEXT NOT NULL,
  form_id      TEXT NOT NULL,
  municipality TEXT NOT NULL,
  opened_at    INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  resolved_at  INTEGER,
  resolved_by  TEXT,
  resolution   TEXT,
  detail       TEXT NOT NULL DEFAULT '{}'
);
INSERT INTO conflicts_v6(id, record_id, kind, path, status, ancestor, candidates, form_id, municipality, opened_at,
                         updated_at, resolved_at, resolved_by, resolution)
  SELECT id, record_id, kind, path, status, ancestor, candidates, form_id, municipality, opened_at, updated_at,
         resolved_at, resolved_by, resolution FROM conflicts;
DROP TABLE conflicts;
ALTER TABLE conflicts_v6 RENAME TO conflicts;
CREATE UNIQUE INDEX conflicts_open ON conflicts(record_id, kind, path) WHERE status = 'open';
CREATE INDEX conflicts_by_status ON conflicts(status, id);
)sql"},
    {7, R"sql(
-- Each live record's domain uniqueness key (the form's unique_key values as a JSON array), for the
-- duplicate check of conflicts.md scenario 7.
CREATE TABLE record_keys(
  record_id BLOB PRIMARY KEY,
  form_id   TEXT NOT NULL,
  key       TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX record_keys_by_key ON record_keys(form_id, key);
)sql"},
    {8, R"sql(
-- The per-user grant to see special-category (class S) values in clear (SECURITY.md §8).
ALTER TABLE users ADD COLUMN special_category INTEGER NOT NULL DEFAULT 0;
)sql"},
    {9, R"sql(
-- Attachments (PROTOCOL §14). The files live in <data>/blobs/ named by their SHA-256; these tables say
-- which records reference which digest, which device proved it holds the bytes, and the uploads open.
ALTER TABLE records ADD COLUMN pending_upload TEXT NOT NULL DEFAULT '[]';  -- paths whose file is missing
CREATE TABLE blob_refs(
  digest    TEXT NOT NULL,                -- 64 lowercase hex
  record_id BLOB NOT NULL,
  actor     BLOB NOT NULL,                -- the device whose edit referenced it
  PRIMARY KEY(digest, record_id, actor)
) WITHOUT ROWID;
CREATE INDEX blob_refs_by_record ON blob_refs(record_id);
CREATE TABLE blob_holders(
  digest TEXT NOT NULL,
  actor  BLOB NOT NULL,                   -- a device that uploaded every byte of it
  at     INTEGER NOT NULL,
  PRIMARY KEY(digest, actor)
) WITHOUT ROWID;
CREATE TABLE uploads(
  id         TEXT PRIMARY KEY,            -- 32 hex digits, random
  actor      BLOB NOT NULL,
  digest     TEXT NOT NULL,
  size       INTEGER NOT NULL,
  media_type TEXT NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX uploads_by_actor ON uploads(actor, digest);
)sql"},
    {10, R"sql(
-- A quarantined edit an admin discarded (PROTOCOL §10.9): kept for the record, never released.
ALTER TABLE quarantine ADD COLUMN discarded_at INTEGER;
)sql"},
    {11, R"sql(
-- The actor of a user's resolutions and reviews (PROTOCOL §11.5), a random UUIDv4 made when the user is
-- created, so nobody can know it before (SECURITY.md §3). NULL: a user created before this migration,
-- whose resolver actor stays the one derived from the server's actor and the username (its versions
-- already carry it).
ALTER TABLE users ADD COLUMN resolver_actor TEXT;
CREATE TRIGGER users_resolver_actor AFTER INSERT ON users WHEN new.resolver_actor IS NULL
BEGIN
  UPDATE users SET resolver_actor = lower(
    hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' ||
    substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))
  WHERE id = new.id;
END;
)sql"},
    {12, R"sql(
-- The change feed of a caller whose scope names its municipalities reads these instead of every record
-- (PROTOCOL §5: `limit` counts entries returned; what the caller cannot see is skipped by index).
CREATE INDEX records_by_municipality ON records(municipality, seq);
CREATE INDEX record_scopes_by_municipality ON record_scopes(municipality);
)sql"},
    {13, R"sql(
-- Every actor named in the context of a stored version, also one that never wrote a version here (e.g. a
-- device whose edits a restore lost): it is in a clock, so enrolment never gives it to a tablet
-- (SECURITY.md §3.1). Lowercase canonical UUIDs. Filled from the stored clocks once; kept by push_apply.
CREATE TABLE clock_actors(actor TEXT PRIMARY KEY) WITHOUT ROWID;
INSERT OR IGNORE INTO clock_actors SELECT DISTINCT lower(j.key) FROM versions v, json_each(v.clock) j;
)sql"},
    {14, R"sql(
-- The feed reads each record's live versions ordered by actor then counter (PROTOCOL §5): from this
-- index, in that order, so a page needs no sort (versions_by_record was its prefix).
CREATE INDEX versions_live_by_record ON versions(record_id, is_live, actor, n);
DROP INDEX versions_by_record;
)sql"},
    {15, R"sql(
-- A quarantined edit's rejection code arguments as a JSON object (PROTOCOL §10.7), so that readers see
-- the reason in their own language; rows stored before keep '{}' and their English detail.
ALTER TABLE quarantine ADD COLUMN args TEXT NOT NULL DEFAULT '{}';
)sql"},
    {16, R"sql(
-- Every version keeps the scope it carried (a device edit's as pushed, a merged or held version's as the
-- server gave it), so a merge decides the scope members its body does not hold three-way (PROTOCOL
-- §4.4). Versions stored before get the scope their record has now.
ALTER TABLE versions ADD COLUMN municipality TEXT NOT NULL DEFAULT '';
ALTER TABLE versions ADD COLUMN community TEXT NOT NULL DEFAULT '';
ALTER TABLE versions ADD COLUMN component TEXT NOT NULL DEFAULT '';
UPDATE versions SET (municipality, community, component) =
  (SELECT r.municipality, r.community, r.component FROM records r WHERE r.id = versions.record_id)
  WHERE EXISTS (SELECT 1 FROM records r WHERE r.id = versions.record_id);
)sql"},
};

}  // namespace

int latest_schema_version() { return std::prev(std::end(kMigrations))->version; }

Result<std::int64_t> schema_version(Db& db) {
  AKT_STMT(s, db, "PRAGMA user_version");
  auto row = s->step();
  if (!row.ok()) return row.status();
  return s->int64(0);
}

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
    // A downgrade: the database was migrated by a later release. Refuse before touching anything.
    return Status::corruption("database schema version " + std::to_string(current) +
                              " is newer than this server knows (" + std::to_string(latest_schema_version()) +
                              "): it was upgraded by a later aktsyncd; a downgrade is not possible. Run that "
                              "release again, or restore a backup made by this one (README \"Upgrades\")");
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

// Moving a SQLite server database into PostgreSQL (`aktsyncd migrate-to-postgres`, README "Moving to
// PostgreSQL"), and the read-only look at a PostgreSQL database that `aktsyncd --check-config` takes.
// The store's tables and the attachment files move (the files into the database's blob tables, where the
// server on PostgreSQL keeps them: docs/STORE.md §12); the pseudonym key stays in the data folder, which
// the server on PostgreSQL keeps using (docs/STORE.md §10).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "schema/store/blob_store.hpp"
#include "sync/status.hpp"

namespace akt::store::pg {

// One table copied: rows and content digest on each side (equal when the copy verified).
struct TableCheck {
  std::string table;
  std::int64_t sqlite_rows = 0;
  std::int64_t postgres_rows = 0;
  std::string sqlite_digest;    // 64 hex digits (see import_sqlite)
  std::string postgres_digest;
  bool matches() const { return sqlite_rows == postgres_rows && sqlite_digest == postgres_digest; }
};

struct ImportReport {
  std::string epoch;          // kept: tablets go on syncing without a full pull
  std::string server_actor;   // kept: the server's merge versions never reuse a dot
  std::int64_t last_seq = 0;  // the feed head, kept: every cursor a tablet holds stays valid
  std::int64_t sqlite_schema = 0;
  std::int64_t postgres_schema = 0;
  std::vector<TableCheck> tables;  // in copy order
  std::string digest;              // over every table's digest: the one line to compare
  BlobCopyReport blobs;            // the attachment files copied (none without `files`)
};

// Copies every table of the SQLite server database at `sqlite_path` (at the latest schema version, no
// server running on it: the caller holds the data folder's lock) into the PostgreSQL database at `url`,
// whose schema is created first (pg_migrations.cpp). The copy is one PostgreSQL transaction; before its
// COMMIT each table is read back and its row count and digest compared with the SQLite side's, and any
// difference rolls the whole copy back. A table's digest is the SHA-256 of its rows' SHA-256s sorted, a
// row being its values in a typed canonical form (uuid as text, integers as decimal, booleans as 0/1,
// text and bytes raw), so that it does not depend on either engine's storage or order.
// With `files` (the data folder's attachment files), every blob is first copied into the database's blob
// tables (PgBlobStore: each SHA-256 checked on the bytes the database holds before it becomes visible),
// then the count and the digests at the target are checked against the folder's; a failure of either
// copy removes the blobs this call added.
// Errors: kInvalidArgument a malformed url; kBusy PostgreSQL cannot be reached; kConflict the target
// database already holds data (nothing is written); kCorruption the SQLite database is not a server
// database of this release's schema; kIOError the copy did not verify (rolled back), or another failure.
Result<ImportReport> import_sqlite(const std::string& sqlite_path, const std::string& url,
                                   const BlobStore* files = nullptr);

// What `--check-config` reports of a PostgreSQL store: reachable, its schema version and this build's.
struct DbProbe {
  std::string server_version;  // PostgreSQL's, e.g. "15.8"
  std::int64_t schema_version = 0;  // 0: no aktsync schema yet (the server creates it at start)
  std::int64_t latest_schema = 0;
  bool in_recovery = false;    // a standby: read-only, the server cannot run on it
};
// Connects to `url` and reads, never writes. The same errors as PgConn::connect (never the password).
Result<DbProbe> probe(const std::string& url);

// "database D on H as U" from `url`, never its password ("" when the url does not parse).
std::string describe_url(const std::string& url);

}  // namespace akt::store::pg

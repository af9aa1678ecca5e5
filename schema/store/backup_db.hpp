// The database side of backups (README "Operating aktsync"): a consistent copy of a live server
// database, its verification, and the new epoch a restored copy must take (DESIGN §5). SQLite only;
// the archive around it (files, compression) is server/backup.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sync/status.hpp"

namespace akt::store {

// Writes a consistent copy of the database at `db_path` to `out_path` (which must not exist) with
// VACUUM INTO: one read transaction, so the copy is the state of one commit even while the server
// writes. kIOError when the source cannot be read or the copy cannot be written.
Status snapshot_database(const std::string& db_path, const std::string& out_path);

// What a verified database holds: its schema version, epoch, server actor and row counts per table.
struct DbSummary {
  std::int64_t schema_version = 0;
  std::string epoch;
  std::string server_actor;
  std::vector<std::pair<std::string, std::int64_t>> counts;  // table -> rows, in a fixed order
};

// Opens the copy at `path` read-only, runs PRAGMA integrity_check and counts the rows of the tables
// that matter for a restore. kCorruption when the check fails or it is not an aktsync server database
// (no epoch or server actor), kIOError when it cannot be opened.
Result<DbSummary> verify_database(const std::string& path);

// Gives the database at `path` (not in use by a server) a new epoch and a new server actor, and records
// the restore in the audit log (`note` says from what), in one transaction. The new actor keeps the
// server's merge versions from reusing a dot a tablet already saw under the old epoch (DESIGN §2).
// Returns the new epoch.
Result<std::string> renew_epoch(const std::string& path, std::int64_t now_ms, const std::string& note);

// Folds the WAL of the database at `path` (not in use by a server) into the main file, so that the file
// alone holds every commit. OK when there is no database. kBusy when another process still has it open.
Status checkpoint_database(const std::string& path);

}  // namespace akt::store

// `aktsyncd backup` and `aktsyncd restore` (README "Operating aktsync"): an online, verified,
// compressed copy of the data folder, and its restore under a new epoch (DESIGN §5).
//
// The archive is a gzip-compressed POSIX tar that `tar tzf` can list:
//   aktsync-backup/MANIFEST.json            format, time, schema version, epoch, row counts, blob count
//   aktsync-backup/aktsync.db               the database, copied with VACUUM INTO (one consistent commit)
//   aktsync-backup/pseudonym.key            the M&E pseudonym key (so exports keep their pseudonyms)
//   aktsync-backup/blobs/ab/cd/<sha256>     attachment files (left out with --without-blobs)
#pragma once

#include <string>
#include <vector>

#include "sync/status.hpp"

namespace akt::server {

// Exit codes of both commands: 0 done; 1 I/O or database failure; 2 bad arguments, config or archive;
// 3 the server is running on the data folder (restore only).
// `args` are the words after "backup": --to FILE [--without-blobs] plus the server's config flags.
int run_backup(const std::vector<std::string>& args);
// `args` are the words after "restore": --from FILE plus the server's config flags.
int run_restore(const std::vector<std::string>& args);

// Takes the exclusive lock of `data_dir` (<data_dir>/aktsyncd.lock) that a running server holds for its
// lifetime, so that a restore cannot replace the database under it. Returns the open descriptor (kept
// until exit); kBusy when another process holds it, kIOError when it cannot be made.
Result<int> lock_data_dir(const std::string& data_dir);

}  // namespace akt::server

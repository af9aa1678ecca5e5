// A throwaway PostgreSQL cluster for one test binary run: initdb in a temporary folder, the server on a
// Unix socket in that folder only (no TCP port), fsync off. Run as the `postgres` system user when the
// tests run as root (initdb refuses root). A watchdog process stops the server and removes the folder
// when this process exits, however it exits (normal end, failed REQUIRE, crash, SIGKILL).
#pragma once

#include <string>

namespace akt::test {

class PgCluster {
 public:
  // The process's cluster, started on the first call (about a second); nullptr when PostgreSQL's
  // binaries, the `postgres` user (as root) or the start fail, with the reason in `why`. Binaries are
  // looked for in $AKT_PG_BINDIR, then /usr/lib/postgresql/<newest>/bin, then $PATH.
  static PgCluster* get(std::string* why);

  // libpq keyword string for database `dbname` of the cluster (superuser "akt", no password).
  std::string url(const std::string& dbname) const;

  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

 private:
  PgCluster() = default;
  std::string dir_;     // the temporary folder: data/ and the socket
  int watchdog_fd_ = -1;  // write end of the watchdog's stdin: closing it stops the cluster
  int watchdog_pid_ = -1;
};

// The folder of PostgreSQL's binaries (initdb, pg_ctl, pg_basebackup): $AKT_PG_BINDIR, then
// /usr/lib/postgresql/<newest>/bin, then $PATH; "" when none is found.
std::string pg_bindir();

// Whether AKT_REQUIRE_POSTGRES=1 is set: a PostgreSQL test that cannot run fails instead of skipping.
bool postgres_required();

// A PostgreSQL test that cannot run, because of `why`: fails the case under AKT_REQUIRE_POSTGRES=1, else
// prints the line "PostgreSQL engine skipped: <why>" that CTest reports as a skip. The caller returns.
void skip_postgres(const std::string& why);

// The same for a build without the PostgreSQL engine (AKT_POSTGRES=OFF: libpq not found).
void skip_without_engine();

// Starts the watchdog of a throwaway cluster: a shell, out of this process's group, that waits until
// this process's end of a pipe closes (however the process ends: normal end, failed REQUIRE, crash,
// SIGKILL) and then runs `cleanup` (stop the servers, remove the folder). Sets `fd` (this process's end:
// closing it runs the cleanup) and `pid`; "" on success, else what failed (nothing was started).
std::string start_watchdog(const std::string& cleanup, int& fd, int& pid);

// The last `max` characters of a log file (whole if shorter): the reason a server did not start.
std::string tail_of(const std::string& file, std::size_t max = 2000);

}  // namespace akt::test

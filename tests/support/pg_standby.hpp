// A PostgreSQL primary and its hot standby for one test (deploy/postgres/README.md, "A hot standby"):
// the primary initdb'd in a temporary folder, the standby made from it with pg_basebackup -R and
// streaming from it, both on Unix sockets in that folder only. With `synchronous`, the primary has
// synchronous_standby_names = the standby and synchronous_commit = remote_apply: a COMMIT returns only
// once the standby has applied it, so what a server acknowledged is readable on the standby. A watchdog
// stops both servers and removes the folder when this process exits, however it exits.
#pragma once

#include <memory>
#include <string>

#include "sync/status.hpp"

namespace akt::test {

class PgStandbyPair {
 public:
  // Starts both (a few seconds); nullptr with the reason in `why` when PostgreSQL cannot run here.
  static std::unique_ptr<PgStandbyPair> start(bool synchronous, std::string* why);
  ~PgStandbyPair();
  PgStandbyPair(const PgStandbyPair&) = delete;
  PgStandbyPair& operator=(const PgStandbyPair&) = delete;

  // libpq keyword strings for database `dbname` (superuser "akt", no password).
  std::string primary_url(const std::string& dbname) const;
  std::string standby_url(const std::string& dbname) const;

  // `pg_ctl stop -m immediate` on the primary: every server process killed, nothing flushed (a crash).
  Status kill_primary();
  // `pg_ctl promote -w` on the standby: it ends recovery and accepts writes.
  Status promote_standby();
  // The server log of "primary" or "standby" (its last lines), for failure messages.
  std::string log_tail(const std::string& which) const;

 private:
  PgStandbyPair() = default;
  std::string dir_, bin_, as_user_;
  int watchdog_fd_ = -1;
  int watchdog_pid_ = -1;
};

}  // namespace akt::test

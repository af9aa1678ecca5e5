// The primary and hot standby pair (pg_standby.hpp): the same steps as deploy/postgres/README.md's
// "A hot standby", in a temporary folder, as the `postgres` user when the tests run as root.
#include "tests/support/pg_standby.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/pg_cluster.hpp"

namespace akt::test {
namespace {

namespace fs = std::filesystem;

}  // namespace

std::unique_ptr<PgStandbyPair> PgStandbyPair::start(bool synchronous, std::string* why) {
  auto failed = [why](const std::string& w) -> std::unique_ptr<PgStandbyPair> {
    if (why) *why = w;
    return nullptr;
  };
  std::unique_ptr<PgStandbyPair> p(new PgStandbyPair());
  p->bin_ = pg_bindir();
  if (p->bin_.empty() || !fs::exists(p->bin_ + "/pg_basebackup"))
    return failed("PostgreSQL binaries (initdb, pg_ctl, pg_basebackup) not found; install postgresql");
  uid_t uid = geteuid();
  gid_t gid = getegid();
  if (uid == 0) {
    const passwd* pw = getpwnam("postgres");
    if (!pw) return failed("running as root and there is no 'postgres' user to run the servers as");
    uid = pw->pw_uid;
    gid = pw->pw_gid;
    p->as_user_ = "runuser -u postgres -- ";
  }
  char tmpl[] = "/tmp/akt-pgha-XXXXXX";
  if (!mkdtemp(tmpl)) return failed("mkdtemp failed");
  p->dir_ = tmpl;
  for (const std::string& d : {p->dir_, p->dir_ + "/p", p->dir_ + "/s"}) {
    if (d != p->dir_ && mkdir(d.c_str(), 0700) != 0) return failed("cannot make " + d);
    if (chown(d.c_str(), uid, gid) != 0 || chmod(d.c_str(), 0700) != 0) {
      fs::remove_all(p->dir_);
      return failed("cannot hand " + d + " to the servers' user");
    }
  }
  // The watchdog first (as PgCluster's): from here on, both servers and the folder go with this process.
  const std::string stop_both = p->as_user_ + p->bin_ + "/pg_ctl -D " + p->dir_ + "/primary -m immediate -w stop " +
                                ">/dev/null 2>&1; " + p->as_user_ + p->bin_ + "/pg_ctl -D " + p->dir_ +
                                "/standby -m immediate -w stop >/dev/null 2>&1";
  if (const std::string w = start_watchdog(stop_both + "; rm -rf " + p->dir_, p->watchdog_fd_, p->watchdog_pid_);
      !w.empty()) {
    fs::remove_all(p->dir_);
    return failed(w);
  }

  const std::string& dir = p->dir_;
  const std::string run = p->as_user_ + p->bin_ + "/";
  // 1. The primary: WAL for a replica, one WAL sender slot, and (synchronous) the standby named.
  if (std::system((run + "initdb -D " + dir + "/primary -U akt -A trust --no-sync -E UTF8 --locale=C >" + dir +
                   "/initdb.log 2>&1")
                      .c_str()) != 0)
    return failed("initdb failed:\n" + tail_of(dir + "/initdb.log"));
  {
    std::ofstream conf(dir + "/primary/postgresql.auto.conf", std::ios::app);
    conf << "listen_addresses = ''\nunix_socket_directories = '" << dir << "/p'\n"
         << "wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\nmax_connections = 40\n";
    if (synchronous) conf << "synchronous_standby_names = 'standby1'\nsynchronous_commit = remote_apply\n";
    if (!conf.flush()) return failed("cannot write the primary's configuration");
  }
  if (std::system((run + "pg_ctl -D " + dir + "/primary -l " + dir + "/primary.log -w -t 120 start >/dev/null 2>&1")
                      .c_str()) != 0)
    return failed("the primary does not start:\n" + tail_of(dir + "/primary.log"));
  // 2. The standby: a base backup with -R (standby.signal and primary_conninfo written), named standby1.
  if (std::system((run + "pg_basebackup -D " + dir + "/standby -R -X stream -c fast -d 'host=" + dir +
                   "/p user=akt application_name=standby1' >" + dir + "/basebackup.log 2>&1")
                      .c_str()) != 0)
    return failed("pg_basebackup failed:\n" + tail_of(dir + "/basebackup.log"));
  {
    std::ofstream conf(dir + "/standby/postgresql.auto.conf", std::ios::app);
    conf << "unix_socket_directories = '" << dir << "/s'\n"
         << "primary_conninfo = 'host=" << dir << "/p user=akt application_name=standby1'\n"
         << "synchronous_standby_names = ''\n";
    if (!conf.flush()) return failed("cannot write the standby's configuration");
  }
  if (std::system((run + "pg_ctl -D " + dir + "/standby -l " + dir + "/standby.log -w -t 120 start >/dev/null 2>&1")
                      .c_str()) != 0)
    return failed("the standby does not start:\n" + tail_of(dir + "/standby.log"));
  return p;
}

std::string PgStandbyPair::primary_url(const std::string& dbname) const {
  return "host=" + dir_ + "/p user=akt dbname=" + dbname + " connect_timeout=10";
}

std::string PgStandbyPair::standby_url(const std::string& dbname) const {
  return "host=" + dir_ + "/s user=akt dbname=" + dbname + " connect_timeout=10";
}

Status PgStandbyPair::kill_primary() {
  if (std::system((as_user_ + bin_ + "/pg_ctl -D " + dir_ + "/primary -m immediate -w stop >/dev/null 2>&1").c_str()) != 0)
    return Status::io_error("pg_ctl stop -m immediate failed:\n" + tail_of(dir_ + "/primary.log"));
  return {};
}

Status PgStandbyPair::promote_standby() {
  if (std::system((as_user_ + bin_ + "/pg_ctl -D " + dir_ + "/standby -w -t 120 promote >/dev/null 2>&1").c_str()) != 0)
    return Status::io_error("pg_ctl promote failed:\n" + tail_of(dir_ + "/standby.log"));
  return {};
}

std::string PgStandbyPair::log_tail(const std::string& which) const { return tail_of(dir_ + "/" + which + ".log"); }

PgStandbyPair::~PgStandbyPair() {
  if (watchdog_fd_ >= 0) close(watchdog_fd_);
  if (watchdog_pid_ > 0) waitpid(watchdog_pid_, nullptr, 0);
}

}  // namespace akt::test

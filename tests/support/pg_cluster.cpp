// The throwaway PostgreSQL cluster (pg_cluster.hpp): found, initialised, started, and handed to a
// watchdog shell that stops and removes it when this process's end of a pipe closes.
#include "tests/support/pg_cluster.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

namespace akt::test {
namespace {

namespace fs = std::filesystem;

// The folder holding initdb and pg_ctl, "" when none is found.
std::string find_bindir() {
  if (const char* env = std::getenv("AKT_PG_BINDIR"); env && *env) return env;
  std::string best;
  int best_major = -1;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string name = e.path().filename().string();
    const int major = std::atoi(name.c_str());
    if (major > best_major && fs::exists(e.path() / "bin" / "initdb", ec)) {
      best_major = major;
      best = (e.path() / "bin").string();
    }
  }
  if (!best.empty()) return best;
  if (const char* path = std::getenv("PATH")) {
    std::stringstream ss(path);
    for (std::string d; std::getline(ss, d, ':');)
      if (!d.empty() && fs::exists(fs::path(d) / "initdb", ec) && fs::exists(fs::path(d) / "pg_ctl", ec)) return d;
  }
  return {};
}

}  // namespace

std::string start_watchdog(const std::string& cleanup, int& fd, int& pid) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return "pipe2 failed";
  const std::string script = "cat >/dev/null; " + cleanup;
  const pid_t child = fork();
  if (child == 0) {
    setsid();  // out of the test's process group: a Ctrl-C on the tests does not kill the cleanup
    dup2(fds[0], 0);
    execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[0]);
  if (child < 0) {
    close(fds[1]);
    return "fork failed";
  }
  fd = fds[1];
  pid = child;
  return {};
}

std::string tail_of(const std::string& file, std::size_t max) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > max ? s.substr(s.size() - max) : s;
}


std::string pg_bindir() { return find_bindir(); }

bool postgres_required() {
  const char* v = std::getenv("AKT_REQUIRE_POSTGRES");
  return v && std::string(v) == "1";
}

PgCluster* PgCluster::get(std::string* why) {
  static std::string failure;
  static std::unique_ptr<PgCluster> cluster = [&]() -> std::unique_ptr<PgCluster> {
    const std::string bin = find_bindir();
    if (bin.empty()) {
      failure = "PostgreSQL binaries (initdb, pg_ctl) not found; install postgresql or set AKT_PG_BINDIR";
      return nullptr;
    }
    // initdb refuses root: run the cluster as the postgres system user then.
    std::string as_user;
    uid_t uid = geteuid();
    gid_t gid = getegid();
    if (uid == 0) {
      const passwd* pw = getpwnam("postgres");
      if (!pw) {
        failure = "running as root and there is no 'postgres' user to run the cluster as";
        return nullptr;
      }
      uid = pw->pw_uid;
      gid = pw->pw_gid;
      as_user = "runuser -u postgres -- ";
    }
    char tmpl[] = "/tmp/akt-pg-XXXXXX";
    if (!mkdtemp(tmpl)) {
      failure = "mkdtemp failed";
      return nullptr;
    }
    std::unique_ptr<PgCluster> c(new PgCluster());
    c->dir_ = tmpl;
    if (chown(tmpl, uid, gid) != 0 || chmod(tmpl, 0700) != 0) {
      failure = "cannot hand " + c->dir_ + " to the cluster's user";
      fs::remove_all(c->dir_);
      return nullptr;
    }
    const std::string data = c->dir_ + "/data";
    const std::string stop = as_user + bin + "/pg_ctl -D " + data + " -m immediate -w stop >/dev/null 2>&1";

    // The watchdog first: from here on, the folder goes away with this process whatever happens.
    failure = start_watchdog(stop + "; rm -rf " + c->dir_, c->watchdog_fd_, c->watchdog_pid_);
    if (!failure.empty()) {
      fs::remove_all(c->dir_);
      return nullptr;
    }

    const std::string init = as_user + bin + "/initdb -D " + data +
                             " -U akt -A trust --no-sync -E UTF8 --locale=C >" + c->dir_ + "/initdb.log 2>&1";
    if (std::system(init.c_str()) != 0) {
      failure = "initdb failed:\n" + tail_of(c->dir_ + "/initdb.log");
      return nullptr;  // the watchdog removes the folder
    }
    // Unix socket in the folder only, no TCP; durability off (a test cluster), enough connections for
    // the concurrency tests.
    const std::string start = as_user + bin + "/pg_ctl -D " + data + " -l " + c->dir_ + "/server.log -w -t 120 -o \"" +
                              "-c listen_addresses='' -c unix_socket_directories='" + c->dir_ +
                              "' -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                              "-c max_connections=60\" start >/dev/null 2>&1";
    if (std::system(start.c_str()) != 0) {
      failure = "pg_ctl start failed:\n" + tail_of(c->dir_ + "/server.log");
      return nullptr;
    }
    return c;
  }();
  if (!cluster && why) *why = failure;
  return cluster.get();
}

std::string PgCluster::url(const std::string& dbname) const {
  return "host=" + dir_ + " user=akt dbname=" + dbname + " connect_timeout=30";
}

PgCluster::~PgCluster() {
  // Closing the pipe wakes the watchdog, which stops the server and removes the folder; wait for it so
  // nothing outlives the test binary.
  if (watchdog_fd_ >= 0) close(watchdog_fd_);
  if (watchdog_pid_ > 0) waitpid(watchdog_pid_, nullptr, 0);
}

}  // namespace akt::test

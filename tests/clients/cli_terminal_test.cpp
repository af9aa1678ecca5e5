// The aktsync binary on a terminal: run under a pseudo-terminal (forkpty) as a person would run it. The
// password of `conflicts` is asked for there, without echo; `sync` draws its progress line only when a
// person watches (stdout and stderr on the terminal), never into piped or logged output.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <doctest/doctest.h>

#include "tests/clients/client_support.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/temp_dir.hpp"

extern char** environ;

using namespace akt;

namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A child process on a pseudo-terminal: what it writes to the terminal, and what is typed into it.
class Terminal {
 public:
  // Runs aktsync with `args`, stdin, stdout and stderr on the terminal, without $AKTSYNC_PASSWORD. With
  // `stdout_file`, stdout goes to that file instead (a person who redirected the output).
  Terminal(const std::vector<std::string>& args, const std::string& stdout_file = {}) {
    // Everything the child needs is made before the fork: the test process has threads (the server), so
    // the child may only call async-signal-safe functions until exec.
    std::vector<char*> argv{const_cast<char*>(AKTSYNC_PATH)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (char** e = environ; *e; ++e)
      if (std::string(*e).rfind("AKTSYNC_PASSWORD=", 0) != 0) envp.push_back(*e);
    envp.push_back(nullptr);
    const char* out = stdout_file.empty() ? nullptr : stdout_file.c_str();
    pid_ = forkpty(&master_, nullptr, nullptr, nullptr);
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      if (out) {
        const int fd = ::open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || ::dup2(fd, 1) < 0) ::_exit(120);
      }
      ::execve(AKTSYNC_PATH, argv.data(), envp.data());
      ::_exit(127);
    }
  }
  ~Terminal() {
    if (pid_ > 0 && exit_code_ == -2) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (master_ >= 0) ::close(master_);
  }

  // Reads what the terminal shows until `part` appears (true) or the child ends or 60 s pass (false).
  bool wait_for(const std::string& part) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!has(screen_, part)) {
      if (std::chrono::steady_clock::now() > deadline || !read_some(500)) return has(screen_, part);
    }
    return true;
  }
  void type(const std::string& keys) { REQUIRE(::write(master_, keys.data(), keys.size()) == static_cast<ssize_t>(keys.size())); }
  // Reads until the child closes the terminal, then returns its exit code (-1 when killed). A child still
  // running after 120 s (waiting for input it will never get) is killed, so the test fails, not hangs.
  int finish() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline && read_some(500)) {
    }
    int status = 0;
    pid_t done = ::waitpid(pid_, &status, WNOHANG);
    while (done == 0 && std::chrono::steady_clock::now() < deadline) {
      ::usleep(100 * 1000);
      done = ::waitpid(pid_, &status, WNOHANG);
    }
    if (done == 0) {
      MESSAGE("the child did not end within 120 s; killed. Screen: " << screen_);
      ::kill(pid_, SIGKILL);
      done = ::waitpid(pid_, &status, 0);
    }
    REQUIRE(done == pid_);
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return exit_code_;
  }
  const std::string& screen() const { return screen_; }

 private:
  // False at end of input (the child closed the terminal: EIO on Linux).
  bool read_some(int timeout_ms) {
    pollfd p{master_, POLLIN, 0};
    const int n = ::poll(&p, 1, timeout_ms);
    if (n == 0) return true;  // nothing yet
    char buf[4096];
    const ssize_t got = ::read(master_, buf, sizeof buf);
    if (got <= 0) return false;
    screen_.append(buf, static_cast<std::size_t>(got));
    return true;
  }
  int master_ = -1;
  pid_t pid_ = -1;
  int exit_code_ = -2;
  std::string screen_;
};

}  // namespace

TEST_CASE("cli terminal: conflicts asks for the password on a terminal, without echo") {
  test::TestServer srv;
  srv.create_user("root", "admin", "correct horse battery");
  const std::string server = "127.0.0.1:" + std::to_string(srv.port());
  SUBCASE("the right password signs in") {
    Terminal t({"conflicts", "list", "--server", server, "--user", "root"});
    REQUIRE_MESSAGE(t.wait_for("password for root at " + server + ": "), t.screen());
    t.type("correct horse battery\n");
    CHECK_MESSAGE(t.finish() == 0, t.screen());
    CHECK_MESSAGE(has(t.screen(), "no entries"), t.screen());
    CHECK_MESSAGE(!has(t.screen(), "correct horse"), t.screen());  // never shown on the screen
  }
  SUBCASE("a wrong one is refused by the server, not echoed either") {
    Terminal t({"conflicts", "list", "--server", server, "--user", "root"});
    REQUIRE_MESSAGE(t.wait_for("password for root"), t.screen());
    t.type("tr0ub4dor\n");
    CHECK(t.finish() == 4);
    CHECK_MESSAGE(!has(t.screen(), "tr0ub4dor"), t.screen());
  }
  SUBCASE("without a terminal the options are named, and nothing waits for input") {
    test::TempDir dir;
    ::unsetenv("AKTSYNC_PASSWORD");
    test::Run r = test::run_program(AKTSYNC_PATH, {"conflicts", "list", "--server", server, "--user", "root"}, dir);
    CHECK(r.code == 2);
    CHECK_MESSAGE(has(r.err, "--password-file"), r.err);
  }
}

TEST_CASE("cli terminal: sync draws its progress line only when a person watches") {
  test::TestServer srv;
  test::TempDir dir;
  const std::string db = dir.file("t.db"), server = "127.0.0.1:" + std::to_string(srv.port());
  REQUIRE(test::run_program(AKTSYNC_PATH, {"--db", db, "init", "--server", server, "--actor", srv.a.actor, "--token",
                                           srv.a.token},
                            dir)
              .code == 0);
  auto add_record = [&] {
    REQUIRE(test::run_program(AKTSYNC_PATH, {"--db", db, "new", "--form", "so1_infra_monitoring", "--version", "1",
                                             "--municipality", "gracanice", "--community", "serb", "--component",
                                             "SO1", "--set", "pct_complete=5"},
                              dir)
                .code == 0);
  };
  add_record();
  {
    Terminal t({"--db", db, "sync"});
    REQUIRE(t.finish() == 0);
    CHECK_MESSAGE(has(t.screen(), "sync: up 1 edits"), t.screen());  // the progress line
    CHECK(has(t.screen(), "pushed     1"));                           // then the summary
  }
  add_record();
  {
    // `aktsync sync > sync.log` on a terminal: the log gets the summary, the terminal no progress litter.
    const std::string log = dir.file("sync.log");
    Terminal t({"--db", db, "sync"}, log);
    REQUIRE(t.finish() == 0);
    CHECK_MESSAGE(!has(t.screen(), "sync: up"), t.screen());
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    CHECK_MESSAGE(has(text.str(), "pushed     1"), text.str());
    CHECK(!has(text.str(), "\r"));
  }
}

// aktsyncd as a child process, for the fleet simulator's server restarts (SIGKILL, then start again on
// the same data directory): DESIGN §7.6 checked end to end.
#pragma once

#include <sys/types.h>

#include <atomic>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sync/status.hpp"

namespace akt::client {

class ServerProcess {
 public:
  // Runs `binary --config CONFIG --port-file DIR/port` with its output appended to DIR/aktsyncd.log and
  // waits (up to 20 s) until it listens. kIOError when it does not start.
  static Result<std::unique_ptr<ServerProcess>> start(const std::string& binary, const std::string& config,
                                                      const std::string& dir);
  ~ServerProcess();  // SIGKILLs a child still running
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  std::uint16_t port() const { return port_; }
  // SIGKILL and reap (no-op when not running). Safe to call from another thread than restart().
  void kill9();
  // Starts it again with the same arguments (a new port). kIOError when it does not come back.
  Status restart();
  // SIGTERM and wait; kIOError when it did not exit 0.
  Status stop();

 private:
  ServerProcess(std::string binary, std::string config, std::string dir)
      : binary_(std::move(binary)), config_(std::move(config)), dir_(std::move(dir)) {}
  Status launch();
  std::string binary_, config_, dir_;
  std::atomic<pid_t> pid_{-1};
  std::uint16_t port_ = 0;
};

// Runs `binary args...` to completion with output appended to `log`; returns its exit code (-1 when
// it could not run or died of a signal).
int run_child(const std::string& binary, const std::vector<std::string>& args, const std::string& log);

}  // namespace akt::client

// aktsyncd as an object: the I/O threads, the worker pool and the listener. Used by main() and by
// integration tests (which start it on 127.0.0.1 port 0). No Beast in this header.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "server/app_state.hpp"

namespace akt::server {

class Server {
 public:
  // Binds config.listen_address:listen_port and starts serving. kIOError when it cannot listen.
  static Result<std::unique_ptr<Server>> start(std::shared_ptr<AppState> app);
  ~Server();  // stops (gracefully) if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t port() const;
  AppState& app();
  // Graceful stop: stop accepting, wake long-polls, let in-flight requests finish (at most `grace`),
  // then stop the threads and flush the store. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace akt::server

// aktsyncd: the sync server. Parses flags and config, opens the store, serves until SIGTERM/SIGINT,
// then stops gracefully (in-flight batches finish and are answered).
#include <csignal>
#include <cstdio>
#include <fstream>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "server/log.hpp"
#include "server/server.hpp"

using namespace akt::server;

int main(int argc, char** argv) {
  auto config = config_from_args(argc, argv);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().message().c_str());
    return 2;
  }
  set_log_level(config->log_level);
  if (auto st = check_config(*config); !st.ok()) {
    log(LogLevel::kError, st.message());
    return 2;
  }
  if (config->devices.empty()) log(LogLevel::kWarn, "no device tokens configured: only /healthz will answer 200");
  auto app = make_app_state(*config);
  if (!app.ok()) {
    log(LogLevel::kError, "cannot open store: " + app.status().message());
    return 1;
  }
  auto server = Server::start(*app);
  if (!server.ok()) {
    log(LogLevel::kError, server.status().message());
    return 1;
  }
  const std::uint16_t port = (*server)->port();
  log(LogLevel::kInfo, "aktsyncd listening on http://" + config->listen_address + ":" + std::to_string(port) +
                           " data=" + config->database_path() + " epoch=" + (*app)->store->epoch() +
                           " devices=" + std::to_string(config->devices.size()));
  if (!config->port_file.empty()) {
    std::ofstream(config->port_file) << port << "\n";
  }
  // Wait for a stop signal on a context of its own; the server's threads keep serving meanwhile.
  boost::asio::io_context signals_ctx;
  boost::asio::signal_set signals(signals_ctx, SIGINT, SIGTERM);
  int received = 0;
  signals.async_wait([&](const boost::system::error_code&, int sig) { received = sig; });
  signals_ctx.run();
  log(LogLevel::kInfo, "signal " + std::to_string(received) + ": stopping gracefully");
  (*server)->stop();
  log(LogLevel::kInfo, "stopped");
  return 0;
}

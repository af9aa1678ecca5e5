#include "server/server.hpp"

#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>

#include "server/listener.hpp"
#include "server/log.hpp"
#include "server/tls.hpp"

namespace akt::server {

struct Server::Impl {
  std::shared_ptr<AppState> app;
  net::io_context ioc;
  net::thread_pool workers;
  std::shared_ptr<ServerCounters> counters = std::make_shared<ServerCounters>();
  std::unique_ptr<ServerTls> tls;
  std::shared_ptr<Listener> listener;
  std::vector<std::thread> threads;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  bool stopped = false;

  Impl(std::shared_ptr<AppState> a)
      : app(std::move(a)), ioc(app->config.io_threads), workers(static_cast<std::size_t>(app->config.workers)) {}
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { stop(); }

Result<std::unique_ptr<Server>> Server::start(std::shared_ptr<AppState> app) {
  auto impl = std::make_unique<Impl>(app);
  const Limits& lim = app->config.limits;
  impl->counters->connections = std::make_unique<ConnectionTable>(lim.max_connections, lim.max_connections_per_address,
                                                                  lim.reserved_connections);
  app->metrics.set_gauge("aktsync_connections_open", "Client connections open now (TLS handshakes included).",
                         [c = impl->counters] { return static_cast<double>(c->sessions.load()); });
  app->metrics.set_gauge("aktsync_requests_in_flight", "Requests read and not yet answered (long polls included).",
                         [c = impl->counters] { return static_cast<double>(c->in_flight.load()); });
  if (app->config.tls.enabled()) {
    auto ctx = ServerTls::load(app->config.tls);
    if (!ctx.ok()) return ctx.status();
    impl->tls = std::move(*ctx);
  }
  boost::system::error_code ec;
  auto address = net::ip::make_address(app->config.listen_address == "localhost" ? "127.0.0.1"
                                                                                   : app->config.listen_address,
                                       ec);
  if (ec) return Status::invalid_argument("listen address '" + app->config.listen_address + "' is not an IP address");
  auto l = Listener::open(impl->ioc, tcp::endpoint(address, app->config.listen_port), impl->tls.get(), app,
                          impl->workers, impl->counters);
  if (!l.ok()) return l.status();
  impl->listener = *l;
  impl->listener->run();
  impl->work.emplace(impl->ioc.get_executor());
  for (int i = 0; i < app->config.io_threads; ++i) impl->threads.emplace_back([io = &impl->ioc] { io->run(); });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

std::uint16_t Server::port() const { return impl_->listener->port(); }

AppState& Server::app() { return *impl_->app; }

void Server::stop(std::chrono::milliseconds grace) {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  AppState& app = *impl_->app;
  app.stopping = true;
  impl_->listener->close();
  app.notifier.notify_all();
  // Let requests already read finish: their batches commit and their answers are written.
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (impl_->counters->in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (impl_->counters->in_flight.load() > 0)
    log(LogLevel::kWarn, "stopping with " + std::to_string(impl_->counters->in_flight.load()) + " requests unanswered");
  impl_->workers.join();
  impl_->work.reset();
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  if (Status st = app.store->flush(); !st.ok()) log(LogLevel::kWarn, "flush at stop: " + st.message());
}

}  // namespace akt::server

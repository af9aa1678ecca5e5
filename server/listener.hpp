// Accepts connections and starts a Session for each. Internal to the server (includes Asio).
#pragma once

#include <memory>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include "server/app_state.hpp"
#include "server/session.hpp"
#include "server/tls.hpp"

namespace akt::server {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // Binds and listens; kIOError naming the endpoint when it cannot.
  static Result<std::shared_ptr<Listener>> open(net::io_context& ioc, const tcp::endpoint& endpoint,
                                                const ServerTls* tls, std::shared_ptr<AppState> app,
                                                net::thread_pool& workers, std::shared_ptr<ServerCounters> counters);
  void run();
  // Stops accepting; runs on the acceptor's strand.
  void close();
  std::uint16_t port() const { return port_; }

 private:
  Listener(net::io_context& ioc, const ServerTls* tls, std::shared_ptr<AppState> app, net::thread_pool& workers,
           std::shared_ptr<ServerCounters> counters);
  void do_accept();
  void on_accept(boost::system::error_code ec, tcp::socket socket);

  net::io_context& ioc_;
  const ServerTls* tls_;
  net::strand<net::io_context::executor_type> strand_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_timer_;
  std::shared_ptr<AppState> app_;
  net::thread_pool& workers_;
  std::shared_ptr<ServerCounters> counters_;
  std::uint16_t port_ = 0;
};

}  // namespace akt::server

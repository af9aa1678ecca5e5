#include "server/listener.hpp"

#include <optional>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "server/log.hpp"

namespace akt::server {

Listener::Listener(net::io_context& ioc, const ServerTls* tls, std::shared_ptr<AppState> app,
                   net::thread_pool& workers, std::shared_ptr<ServerCounters> counters)
    : ioc_(ioc),
      tls_(tls),
      strand_(net::make_strand(ioc)),
      acceptor_(strand_),
      retry_timer_(strand_),
      app_(std::move(app)),
      workers_(workers),
      counters_(std::move(counters)) {}

Result<std::shared_ptr<Listener>> Listener::open(net::io_context& ioc, const tcp::endpoint& endpoint,
                                                 const ServerTls* tls, std::shared_ptr<AppState> app,
                                                 net::thread_pool& workers, std::shared_ptr<ServerCounters> counters) {
  std::shared_ptr<Listener> l(new Listener(ioc, tls, std::move(app), workers, std::move(counters)));
  boost::system::error_code ec;
  const std::string where = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  l->acceptor_.open(endpoint.protocol(), ec);
  if (!ec) l->acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) l->acceptor_.bind(endpoint, ec);
  if (!ec) l->acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Status::io_error("cannot listen on " + where + ": " + ec.message());
  l->port_ = l->acceptor_.local_endpoint().port();
  return l;
}

void Listener::run() {
  net::dispatch(strand_, [self = shared_from_this()] { self->do_accept(); });
}

void Listener::close() {
  net::post(strand_, [self = shared_from_this()] {
    boost::system::error_code ec;
    self->acceptor_.close(ec);
    self->retry_timer_.cancel();
  });
}

void Listener::do_accept() {
  if (!acceptor_.is_open()) return;
  acceptor_.async_accept(net::make_strand(ioc_), [self = shared_from_this()](boost::system::error_code ec,
                                                                             tcp::socket socket) {
    self->on_accept(ec, std::move(socket));
  });
}

void Listener::on_accept(boost::system::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    // Typically out of file descriptors: back off briefly instead of spinning.
    log(LogLevel::kWarn, "accept failed: " + ec.message());
    retry_timer_.expires_after(std::chrono::milliseconds(50));
    retry_timer_.async_wait([self = shared_from_this()](boost::system::error_code e) {
      if (!e) self->do_accept();
    });
    return;
  }
  boost::system::error_code peer_ec;
  const auto peer = socket.remote_endpoint(peer_ec);
  std::optional<std::uint64_t> id;
  if (!peer_ec) id = counters_->connections->admit(peer.address().to_string());
  if (!id) {
    boost::system::error_code ignored;
    socket.close(ignored);  // over a connection cap with no silent connection to evict: refuse at once
  } else {
    // A TLS session takes a reference to the context current now (a reload may replace it later).
    const SslCtxPtr ctx = tls_ ? tls_->current() : nullptr;
    start_session(std::move(socket), ctx.get(), app_, workers_, counters_, *id);
  }
  do_accept();
}

}  // namespace akt::server

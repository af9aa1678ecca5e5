// One HTTP/1.1 keep-alive connection, plain or TLS. Internal to the server: the session class lives in
// session.cpp; this header only starts one, so that Beast's HTTP code stays in one unit.
#pragma once

#include <atomic>
#include <memory>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>

#include "server/app_state.hpp"
#include "server/connection_table.hpp"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace akt::server {

namespace net = boost::asio;
using tcp = net::ip::tcp;

// Counts shared by the listener, its sessions and the server's shutdown.
struct ServerCounters {
  std::atomic<int> sessions{0};
  std::atomic<int> in_flight{0};  // requests read and not yet answered
  std::unique_ptr<ConnectionTable> connections;  // admission and eviction (set before the listener runs)
};

// Starts serving `socket`: over TLS when `tls` is set (handshake first), plain HTTP otherwise. The
// session's SSL object holds a reference to `tls` of its own. `workers` and `app` must outlive the
// session (the server joins its threads before destroying them).
// `connection` is the id counters->connections admitted it under; the session releases it when it ends.
void start_session(tcp::socket&& socket, ssl_ctx_st* tls, std::shared_ptr<AppState> app,
                   net::thread_pool& workers, std::shared_ptr<ServerCounters> counters, std::uint64_t connection);

}  // namespace akt::server

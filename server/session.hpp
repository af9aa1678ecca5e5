// One HTTP/1.1 keep-alive connection. Internal to the server: included by listener.cpp and session.cpp
// only, so that Beast stays out of every other translation unit.
#pragma once

#include <atomic>
#include <memory>
#include <optional>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "server/app_state.hpp"
#include "server/http_types.hpp"

namespace akt::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// Counts shared by the listener, its sessions and the server's shutdown.
struct ServerCounters {
  std::atomic<int> sessions{0};
  std::atomic<int> in_flight{0};  // requests read and not yet answered
};

// All members are touched only on the connection's strand (the socket's executor).
class Session : public std::enable_shared_from_this<Session> {
 public:
  // `app`, `workers` and `counters` must outlive the session (the server joins workers before
  // destroying them).
  Session(tcp::socket&& socket, std::shared_ptr<AppState> app, net::thread_pool& workers,
          std::shared_ptr<ServerCounters> counters);
  ~Session();
  void run();

 private:
  void do_read();
  void read_request();
  void on_read(beast::error_code ec, std::size_t bytes);
  void dispatch_request(HttpRequest req);
  void on_routed(HttpRequest req, HttpResponse resp);
  void start_long_poll(HttpRequest req, const LongPoll& lp);
  void send(HttpResponse resp);
  void on_write(bool keep_alive, beast::error_code ec, std::size_t bytes);
  void do_close();

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<AppState> app_;
  net::thread_pool& workers_;
  std::shared_ptr<ServerCounters> counters_;
  net::steady_timer poll_timer_;
  bool keep_alive_ = true;
  bool served_ = false;  // a request was answered on this connection
  unsigned version_ = 11;
  std::string remote_;
};

}  // namespace akt::server

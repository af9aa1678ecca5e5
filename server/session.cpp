// HTTP/1.1 session over a plain or TLS stream, after Beast's async (flex) server examples and CppCon2018.
//
// Design notes:
//  1. Every handler of this session runs on its strand; route() runs on the worker pool and its
//     answer is posted back to the strand, so no I/O thread ever waits on SQLite.
//  2. One request at a time per connection (no pipelining): read -> route -> write -> read.
//  3. A kept-alive connection may idle idle_timeout_ms before its next request starts; once its first
//     bytes arrived, the whole request must arrive within read_timeout_ms (a slow-loris client is cut
//     off there). Header and body sizes are bounded by the parser (431 / 413, then close).
//  4. A long-poll parks the request: a timer and a notifier waiter race; whichever fires first
//     (guarded by an atomic flag) re-routes the request once with waiting disabled.
//
//  5. TLS: the handshake must finish within handshake_timeout_ms; closing sends close_notify
//     (async_shutdown) under a timeout of its own. A plain-HTTP client on the TLS port fails the
//     handshake and is closed; others are unaffected.
//
//  6. Streamed answers (HttpResponse::stream): the first piece is produced on the worker with the
//     route, so a failure there is still a problem+json 500. Then the header goes out with
//     Transfer-Encoding: chunked, and each further piece is produced on the worker pool only after the
//     previous chunk was written (backpressure: one piece in memory per connection). Each chunk write has
//     read_timeout_ms. A write error (client gone) drops the producer and closes. A producer failure
//     after the header is logged and the connection is closed without the last chunk, so the client
//     sees a truncated transfer and never mistakes a partial export for a whole one. Pieces are
//     compressed on the fly, zstd or gzip as the client accepts (sync::answer_coding), flushed per chunk
//     so that what arrived decodes.
//
//   [handshake] --> do_read --ok--> dispatch_request --worker--> on_routed --long_poll--> start_long_poll --> dispatch
//      ^                                             | answer
//      +------------- on_write (keep-alive) <--- send
#include "server/session.hpp"

#include <optional>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "schema/export/gzip_stream.hpp"
#include "schema/export/zstd_stream.hpp"
#include "server/http_parse.hpp"
#include "server/http_types.hpp"
#include "server/log.hpp"
#include "server/problem.hpp"
#include "server/request_meta.hpp"
#include "server/router.hpp"
#include "server/tls_stream.hpp"
#include "sync/content_coding.hpp"

namespace akt::server {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

// Wraps `inner` so that its pieces come out as one compressed stream (`Coder`: exports::GzipStream or
// exports::ZstdStream). Empty pieces stay empty until the end.
template <class Coder>
BodyProducer coded_producer(BodyProducer inner, std::shared_ptr<Coder> coder) {
  return [inner = std::move(inner), coder, raw = std::string()](std::string& out) mutable -> StreamStep {
    raw.clear();
    const StreamStep step = inner(raw);
    if (step == StreamStep::kFailed) {
      out = std::move(raw);
      return step;
    }
    if (raw.empty() && step == StreamStep::kMore) return step;
    if (Status s = coder->write(raw, step == StreamStep::kDone, out); !s.ok()) {
      out = s.message();
      return StreamStep::kFailed;
    }
    return step;
  };
}

template <class Stream>
constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

bool is_timeout(const beast::error_code& ec) { return ec == beast::error::timeout || ec == net::error::timed_out; }

// All members are touched only on the connection's strand (the socket's executor).
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(tcp::socket&& socket, ssl_ctx_st* tls, std::shared_ptr<AppState> app, net::thread_pool& workers,
          std::shared_ptr<ServerCounters> counters, std::uint64_t connection)
      : stream_(make_stream(std::move(socket), tls)),
        connection_(connection),
        app_(std::move(app)),
        workers_(workers),
        counters_(std::move(counters)),
        poll_timer_(stream_.get_executor()) {
    counters_->sessions.fetch_add(1);
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
  }
  ~Session() {
    counters_->connections->release(connection_);
    counters_->sessions.fetch_sub(1);
  }

  void run() {
    // Eviction (ConnectionTable) closes the socket on the session's strand.
    std::weak_ptr<Session> weak = this->shared_from_this();
    const bool attached = counters_->connections->attach(connection_, [weak] {
      if (auto self = weak.lock())
        net::post(self->stream_.get_executor(), [self] { self->close_socket(); });
    });
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this(), attached] {
      if (!attached) return self->close_socket();
      self->start();
    });
  }

 private:
  static Stream make_stream(tcp::socket&& socket, ssl_ctx_st* tls) {
    if constexpr (kIsTls<Stream>) return Stream(std::move(socket), tls);
    else return Stream(std::move(socket));
  }

  void start() {
    if constexpr (kIsTls<Stream>) {
      // The client's first bytes (its ClientHello) must come within first_byte_timeout_ms; the first is
      // peeked at (left for the handshake), which must then finish within handshake_timeout_ms.
      stream_.expires_after(std::chrono::milliseconds(app_->config.limits.first_byte_timeout_ms));
      wait_first_byte();
    } else {
      do_read();
    }
  }

  void wait_first_byte() {
    stream_.async_wait_readable([self = this->shared_from_this()](beast::error_code ec) {
      if (ec) return self->close_socket();
      const int first = self->stream_.peek_byte();
      if (first == -1) return self->wait_first_byte();
      if (first < 0) return self->close_socket();
      // A TLS connection starts with a handshake record (0x16). Letters are a plain-HTTP request: say
      // in plain HTTP what is wrong (426, RFC 9110 §15.5.22) instead of a silent close.
      if (first >= 'A' && first <= 'Z') return self->refuse_plain_http();
      self->stream_.expires_after(std::chrono::milliseconds(self->app_->config.limits.handshake_timeout_ms));
      self->stream_.async_handshake([self](beast::error_code ec2) {
        if (ec2) {
          log(LogLevel::kDebug, "TLS handshake with " + self->remote_ + " failed: " + ec2.message());
          return self->close_socket();
        }
        self->do_read();
      });
    });
  }

  void refuse_plain_http() {
    static const std::string kBody =
        problem(426, "tls_required", "this port speaks HTTPS: use https:// in the server address").body;
    static const std::string kAnswer = "HTTP/1.1 426 Upgrade Required\r\nUpgrade: TLS/1.3, HTTP/1.1\r\n"
                                       "Content-Type: application/problem+json\r\nConnection: close\r\n"
                                       "Content-Length: " + std::to_string(kBody.size()) + "\r\n\r\n" + kBody;
    // The socket is non-blocking (TlsStream): read what the request sent so far, so that closing does
    // not reset the connection under the answer, then write the answer, which fits a fresh socket's
    // send buffer, and close.
    tcp::socket& socket = stream_.socket();
    beast::error_code ec;
    char drain[1536];
    socket.read_some(net::buffer(drain), ec);
    net::write(socket, net::buffer(kAnswer), ec);
    socket.shutdown(net::socket_base::shutdown_both, ec);
    close_socket();
  }

  void do_read() {
    if (app_->stopping) return do_close();
    const Limits& lim = app_->config.limits;
    if (buffer_.size() > 0) return read_request();  // bytes of the next request already arrived
    // Phase 1: wait for the first bytes, idle_timeout_ms on a kept-alive connection (first_byte_timeout_ms
    // for a new one: a client that connects must speak soon). Meanwhile the connection is silent (it
    // may be evicted for a newcomer unless it is authenticated) and holds no buffer.
    buffer_.shrink_to_fit();
    counters_->connections->set_waiting(connection_, true);
    stream_.expires_after(std::chrono::milliseconds(served_ ? lim.idle_timeout_ms : lim.first_byte_timeout_ms));
    if constexpr (kIsTls<Stream>) {
      // Over TLS the wait itself holds no buffer at all (and OpenSSL has released its record buffers).
      stream_.async_wait_readable([self = this->shared_from_this()](beast::error_code ec) {
        if (ec) return self->on_read(ec, 0);
        self->read_first_bytes();
      });
    } else {
      read_first_bytes();
    }
  }

  void read_first_bytes() {
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) return self->on_read(ec, 0);
                              self->buffer_.commit(n);
                              self->read_request();
                            });
  }

  void read_request() {
    const Limits& lim = app_->config.limits;
    counters_->connections->set_waiting(connection_, false);
    parser_.emplace();
    request_started_ = std::chrono::steady_clock::now();
    parser_->body_limit(lim.max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(lim.max_header_bytes));
    // Phase 2: the whole request must arrive within read_timeout_ms (slow-loris clients are cut here).
    stream_.expires_after(std::chrono::milliseconds(app_->config.limits.read_timeout_ms));
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t n) { self->on_read(ec, n); });
  }

  void on_read(beast::error_code ec, std::size_t) {
    request_id_ = new_request_id();
    if (ec && salvage_cut_upload(ec)) return;
    if (ec == http::error::end_of_stream || ec == net::error::operation_aborted || is_timeout(ec) ||
        ec == net::error::connection_reset || ec == net::error::eof || ec == net::ssl::error::stream_truncated) {
      return do_close();
    }
    if (ec) {
      // Answer what we can explain, then close: the stream position is unknown after a parse error.
      keep_alive_ = false;
      if (auto answer = answer_for_parse_error(ec, app_->config.limits)) send(std::move(*answer));
      else do_close();
      return;
    }
    auto& msg = parser_->get();
    request_bytes_in_ = msg.body().size();
    HttpRequest req = to_http_request(msg, remote_);
    req.request_id = request_id_;
    keep_alive_ = msg.keep_alive();
    version_ = msg.version();
    served_ = true;
    stream_.expires_never();  // the answer may wait for a group commit; the write sets its own deadline
    counters_->in_flight.fetch_add(1);
    dispatch_request(std::move(req));
  }

  // An upload chunk (PATCH /v1/uploads/{id}) whose body was cut off in transit, by a dropped link, a reset
  // or the read deadline: the bytes that arrived are stored as a shorter chunk (PROTOCOL §14.2), so a cut
  // costs the client only what was still in the air. Routed as the request it is (same authentication,
  // offset check and upload lock), flagged `cut`; nobody waits for the answer, and the connection closes.
  bool salvage_cut_upload(const beast::error_code& ec) {
    if (!parser_ || !parser_->is_header_done() || parser_->is_done()) return false;
    auto& msg = parser_->get();
    if (msg.method() != http::verb::patch || msg.body().empty() || !msg.target().starts_with("/v1/uploads/"))
      return false;
    HttpRequest req = to_http_request(msg, remote_);
    req.request_id = request_id_;
    req.cut = true;
    parser_.reset();
    counters_->in_flight.fetch_add(1);  // a stopping server waits for the append as for any request
    const auto started = request_started_;
    net::post(workers_, [self = this->shared_from_this(), req = std::move(req), started, why = ec.message()] {
      const HttpResponse resp = route(req, *self->app_);
      const auto ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
      log(LogLevel::kInfo, "request PATCH " + req.target.substr(0, 120) + " cut after " +
                               std::to_string(req.body.size()) + " bytes (" + why + "): kept with status " +
                               std::to_string(resp.status) + " from " + self->remote_ + " " + std::to_string(ms) +
                               " ms");
      self->counters_->in_flight.fetch_sub(1);
      net::post(self->stream_.get_executor(), [self] { self->close_socket(); });
    });
    return true;
  }

  void dispatch_request(HttpRequest req) {
    net::post(workers_, [self = this->shared_from_this(), req = std::move(req)]() mutable {
      HttpResponse resp = route(req, *self->app_);
      if (resp.authenticated) self->counters_->connections->set_authenticated(self->connection_);
      if (resp.stream && !resp.long_poll) return self->start_stream(req, std::move(resp));
      net::post(self->stream_.get_executor(), [self, req = std::move(req), resp = std::move(resp)]() mutable {
        if (resp.long_poll) return self->start_long_poll(std::move(req), *resp.long_poll);
        self->send(std::move(resp));
      });
    });
  }

  void start_long_poll(HttpRequest req, const LongPoll& lp) {
    auto fired = std::make_shared<std::atomic<bool>>(false);
    auto self = this->shared_from_this();
    req.allow_wait = false;
    auto shared_req = std::make_shared<HttpRequest>(std::move(req));
    poll_timer_.expires_at(lp.deadline);
    const std::uint64_t id = app_->notifier.wait(lp.since, app_->store->last_seq(), [self, fired, shared_req] {
      if (fired->exchange(true)) return;
      net::post(self->stream_.get_executor(), [self, shared_req] {
        self->poll_timer_.cancel();
        self->dispatch_request(*shared_req);
      });
    });
    poll_timer_.async_wait([self, fired, shared_req, id](beast::error_code) {
      if (fired->exchange(true)) return;
      self->app_->notifier.cancel(id);
      self->dispatch_request(*shared_req);
    });
  }

  void send(HttpResponse resp) {
    // Answers made here (unreadable requests) get their request id too; routed ones have it already.
    stamp_request_id(resp, request_id_);
    if (parser_ && parser_->is_done()) {
      // One line per answered request, finished in on_write (the time includes sending the answer):
      // counted in the metrics always, logged at level info.
      const auto& m = parser_->get();
      const std::string_view target = m.target();
      request_log_.emplace();
      request_log_->request_id = request_id_;
      request_log_->method = std::string(m.method_string());
      request_log_->path = std::string(target.substr(0, std::min<std::size_t>(target.find('?'), 120)));
      request_log_->route = resp.route.empty() ? route_template(target) : resp.route;
      request_log_->status = resp.status;
      request_log_->bytes_in = request_bytes_in_;
      request_log_->bytes_out = resp.head ? 0 : resp.body.size();
      const std::size_t eq = resp.principal.find('=');
      request_log_->principal_kind = eq == std::string::npos ? "anonymous" : resp.principal.substr(0, eq);
      request_log_->principal = eq == std::string::npos ? std::string() : resp.principal.substr(eq + 1);
      request_log_->remote = remote_;
    }
    http::response<http::string_body> res{static_cast<http::status>(resp.status), version_};
    res.set(http::field::server, "aktsyncd");
    res.set(http::field::content_type, resp.content_type);
    if constexpr (kIsTls<Stream>) res.set(http::field::strict_transport_security, "max-age=31536000");
    for (const auto& [k, v] : resp.headers) res.set(k, v);
    const bool keep_alive = keep_alive_ && !resp.close && !app_->stopping;
    res.keep_alive(keep_alive);
    if (resp.head) {
      if (!resp.head_streamed) res.content_length(resp.body.size());  // GET's length; no body follows
    } else {
      res.body() = std::move(resp.body);
      res.prepare_payload();
    }
    auto sp = std::make_shared<http::response<http::string_body>>(std::move(res));
    stream_.expires_after(std::chrono::milliseconds(app_->config.limits.read_timeout_ms));
    http::async_write(stream_, *sp,
                      [self = this->shared_from_this(), sp, keep_alive](beast::error_code ec, std::size_t) {
                        self->on_write(keep_alive, ec);
                      });
  }

  // A chunked answer in progress. Touched on the strand, except `producer`, which only the worker that
  // produces the next piece calls (never concurrently: one piece is produced or written at a time).
  struct OutStream {
    BodyProducer producer;
    http::response<http::empty_body> header;
    std::optional<http::response_serializer<http::empty_body>> serializer;
    std::string piece;  // the chunk being written
    StreamStep step = StreamStep::kMore;
    bool keep_alive = false;
    bool chunked = true;  // false for an HTTP/1.0 client: the body ends when the connection closes
    std::string what;   // "GET /v1/exports/...", for the log
  };

  // On the worker: produce the first piece; a failure here still gets a proper error answer.
  void start_stream(const HttpRequest& req, HttpResponse resp) {
    auto self = this->shared_from_this();
    auto out = std::make_shared<OutStream>();
    out->what = req.method + " " + req.target.substr(0, 200);
    const sync::Coding coding =
        resp.compressible ? sync::answer_coding(req.header("accept-encoding")) : sync::Coding::kIdentity;
    if (coding == sync::Coding::kZstd)
      out->producer = coded_producer(std::move(resp.stream), std::make_shared<exports::ZstdStream>(kZstdAnswerLevel));
    else if (coding == sync::Coding::kGzip)
      out->producer = coded_producer(std::move(resp.stream), std::make_shared<exports::GzipStream>(kGzipAnswerLevel));
    else
      out->producer = std::move(resp.stream);
    std::string first;
    out->step = out->producer(first);
    if (out->step == StreamStep::kFailed) {
      log(LogLevel::kError, out->what + " failed before its first byte: " + first);
      HttpResponse err = problem(500, "internal", "the answer could not be produced");
      net::post(stream_.get_executor(), [self, err = std::move(err)]() mutable { self->send(std::move(err)); });
      return;
    }
    out->piece = std::move(first);
    auto& h = out->header;
    h.result(static_cast<http::status>(resp.status));
    h.set(http::field::server, "aktsyncd");
    h.set(http::field::content_type, resp.content_type);
    if constexpr (kIsTls<Stream>) h.set(http::field::strict_transport_security, "max-age=31536000");
    for (const auto& [k, v] : resp.headers) h.set(k, v);
    if (coding != sync::Coding::kIdentity) h.set(http::field::content_encoding, std::string(sync::coding_name(coding)));
    net::post(stream_.get_executor(), [self, out, close = resp.close] {
      out->keep_alive = self->keep_alive_ && !close && !self->app_->stopping;
      out->header.version(self->version_);
      // HTTP/1.0 has no chunked encoding: the body is delimited by closing the connection.
      out->chunked = self->version_ >= 11;
      if (!out->chunked) out->keep_alive = false;
      out->header.keep_alive(out->keep_alive);
      out->header.chunked(out->chunked);
      out->serializer.emplace(out->header);
      self->out_ = out;
      self->stream_.expires_after(std::chrono::milliseconds(self->app_->config.limits.read_timeout_ms));
      http::async_write_header(self->stream_, *out->serializer, [self](beast::error_code ec, std::size_t) {
        if (ec) return self->stream_write_failed(ec);
        self->write_piece();
      });
    });
  }

  // On the strand: write out_->piece as one chunk (none if empty), then the last chunk or the next piece.
  void write_piece() {
    OutStream& out = *out_;
    auto self = this->shared_from_this();
    if (out.piece.empty()) return after_piece();
    stream_.expires_after(std::chrono::milliseconds(app_->config.limits.read_timeout_ms));
    auto done = [self](beast::error_code ec, std::size_t) {
      if (ec) return self->stream_write_failed(ec);
      self->after_piece();
    };
    if (out.chunked) net::async_write(stream_, http::make_chunk(net::buffer(out.piece)), std::move(done));
    else net::async_write(stream_, net::buffer(out.piece), std::move(done));
  }

  void after_piece() {
    auto self = this->shared_from_this();
    OutStream& out = *out_;
    out.piece.clear();
    if (out.step == StreamStep::kDone && !out.chunked) {
      out_.reset();
      return on_write(false, {});  // HTTP/1.0: closing the connection ends the body
    }
    if (out.step == StreamStep::kDone) {
      stream_.expires_after(std::chrono::milliseconds(app_->config.limits.read_timeout_ms));
      net::async_write(stream_, http::make_chunk_last(), [self](beast::error_code ec, std::size_t) {
        const bool keep_alive = self->out_->keep_alive;
        self->out_.reset();
        self->on_write(keep_alive, ec);
      });
      return;
    }
    if (app_->stopping) return abort_stream("the server is stopping");
    // Produce the next piece off the strand (it may read SQLite); empty pieces are skipped there.
    net::post(workers_, [self, out = out_] {
      std::string next;
      StreamStep step;
      do {
        next.clear();
        step = out->producer(next);
      } while (step == StreamStep::kMore && next.empty() && !self->app_->stopping);
      net::post(self->stream_.get_executor(), [self, step, next = std::move(next)]() mutable {
        if (!self->out_) return;
        if (step == StreamStep::kFailed) return self->abort_stream(next);
        self->out_->step = step;
        self->out_->piece = std::move(next);
        self->write_piece();
      });
    });
  }

  // Ends a started chunked answer without its last chunk: the client sees a truncated transfer.
  void abort_stream(const std::string& reason) {
    log(LogLevel::kError, (out_ ? out_->what : std::string("stream")) + " to " + remote_ +
                              " aborted mid-stream: " + reason);
    out_.reset();
    on_write(false, net::error::operation_aborted);  // closes the socket at once (no close_notify)
  }

  void stream_write_failed(beast::error_code ec) {
    log(LogLevel::kInfo, (out_ ? out_->what : std::string("stream")) + " to " + remote_ +
                             " stopped, the client went away: " + ec.message());
    out_.reset();  // frees the producer and everything it holds
    on_write(false, ec);
  }

  void on_write(bool keep_alive, beast::error_code ec) {
    if (request_log_) {
      request_log_->ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                               request_started_)
                             .count();
      if (ec) request_log_->note = "answer cut: " + ec.message();
      log_request(*request_log_);
      app_->metrics.observe(*request_log_);
      request_log_.reset();
    }
    // Counted from the read that produced a request; answers to unreadable input were not counted.
    if (parser_ && parser_->is_done()) {
      counters_->in_flight.fetch_sub(1);
      parser_.reset();
    }
    if (ec) {
      if (ec != net::error::operation_aborted && !is_timeout(ec))
        log(LogLevel::kDebug, "write to " + remote_ + " failed: " + ec.message());
      return close_socket();
    }
    if (!keep_alive) return do_close();
    do_read();
  }

  void do_close() {
    if constexpr (kIsTls<Stream>) {
      // close_notify, bounded: a peer that never answers it does not hold the connection.
      stream_.expires_after(std::chrono::seconds(5));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) { self->close_socket(); });
    } else {
      close_socket();
    }
  }

  void close_socket() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  Stream stream_;
  std::uint64_t connection_;  // id in counters_->connections
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<AppState> app_;
  net::thread_pool& workers_;
  std::shared_ptr<ServerCounters> counters_;
  net::steady_timer poll_timer_;
  std::shared_ptr<OutStream> out_;  // the chunked answer being sent, if any
  bool keep_alive_ = true;
  bool served_ = false;  // a request was answered on this connection
  std::chrono::steady_clock::time_point request_started_{};  // when the current request's first byte was read
  std::optional<RequestLogLine> request_log_;  // the request log line being finished
  std::string request_id_;  // of the request being read or answered
  std::size_t request_bytes_in_ = 0;  // body bytes of the current request, as received
  unsigned version_ = 11;
  std::string remote_;
};

}  // namespace

void start_session(tcp::socket&& socket, ssl_ctx_st* tls, std::shared_ptr<AppState> app, net::thread_pool& workers,
                   std::shared_ptr<ServerCounters> counters, std::uint64_t connection) {
  if (tls) {
    std::make_shared<Session<TlsStream>>(std::move(socket), tls, std::move(app), workers, std::move(counters),
                                         connection)
        ->run();
  } else {
    std::make_shared<Session<beast::tcp_stream>>(std::move(socket), nullptr, std::move(app), workers,
                                                 std::move(counters), connection)
        ->run();
  }
}

}  // namespace akt::server

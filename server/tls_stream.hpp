// A TLS stream of our own over OpenSSL, for the server's side of a connection. Internal to the server.
//
// Why not asio::ssl::stream: its engine keeps two fixed ~17 KiB buffers and a BIO pair of two more for
// the whole life of a connection, ~68 KiB per idle keep-alive connection (SECURITY.md §9.1). Here
// OpenSSL reads and writes the socket itself (a small BIO over the socket's descriptor, send() with
// MSG_NOSIGNAL), non-blocking, and SSL_MODE_RELEASE_BUFFERS (set on the context, tls.cpp) frees its
// record buffers whenever no record is in flight: an idle connection holds the SSL object and nothing
// else. Waiting is Asio's socket async_wait(wait_read / wait_write) on the connection's executor.
//
// It is an AsyncReadStream and AsyncWriteStream (Beast's http::async_read / async_write work on it)
// and carries Beast tcp_stream-like timeouts: expires_after() bounds the operations pending or started
// until expires_never() or the next expires_after(); an operation past the deadline completes with
// asio::error::timed_out. Writes of several small buffers are coalesced (up to one record) so an HTTP
// header goes out as one TLS record, not one per field.
//
// Like the sockets, not thread-safe: use it from one strand. At most one read and one write pending.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>

#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

struct ssl_ctx_st;

namespace akt::server {

namespace net = boost::asio;
using tcp = net::ip::tcp;

class TlsStream {
 public:
  using executor_type = tcp::socket::executor_type;

  // Takes the socket (made non-blocking) and a new SSL object of `ctx` in the server role; the SSL
  // object holds a reference to `ctx`, so the context may be replaced meanwhile (certificate reload).
  TlsStream(tcp::socket&& socket, ssl_ctx_st* ctx);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  executor_type get_executor() { return socket().get_executor(); }
  tcp::socket& socket();

  void expires_after(std::chrono::steady_clock::duration d);
  void expires_never();

  // Completion signature void(error_code).
  template <class Token>
  auto async_handshake(Token&& token) {
    return start<false>(Kind::kHandshake, nullptr, 0, nullptr, std::forward<Token>(token));
  }
  // close_notify, then wait for the peer's (bound it with expires_after). void(error_code).
  template <class Token>
  auto async_shutdown(Token&& token) {
    return start<false>(Kind::kShutdown, nullptr, 0, nullptr, std::forward<Token>(token));
  }
  // Completes when bytes can be read (received on the socket, or already decrypted and pending)
  // without allocating any buffer: how an idle keep-alive connection waits. void(error_code).
  template <class Token>
  auto async_wait_readable(Token&& token) {
    return start<false>(Kind::kWaitReadable, nullptr, 0, nullptr, std::forward<Token>(token));
  }
  // The first byte waiting on the socket, not consumed (MSG_PEEK), before the handshake: -1 when none
  // is there yet, -2 when the peer closed or the socket failed.
  int peek_byte();

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers); ++it) {
      const net::mutable_buffer b(*it);
      if (b.size() > 0) return start<true>(Kind::kRead, b.data(), b.size(), nullptr, std::forward<Token>(token));
    }
    return start<true>(Kind::kRead, nullptr, 0, nullptr, std::forward<Token>(token));
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    const std::size_t total = net::buffer_size(buffers);
    net::const_buffer first;
    for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers); ++it) {
      first = net::const_buffer(*it);
      if (first.size() > 0) break;
    }
    if (first.size() >= std::min(total, kRecordBytes)) {
      return start<true>(Kind::kWrite, const_cast<void*>(first.data()), first.size(), nullptr,
                         std::forward<Token>(token));
    }
    // Several small buffers: one copy of up to a record's worth, held only while this write is pending.
    const std::size_t n = std::min(total, kRecordBytes);
    std::unique_ptr<char[]> copy(new char[n]);
    net::buffer_copy(net::buffer(copy.get(), n), buffers);
    void* data = copy.get();
    return start<true>(Kind::kWrite, data, n, std::move(copy), std::forward<Token>(token));
  }

 private:
  static constexpr std::size_t kRecordBytes = 16384;
  enum class Kind { kHandshake, kRead, kWrite, kShutdown, kWaitReadable };
  enum class Want { kDone, kRead, kWrite };
  struct Step {
    Want want = Want::kDone;
    std::size_t bytes = 0;
    boost::system::error_code ec;
  };
  struct State;

  // One non-blocking attempt at the operation, on the strand.
  Step attempt(Kind kind, void* data, std::size_t size);
  bool timed_out() const;

  template <bool WithSize>
  struct Op {
    TlsStream* stream;
    Kind kind;
    void* data;
    std::size_t size;
    std::unique_ptr<char[]> copy;  // coalesced write data, if any
    enum class Phase { kStart, kWaiting, kPosted } phase = Phase::kStart;
    Step result{};

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}) {
      if (phase == Phase::kPosted) return finish(self);
      if (phase == Phase::kWaiting) {
        if (stream->timed_out()) return done(self, {Want::kDone, 0, net::error::timed_out});
        if (ec) return done(self, {Want::kDone, 0, ec});
      } else if (stream->timed_out()) {
        return done(self, {Want::kDone, 0, net::error::timed_out});
      }
      const Step step = stream->attempt(kind, data, size);
      if (step.want != Want::kDone) {
        phase = Phase::kWaiting;
        stream->socket().async_wait(step.want == Want::kRead ? tcp::socket::wait_read : tcp::socket::wait_write,
                                    std::move(self));
        return;
      }
      done(self, step);
    }

    // Never completes inside the initiating call: a result found at once is posted first.
    template <class Self>
    void done(Self& self, Step step) {
      result = step;
      if (phase == Phase::kStart) {
        phase = Phase::kPosted;
        net::post(stream->get_executor(), std::move(self));
        return;
      }
      finish(self);
    }

    template <class Self>
    void finish(Self& self) {
      copy.reset();
      if constexpr (WithSize) self.complete(result.ec, result.bytes);
      else self.complete(result.ec);
    }
  };

  template <bool WithSize, class Token>
  auto start(Kind kind, void* data, std::size_t size, std::unique_ptr<char[]> copy, Token&& token) {
    using Signature = std::conditional_t<WithSize, void(boost::system::error_code, std::size_t),
                                         void(boost::system::error_code)>;
    return net::async_compose<Token, Signature>(Op<WithSize>{this, kind, data, size, std::move(copy)}, token,
                                                socket());
  }

  std::shared_ptr<State> state_;
};

}  // namespace akt::server

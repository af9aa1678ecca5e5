#include "server/tls_stream.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <climits>

#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace akt::server {

namespace {

// The BIO between OpenSSL and the socket: recv()/send() on the descriptor, non-blocking, without
// SIGPIPE (OpenSSL's own socket BIO uses write(), which raises it on a connection the peer closed).
struct SocketBio {
  int fd = -1;
  int last_errno = 0;  // of the last failed call, for SSL_ERROR_SYSCALL
};

int bio_write(BIO* bio, const char* data, int len) {
  auto* s = static_cast<SocketBio*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  const ssize_t n = ::send(s->fd, data, static_cast<std::size_t>(len), MSG_NOSIGNAL);
  if (n >= 0) return static_cast<int>(n);
  s->last_errno = errno;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_write(bio);
  return -1;
}

int bio_read(BIO* bio, char* out, int len) {
  auto* s = static_cast<SocketBio*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  const ssize_t n = ::recv(s->fd, out, static_cast<std::size_t>(len), 0);
  if (n >= 0) return static_cast<int>(n);  // 0: the peer closed
  s->last_errno = errno;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_read(bio);
  return -1;
}

long bio_ctrl(BIO*, int cmd, long, void*) {
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;  // nothing is buffered here
}

int bio_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

BIO_METHOD* socket_bio_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "aktsync socket");
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    return m;
  }();
  return method;
}

}  // namespace

struct TlsStream::State {
  tcp::socket socket;
  net::steady_timer timer;
  SSL* ssl = nullptr;
  SocketBio bio;
  unsigned deadline = 0;  // which expires_after the timer is for
  bool expired = false;

  State(tcp::socket&& s) : socket(std::move(s)), timer(socket.get_executor()) {}
  ~State() {
    if (ssl) SSL_free(ssl);  // no I/O: a close_notify is sent only by async_shutdown
  }
};

TlsStream::TlsStream(tcp::socket&& socket, ssl_ctx_st* ctx) : state_(std::make_shared<State>(std::move(socket))) {
  State& st = *state_;
  boost::system::error_code ec;
  st.socket.non_blocking(true, ec);
  st.bio.fd = st.socket.native_handle();
  st.ssl = SSL_new(ctx);
  BIO* bio = st.ssl ? BIO_new(socket_bio_method()) : nullptr;
  if (!bio) {
    // Out of memory: the connection fails at its first operation.
    st.socket.close(ec);
    return;
  }
  BIO_set_data(bio, &st.bio);
  SSL_set_bio(st.ssl, bio, bio);  // the SSL object owns the BIO
  SSL_set_accept_state(st.ssl);
}

TlsStream::~TlsStream() {
  // A pending deadline holds only a weak reference; cancelling here frees the timer's wait at once.
  state_->timer.cancel();
}

tcp::socket& TlsStream::socket() { return state_->socket; }

void TlsStream::expires_after(std::chrono::steady_clock::duration d) {
  State& st = *state_;
  st.expired = false;
  const unsigned deadline = ++st.deadline;
  st.timer.expires_after(d);
  st.timer.async_wait([weak = std::weak_ptr<State>(state_), deadline](boost::system::error_code ec) {
    auto s = weak.lock();
    if (ec || !s || s->deadline != deadline) return;
    s->expired = true;
    boost::system::error_code ignored;
    s->socket.cancel(ignored);  // a pending wait completes; the operation reports timed_out
  });
}

void TlsStream::expires_never() {
  State& st = *state_;
  ++st.deadline;
  st.expired = false;
  st.timer.cancel();
}

bool TlsStream::timed_out() const { return state_->expired; }

int TlsStream::peek_byte() {
  State& st = *state_;
  if (!st.socket.is_open()) return -2;
  unsigned char b = 0;
  const ssize_t n = ::recv(st.bio.fd, &b, 1, MSG_PEEK);
  if (n == 1) return b;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return -1;
  return -2;
}

TlsStream::Step TlsStream::attempt(Kind kind, void* data, std::size_t size) {
  State& st = *state_;
  // Once the socket is closed its descriptor number may belong to another connection: never touch it.
  if (!st.socket.is_open() || !st.ssl) return {Want::kDone, 0, net::error::bad_descriptor};
  if (kind == Kind::kWaitReadable) {
    if (SSL_has_pending(st.ssl)) return {};
    const int b = peek_byte();
    return b == -1 ? Step{Want::kRead, 0, {}} : Step{};  // a closed peer or an error: the read will say
  }
  if ((kind == Kind::kRead || kind == Kind::kWrite) && size == 0) return {};
  const int len = static_cast<int>(std::min<std::size_t>(size, INT_MAX));
  ERR_clear_error();
  st.bio.last_errno = 0;
  int r = 0;
  switch (kind) {
    case Kind::kHandshake:
      r = SSL_do_handshake(st.ssl);
      if (r == 1) return {};
      break;
    case Kind::kRead:
      r = SSL_read(st.ssl, data, len);
      if (r > 0) return {Want::kDone, static_cast<std::size_t>(r), {}};
      break;
    case Kind::kWrite:
      r = SSL_write(st.ssl, data, len);
      if (r > 0) return {Want::kDone, static_cast<std::size_t>(r), {}};
      break;
    case Kind::kShutdown:
      r = SSL_shutdown(st.ssl);           // sends close_notify: 0 until the peer's arrives
      if (r == 0) r = SSL_shutdown(st.ssl);  // reads the peer's close_notify
      if (r == 1) return {};
      break;
    case Kind::kWaitReadable:
      break;
  }
  const int err = SSL_get_error(st.ssl, r);
  switch (err) {
    case SSL_ERROR_WANT_READ:
      return {Want::kRead, 0, {}};
    case SSL_ERROR_WANT_WRITE:
      return {Want::kWrite, 0, {}};
    case SSL_ERROR_ZERO_RETURN:
      return {Want::kDone, 0, net::error::eof};  // the peer's close_notify
    case SSL_ERROR_SYSCALL:
      if (st.bio.last_errno != 0)
        return {Want::kDone, 0, boost::system::error_code(st.bio.last_errno, boost::system::system_category())};
      return {Want::kDone, 0, net::ssl::error::stream_truncated};  // closed without close_notify
    default: {
      const unsigned long e = ERR_peek_last_error();
      ERR_clear_error();
      if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
        return {Want::kDone, 0, net::ssl::error::stream_truncated};
      if (e == 0) return {Want::kDone, 0, net::ssl::error::stream_truncated};
      return {Want::kDone, 0, boost::system::error_code(static_cast<int>(e), net::error::get_ssl_category())};
    }
  }
}

}  // namespace akt::server

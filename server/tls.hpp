// The server's TLS context (OpenSSL): TLS 1.2 minimum, ECDHE + AEAD ciphers only, no compression or
// renegotiation, record buffers released while idle. Internal to akt_server.
#pragma once

#include <memory>
#include <mutex>

#include "server/config.hpp"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace akt::server {

struct SslCtxFree {
  void operator()(ssl_ctx_st* ctx) const;
};
using SslCtxPtr = std::unique_ptr<ssl_ctx_st, SslCtxFree>;

// Loads the certificate chain and key. kInvalidArgument naming the file when either cannot be used.
Result<SslCtxPtr> make_server_tls_context(const TlsConfig& tls);

// The context new connections get. reload() reads the configured files again (certificate renewal,
// SIGHUP): new connections then use the new pair, open ones keep the context they started with (each
// SSL object holds a reference to its own). Thread-safe.
class ServerTls {
 public:
  static Result<std::unique_ptr<ServerTls>> load(const TlsConfig& tls);
  ~ServerTls();
  ServerTls(const ServerTls&) = delete;
  ServerTls& operator=(const ServerTls&) = delete;
  // A reference of the caller's own to the current context.
  SslCtxPtr current() const;
  // On failure (unreadable file, key not matching the certificate...) the current context stays and
  // the status says why.
  Status reload();
  // reload() of every ServerTls alive in this process (a server's, while it serves): what aktsyncd
  // does on SIGHUP. OK when there is none (plain HTTP); else the first failure.
  static Status reload_all();

 private:
  ServerTls(TlsConfig config, SslCtxPtr ctx);
  const TlsConfig config_;
  mutable std::mutex mu_;
  SslCtxPtr ctx_;
};

}  // namespace akt::server

#include "server/tls.hpp"

#include <vector>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace akt::server {

namespace {

// OpenSSL's reason for the last failure on this thread, for the message.
std::string openssl_reason() {
  const unsigned long e = ERR_peek_last_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

}  // namespace

void SslCtxFree::operator()(ssl_ctx_st* ctx) const { SSL_CTX_free(ctx); }

Result<SslCtxPtr> make_server_tls_context(const TlsConfig& tls) {
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return Status::io_error("tls: cannot create a context: " + openssl_reason());
  SSL_CTX* native = ctx.get();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_ALL | SSL_OP_NO_COMPRESSION | SSL_OP_SINGLE_DH_USE | SSL_OP_NO_RENEGOTIATION |
                                  SSL_OP_CIPHER_SERVER_PREFERENCE);
  // An idle connection keeps no record buffers (they are allocated again for the next record): memory per
  // idle connection, SECURITY.md §9.1. Partial writes: a write completes per record sent (TlsStream).
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                               SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // TLS 1.2: forward secrecy and AEAD only. TLS 1.3 suites are OpenSSL's defaults (all AEAD).
  SSL_CTX_set_cipher_list(native,
                          "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                          "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                          "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
  if (SSL_CTX_use_certificate_chain_file(native, tls.cert_file.c_str()) != 1)
    return Status::invalid_argument("tls: cannot use certificate " + tls.cert_file + ": " + openssl_reason());
  if (SSL_CTX_use_PrivateKey_file(native, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    const unsigned long e = ERR_peek_last_error();
    if (ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();
      return Status::invalid_argument("tls: the key " + tls.key_file + " does not match the certificate " +
                                      tls.cert_file);
    }
    return Status::invalid_argument("tls: cannot use key " + tls.key_file + ": " + openssl_reason());
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    return Status::invalid_argument("tls: the key " + tls.key_file + " does not match the certificate " +
                                    tls.cert_file);
  }
  return ctx;
}

namespace {

// The ServerTls objects alive (reload_all).
std::mutex g_live_mu;
std::vector<ServerTls*> g_live;

}  // namespace

ServerTls::ServerTls(TlsConfig config, SslCtxPtr ctx) : config_(std::move(config)), ctx_(std::move(ctx)) {
  std::lock_guard lock(g_live_mu);
  g_live.push_back(this);
}

ServerTls::~ServerTls() {
  std::lock_guard lock(g_live_mu);
  std::erase(g_live, this);
}

Status ServerTls::reload_all() {
  std::lock_guard lock(g_live_mu);  // held while reloading: no ServerTls goes away meanwhile
  Status first;
  for (ServerTls* t : g_live) {
    Status st = t->reload();
    if (first.ok() && !st.ok()) first = std::move(st);
  }
  return first;
}

Result<std::unique_ptr<ServerTls>> ServerTls::load(const TlsConfig& tls) {
  auto ctx = make_server_tls_context(tls);
  if (!ctx.ok()) return ctx.status();
  return std::unique_ptr<ServerTls>(new ServerTls(tls, std::move(*ctx)));
}

SslCtxPtr ServerTls::current() const {
  std::lock_guard lock(mu_);
  SSL_CTX_up_ref(ctx_.get());
  return SslCtxPtr(ctx_.get());
}

Status ServerTls::reload() {
  auto ctx = make_server_tls_context(config_);  // outside the lock: reading files may be slow
  if (!ctx.ok()) return ctx.status();
  std::lock_guard lock(mu_);
  ctx_ = std::move(*ctx);  // connections made with the old context hold references of their own
  return Status();
}

}  // namespace akt::server

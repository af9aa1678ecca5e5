#include "server/tls.hpp"

#include <openssl/ssl.h>

namespace akt::server {

namespace ssl = boost::asio::ssl;

Result<std::unique_ptr<ssl::context>> make_server_tls_context(const TlsConfig& tls) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::no_compression |
                       ssl::context::single_dh_use,
                   ec);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // An idle connection keeps no record buffers (they are allocated again for the next record): memory per
  // idle connection, SECURITY.md §9.1.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  // TLS 1.2: forward secrecy and AEAD only. TLS 1.3 suites are OpenSSL's defaults (all AEAD).
  SSL_CTX_set_cipher_list(native,
                          "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                          "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                          "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
  ctx->use_certificate_chain_file(tls.cert_file, ec);
  if (ec) return Status::invalid_argument("tls: cannot use certificate " + tls.cert_file + ": " + ec.message());
  ctx->use_private_key_file(tls.key_file, ssl::context::pem, ec);
  if (ec) return Status::invalid_argument("tls: cannot use key " + tls.key_file + ": " + ec.message());
  if (SSL_CTX_check_private_key(native) != 1)
    return Status::invalid_argument("tls: the key does not match the certificate");
  return ctx;
}

}  // namespace akt::server

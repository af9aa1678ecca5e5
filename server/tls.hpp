// The server's TLS context (OpenSSL through Asio): TLS 1.2 minimum, ECDHE + AEAD ciphers only, no
// compression or renegotiation. Internal to akt_server.
#pragma once

#include <memory>

#include <boost/asio/ssl/context.hpp>

#include "server/config.hpp"

namespace akt::server {

// Loads the certificate chain and key. kInvalidArgument naming the file when either cannot be used.
Result<std::unique_ptr<boost::asio::ssl::context>> make_server_tls_context(const TlsConfig& tls);

}  // namespace akt::server

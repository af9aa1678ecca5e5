#include "clients/http_client.hpp"

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "sync/gzip.hpp"

namespace akt::client {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

std::string HttpResult::header(const std::string& name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return {};
}

struct HttpClient::Impl {
  std::string host;
  std::uint16_t port;
  HttpOptions options;
  net::io_context ioc;
  std::optional<ssl::context> tls_ctx;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;

  bool connected() const { return plain.has_value() || secure.has_value(); }
  void reset() {
    plain.reset();
    secure.reset();
  }

  Status make_tls_context() {
    tls_ctx.emplace(ssl::context::tls_client);
    SSL_CTX* native = tls_ctx->native_handle();
    SSL_CTX_set_min_proto_version(native, options.max_tls_version ? TLS1_VERSION : TLS1_2_VERSION);
    if (options.max_tls_version) {
      SSL_CTX_set_max_proto_version(native, options.max_tls_version);
      SSL_CTX_set_security_level(native, 0);  // let the test offer what the server must refuse
    }
    boost::system::error_code ec;
    if (!options.verify_peer) {
      tls_ctx->set_verify_mode(ssl::verify_none);
      return {};
    }
    tls_ctx->set_verify_mode(ssl::verify_peer);
    if (options.ca_file.empty()) tls_ctx->set_default_verify_paths(ec);
    else tls_ctx->load_verify_file(options.ca_file, ec);
    if (ec) return Status::invalid_argument("cannot load CA file " + options.ca_file + ": " + ec.message());
    return {};
  }

  Status connect() {
    reset();
    boost::system::error_code ec;
    tcp::resolver resolver(ioc);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec) return Status::io_error("resolve " + host + ": " + ec.message());
    beast::tcp_stream tcp_stream(ioc);
    tcp_stream.expires_after(options.timeout);
    tcp_stream.connect(results, ec);
    if (ec) return Status::io_error("connect " + host + ":" + std::to_string(port) + ": " + ec.message());
    tcp_stream.socket().set_option(tcp::no_delay(true), ec);
    buffer.clear();
    if (!options.tls) {
      plain.emplace(std::move(tcp_stream));
      return {};
    }
    if (!tls_ctx) {
      if (Status st = make_tls_context(); !st.ok()) return st;
    }
    secure.emplace(std::move(tcp_stream), *tls_ctx);
    // SNI carries names, never IP addresses (RFC 6066).
    boost::system::error_code not_ip;
    net::ip::make_address(host, not_ip);
    if (not_ip)
      SSL_ctrl(secure->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(host.c_str()));
    if (options.verify_peer) secure->set_verify_callback(ssl::host_name_verification(host));
    beast::get_lowest_layer(*secure).expires_after(options.timeout);
    secure->handshake(ssl::stream_base::client, ec);
    if (ec) {
      secure.reset();
      return Status::io_error("TLS handshake with " + host + ":" + std::to_string(port) + ": " + ec.message());
    }
    return {};
  }

  template <class Stream>
  Result<HttpResult> exchange(Stream& stream, const std::string& method, const std::string& target,
                              const std::string& body,
                              const std::vector<std::pair<std::string, std::string>>& headers) {
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, host);
    req.set(http::field::user_agent, "aktsync-client/0.1");
    if (options.accept_gzip) req.set(http::field::accept_encoding, "gzip");
    for (const auto& [k, v] : headers) req.set(k, v);
    if (!body.empty() && options.gzip_requests) {
      req.body() = sync::gzip(body, 5);
      req.set(http::field::content_encoding, "gzip");
    } else {
      req.body() = body;
    }
    req.keep_alive(true);
    req.prepare_payload();
    boost::system::error_code ec;
    beast::get_lowest_layer(stream).expires_after(options.timeout);
    http::write(stream, req, ec);
    if (ec) return Status::io_error("send: " + ec.message());
    http::response_parser<http::string_body> parser;
    parser.body_limit(1ull << 31);
    if (method == "HEAD") parser.skip(true);  // an answer to HEAD has no body, whatever its length says
    http::read(stream, buffer, parser, ec);
    if (ec) return Status::io_error("receive: " + ec.message());
    auto& res = parser.get();
    HttpResult out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    out.body = std::move(res.body());
    if (out.header("content-encoding") == "gzip") {
      auto plain_body = sync::gunzip(out.body, 1ull << 31);
      if (!plain_body.ok()) return Status::io_error("bad gzip answer: " + plain_body.status().message());
      out.body = std::move(*plain_body);
    }
    if (!res.keep_alive()) reset();
    return out;
  }

  Result<HttpResult> once(const std::string& method, const std::string& target, const std::string& body,
                          const std::vector<std::pair<std::string, std::string>>& headers) {
    if (secure) return exchange(*secure, method, target, body, headers);
    return exchange(*plain, method, target, body, headers);
  }
};

HttpClient::HttpClient(std::string host, std::uint16_t port, HttpOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->options = options;
}

HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

Result<HttpResult> HttpClient::request(const std::string& method, const std::string& target, const std::string& body,
                                       const std::vector<std::pair<std::string, std::string>>& headers) {
  const bool reused = impl_->connected();
  if (!reused) {
    if (Status st = impl_->connect(); !st.ok()) return st;
  }
  auto r = impl_->once(method, target, body, headers);
  if (!r.ok()) {
    impl_->reset();
    // The server may have closed an idle kept-alive connection: try once more on a new one.
    if (reused) {
      if (Status st = impl_->connect(); !st.ok()) return st;
      r = impl_->once(method, target, body, headers);
      if (!r.ok()) impl_->reset();
    }
  }
  return r;
}

void HttpClient::close() { impl_->reset(); }

}  // namespace akt::client

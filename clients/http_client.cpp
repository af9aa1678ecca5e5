#include "clients/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "sync/gzip.hpp"

namespace akt::client {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
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
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  Status connect() {
    stream.emplace(ioc);
    beast::error_code ec;
    tcp::resolver resolver(ioc);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec) return Status::io_error("resolve " + host + ": " + ec.message());
    stream->expires_after(options.timeout);
    stream->connect(results, ec);
    if (ec) {
      stream.reset();
      return Status::io_error("connect " + host + ":" + std::to_string(port) + ": " + ec.message());
    }
    stream->socket().set_option(tcp::no_delay(true), ec);
    buffer.clear();
    return {};
  }

  Result<HttpResult> once(const std::string& method, const std::string& target, const std::string& body,
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
    beast::error_code ec;
    stream->expires_after(options.timeout);
    http::write(*stream, req, ec);
    if (ec) return Status::io_error("send: " + ec.message());
    http::response_parser<http::string_body> parser;
    parser.body_limit(1ull << 31);
    http::read(*stream, buffer, parser, ec);
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
      auto plain = sync::gunzip(out.body, 1ull << 31);
      if (!plain.ok()) return Status::io_error("bad gzip answer: " + plain.status().message());
      out.body = std::move(*plain);
    }
    if (!res.keep_alive()) stream.reset();
    return out;
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
  const bool reused = impl_->stream.has_value();
  if (!impl_->stream) {
    if (Status st = impl_->connect(); !st.ok()) return st;
  }
  auto r = impl_->once(method, target, body, headers);
  if (!r.ok()) {
    impl_->stream.reset();
    // The server may have closed an idle kept-alive connection: try once more on a new one.
    if (reused) {
      if (Status st = impl_->connect(); !st.ok()) return st;
      r = impl_->once(method, target, body, headers);
      if (!r.ok()) impl_->stream.reset();
    }
  }
  return r;
}

void HttpClient::close() { impl_->stream.reset(); }

}  // namespace akt::client

#include "server/http_parse.hpp"

#include <cctype>

#include "server/problem.hpp"

namespace akt::server {

namespace http = boost::beast::http;

HttpRequest to_http_request(http::request<http::string_body>& msg, const std::string& remote) {
  HttpRequest req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  req.headers.reserve(8);
  for (const auto& f : msg) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    req.headers.emplace_back(std::move(name), std::string(f.value()));
  }
  req.body = std::move(msg.body());
  req.remote = remote;
  return req;
}

namespace {

HttpResponse with_vary(HttpResponse r) {
  r.headers.emplace_back("Vary", "Accept-Encoding");  // as every routed answer (router.cpp)
  return r;
}

}  // namespace

std::optional<HttpResponse> answer_for_parse_error(const boost::beast::error_code& ec, const Limits& limits) {
  if (ec == http::error::body_limit)
    return with_vary(problem(413, "body_too_large",
                             "request body larger than " + std::to_string(limits.max_body_bytes) + " bytes"));
  if (ec == http::error::header_limit) return with_vary(problem(431, "headers_too_large", "request headers too large"));
  if (ec == http::error::end_of_stream) return std::nullopt;  // the peer closed between requests
  if (ec.category() == http::make_error_code(http::error::bad_method).category())
    return with_vary(problem(400, "invalid_http", "malformed HTTP request: " + ec.message()));
  return std::nullopt;
}

}  // namespace akt::server

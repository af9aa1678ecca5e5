// Routing, authentication, content encodings. Handlers live in server/handlers/.
#include "server/router.hpp"

#include <chrono>

#include "sync/gzip.hpp"
#include "server/handlers/handlers.hpp"
#include "server/log.hpp"
#include "server/problem.hpp"

namespace akt::server {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

Query parse_query(std::string_view q) {
  Query out;
  while (!q.empty()) {
    std::size_t amp = q.find('&');
    std::string_view item = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (item.empty()) continue;
    std::size_t eq = item.find('=');
    out.emplace(percent_decode(item.substr(0, eq)),
                eq == std::string_view::npos ? std::string() : percent_decode(item.substr(eq + 1)));
  }
  return out;
}

HttpResponse method_not_allowed(const char* allow) {
  HttpResponse r = problem(405, "method_not_allowed", std::string("this resource allows ") + allow);
  r.headers.emplace_back("Allow", allow);
  return r;
}

// Decodes the body per Content-Encoding. Returns a problem response on failure.
std::optional<HttpResponse> decode_body(const HttpRequest& req, AppState& app, std::string& body) {
  std::string_view enc = req.header("content-encoding");
  if (enc.empty() || enc == "identity") {
    body = req.body;
    return std::nullopt;
  }
  if (enc != "gzip")
    return problem(415, "unsupported_encoding", "Content-Encoding must be gzip or identity, got '" +
                                                    std::string(enc.substr(0, 40)) + "'");
  auto r = sync::gunzip(req.body, app.config.limits.max_decoded_body_bytes);
  if (!r.ok()) {
    if (r.status().code() == Status::Code::kTooLarge) return problem(413, "body_too_large", r.status().message());
    return problem(400, "invalid_encoding", r.status().message());
  }
  body = std::move(*r);
  return std::nullopt;
}

HttpResponse dispatch(const HttpRequest& req, AppState& app) {
  std::string_view target = req.target;
  std::size_t qpos = target.find('?');
  std::string_view path = target.substr(0, qpos);
  Query query = parse_query(qpos == std::string_view::npos ? std::string_view() : target.substr(qpos + 1));

  if (path == "/healthz") {
    if (req.method != "GET") return method_not_allowed("GET");
    return handle_health(app);
  }
  const bool known = path == "/v1/push" || path == "/v1/changes" || path.rfind("/v1/records/", 0) == 0;
  if (!known) return problem(404, "not_found", "no such resource: " + std::string(path.substr(0, 200)));

  // Every resource but /healthz needs a device token.
  auto who = app.auth.authenticate(req.header("authorization"));
  if (!who) {
    HttpResponse r = problem(401, "unauthenticated", "a valid device token is required (Authorization: Bearer ...)");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"aktsync\"");
    return r;
  }
  if (path == "/v1/push") {
    if (req.method != "POST") return method_not_allowed("POST");
    std::string_view ct = req.header("content-type");
    if (ct.substr(0, 16) != "application/json")
      return problem(415, "unsupported_media_type", "Content-Type must be application/json");
    HttpRequest decoded = req;
    if (auto err = decode_body(req, app, decoded.body)) return std::move(*err);
    return handle_push(decoded, *who, app);
  }
  if (path == "/v1/changes") {
    if (req.method != "GET") return method_not_allowed("GET");
    return handle_changes(query, req.allow_wait, *who, app);
  }
  if (req.method != "GET") return method_not_allowed("GET");
  return handle_record(std::string(path.substr(std::string_view("/v1/records/").size())), *who, app);
}

}  // namespace

HttpResponse route(const HttpRequest& req, AppState& app) {
  const auto start = std::chrono::steady_clock::now();
  HttpResponse resp = dispatch(req, app);
  // Compress larger answers for clients that accept it (slow, metered field links).
  if (!resp.long_poll && resp.body.size() > 1024 && sync::accepts_gzip(req.header("accept-encoding"))) {
    resp.body = sync::gzip(resp.body, 5);
    resp.headers.emplace_back("Content-Encoding", "gzip");
  }
  resp.headers.emplace_back("Vary", "Accept-Encoding");
  if (log_enabled(LogLevel::kDebug) || resp.status >= 500) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
    log(resp.status >= 500 ? LogLevel::kError : LogLevel::kDebug,
        req.method + " " + req.target.substr(0, 200) + " -> " + std::to_string(resp.status) + " " +
            std::to_string(us) + "us from " + req.remote);
  }
  return resp;
}

}  // namespace akt::server

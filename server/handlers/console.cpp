// The web console (docs/PROTOCOL.md §13.1): static files embedded at build time, served without
// authentication (they hold no data; every datum comes from the API with the bearer token). Strict
// security headers on every answer: the console runs only its own scripts and cannot be framed.
#include "server/handlers/handlers.hpp"

#include "server/problem.hpp"
#include "server/web_assets.hpp"

namespace akt::server {

namespace {

constexpr const char* kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

void security_headers(HttpResponse& r) {
  r.headers.emplace_back("Content-Security-Policy", kCsp);
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
}

// Whether an If-None-Match list names `etag` (weak comparison, RFC 9110 §13.1.2).
bool etag_matches(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    std::size_t comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item == "*") return true;
    if (item.substr(0, 2) == "W/") item.remove_prefix(2);
    if (item == etag) return true;
  }
  return false;
}

HttpResponse redirect(const char* to) {
  HttpResponse r;
  r.status = 302;
  r.content_type = "text/plain; charset=utf-8";
  r.headers.emplace_back("Location", to);
  r.headers.emplace_back("Cache-Control", "no-cache");
  security_headers(r);
  r.body = std::string("see ") + to + "\n";
  return r;
}

}  // namespace

std::optional<HttpResponse> handle_console(const HttpRequest& req, std::string_view path) {
  const bool root = path == "/" || path == "/console";
  if (!root && path.substr(0, 9) != "/console/") return std::nullopt;
  if (req.method != "GET") {
    HttpResponse r = problem(405, "method_not_allowed", "this resource allows GET");
    r.headers.emplace_back("Allow", "GET");
    return r;
  }
  if (root) return redirect("/console/");
  std::string_view name = path.substr(9);
  if (name.empty()) name = "index.html";
  for (const WebAsset& a : web_assets()) {
    if (a.name != name) continue;
    HttpResponse r;
    // Weak: the same file may travel gzip-compressed or not (route() compresses larger answers).
    const std::string etag = "W/" + std::string(a.etag);
    r.headers.emplace_back("ETag", etag);
    // Revalidate every time: file names carry no version, and a console must never run stale code
    // against a newer server. A revalidation costs one 304 per file on the LAN.
    r.headers.emplace_back("Cache-Control", "no-cache");
    security_headers(r);
    if (etag_matches(req.header("if-none-match"), a.etag)) {
      r.status = 304;
      r.content_type = std::string(a.content_type);
      return r;
    }
    r.content_type = std::string(a.content_type);
    r.body = std::string(a.body);
    return r;
  }
  HttpResponse r = problem(404, "not_found", "no such console file: " + std::string(name.substr(0, 100)));
  security_headers(r);
  return r;
}

}  // namespace akt::server

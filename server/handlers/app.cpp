// The enumerators' tablet app (docs/PROTOCOL.md §13.5): static files from clients/web/ (and the rule
// engine compiled to WebAssembly, when the build had emscripten), embedded at build time and served
// without authentication like the console's. The CSP is the console's plus what an installable offline
// app needs: its manifest, its service worker, and compiling its own WebAssembly ('wasm-unsafe-eval'
// allows WebAssembly compilation only, never eval of JavaScript).
#include "server/handlers/handlers.hpp"

#include "server/problem.hpp"
#include "server/web_assets.hpp"

namespace akt::server {

namespace {

constexpr const char* kAppCsp =
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; manifest-src 'self'; worker-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'";

void app_headers(HttpResponse& r) {
  r.headers.emplace_back("Content-Security-Policy", kAppCsp);
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
}

// Whether an If-None-Match list names `etag` (weak comparison, RFC 9110 §13.1.2).
bool names_etag(std::string_view header, std::string_view etag) {
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

}  // namespace

std::optional<HttpResponse> handle_app(const HttpRequest& req, std::string_view path) {
  if (path != "/app" && path.substr(0, 5) != "/app/") return std::nullopt;
  if (req.method != "GET") {
    HttpResponse r = problem(405, "method_not_allowed", "this resource allows GET");
    r.headers.emplace_back("Allow", "GET");
    app_headers(r);
    return r;
  }
  if (path == "/app") {
    HttpResponse r;
    r.status = 302;
    r.content_type = "text/plain; charset=utf-8";
    r.headers.emplace_back("Location", "/app/");
    r.headers.emplace_back("Cache-Control", "no-cache");
    app_headers(r);
    r.body = "see /app/\n";
    return r;
  }
  std::string_view name = path.substr(5);
  if (name.empty()) name = "index.html";
  for (const WebAsset& a : app_assets()) {
    if (a.name != name) continue;
    HttpResponse r;
    const std::string etag = "W/" + std::string(a.etag);
    r.headers.emplace_back("ETag", etag);
    // Revalidate every time: the service worker holds the offline copy; the network copy must be current.
    r.headers.emplace_back("Cache-Control", "no-cache");
    app_headers(r);
    r.content_type = std::string(a.content_type);
    if (names_etag(req.header("if-none-match"), a.etag)) {
      r.status = 304;
      return r;
    }
    r.body = std::string(a.body);
    return r;
  }
  HttpResponse r = problem(404, "not_found", "no such app file: " + std::string(name.substr(0, 100)));
  app_headers(r);
  return r;
}

}  // namespace akt::server

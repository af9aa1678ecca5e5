// Serving the embedded static files (server/handlers/static_files.hpp).
#include "server/handlers/static_files.hpp"

#include <string>

#include "server/problem.hpp"

namespace akt::server {

namespace {

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

void static_site_headers(HttpResponse& r, const StaticSite& site) {
  r.headers.emplace_back("Content-Security-Policy", site.csp);
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
}

HttpResponse static_redirect(const char* to, const StaticSite& site) {
  HttpResponse r;
  r.status = 302;
  r.content_type = "text/plain; charset=utf-8";
  r.headers.emplace_back("Location", to);
  r.headers.emplace_back("Cache-Control", "no-cache");
  static_site_headers(r, site);
  r.body = std::string("see ") + to + "\n";
  return r;
}

HttpResponse serve_static(const HttpRequest& req, std::string_view name, const StaticSite& site) {
  if (req.method != "GET") {
    HttpResponse r = problem(405, "method_not_allowed", "this resource allows GET");
    r.headers.emplace_back("Allow", "GET");
    static_site_headers(r, site);
    return r;
  }
  if (name.empty()) name = "index.html";
  for (const WebAsset& a : site.assets) {
    if (a.name != name) continue;
    HttpResponse r;
    // Weak: the same file may travel gzip-compressed or not (route() compresses larger answers).
    r.headers.emplace_back("ETag", "W/" + std::string(a.etag));
    r.headers.emplace_back("Cache-Control", "no-cache");
    static_site_headers(r, site);
    r.content_type = std::string(a.content_type);
    if (names_etag(req.header("if-none-match"), a.etag)) {
      r.status = 304;
      return r;
    }
    r.body = std::string(a.body);
    return r;
  }
  HttpResponse r =
      problem(404, "not_found", std::string("no such ") + site.what + " file: " + std::string(name.substr(0, 100)));
  static_site_headers(r, site);
  return r;
}

}  // namespace akt::server

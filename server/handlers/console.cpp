// The web console (docs/PROTOCOL.md §13.1): static files embedded at build time, served without
// authentication (they hold no data; every datum comes from the API with the bearer token). Strict
// security headers on every answer: the console runs only its own scripts and cannot be framed.
#include "server/handlers/handlers.hpp"
#include "server/handlers/static_files.hpp"

namespace akt::server {

namespace {

constexpr const char* kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

}  // namespace

std::optional<HttpResponse> handle_console(const HttpRequest& req, std::string_view path) {
  const bool root = path == "/" || path == "/console";
  if (!root && path.substr(0, 9) != "/console/") return std::nullopt;
  const StaticSite site{web_assets(), kCsp, "console"};
  if (root && req.method == "GET") return static_redirect("/console/", site);
  return serve_static(req, root ? std::string_view("index.html") : path.substr(9), site);
}

}  // namespace akt::server

// The enumerators' tablet app (docs/PROTOCOL.md §13.5): static files from clients/web/ (and the rule
// engine compiled to WebAssembly, when the build had emscripten), embedded at build time and served
// without authentication like the console's. The CSP is the console's plus what an installable offline
// app needs: its manifest, its service worker, and compiling its own WebAssembly ('wasm-unsafe-eval'
// allows WebAssembly compilation only, never eval of JavaScript).
#include "server/handlers/handlers.hpp"
#include "server/handlers/static_files.hpp"

namespace akt::server {

namespace {

constexpr const char* kAppCsp =
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; manifest-src 'self'; worker-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'";

}  // namespace

std::optional<HttpResponse> handle_app(const HttpRequest& req, std::string_view path) {
  if (path != "/app" && path.substr(0, 5) != "/app/") return std::nullopt;
  const StaticSite site{app_assets(), kAppCsp, "app"};
  if (path == "/app" && req.method == "GET") return static_redirect("/app/", site);
  return serve_static(req, path == "/app" ? std::string_view("index.html") : path.substr(5), site);
}

}  // namespace akt::server

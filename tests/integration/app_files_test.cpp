// The tablet app's static files over loopback (docs/PROTOCOL.md §13.5): /app redirects, every file with its
// type, ETag, no-cache and the app's CSP (the console's plus the manifest, the service worker and
// WebAssembly compilation), the service worker stamped with the build's hash, 404/405 as the console.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "server/web_assets.hpp"
#include "tests/support/test_server.hpp"

using namespace akt;
using nlohmann::json;

namespace {

client::HttpResult get(client::HttpClient& c, const std::string& target,
                       std::vector<std::pair<std::string, std::string>> headers = {}) {
  auto r = c.request("GET", target, {}, headers);
  REQUIRE(r.ok());
  return std::move(*r);
}

void check_app_headers(const client::HttpResult& r) {
  const std::string csp = r.header("content-security-policy");
  CHECK(csp.find("default-src 'none'") != std::string::npos);
  CHECK(csp.find("script-src 'self' 'wasm-unsafe-eval';") != std::string::npos);
  CHECK(csp.find("manifest-src 'self'") != std::string::npos);
  CHECK(csp.find("worker-src 'self'") != std::string::npos);
  CHECK(csp.find("connect-src 'self'") != std::string::npos);
  CHECK(csp.find("frame-ancestors 'none'") != std::string::npos);
  CHECK(csp.find("unsafe-inline") == std::string::npos);
  CHECK(csp.find("'unsafe-eval'") == std::string::npos);
  CHECK(r.header("x-frame-options") == "DENY");
  CHECK(r.header("x-content-type-options") == "nosniff");
}

}  // namespace

TEST_CASE("app: /app redirects, files come with their type, ETag, no-cache and the app's CSP") {
  test::TestServer srv;
  auto c = srv.client();
  auto redirect = get(c, "/app");
  CHECK(redirect.status == 302);
  CHECK(redirect.header("location") == "/app/");
  check_app_headers(redirect);

  auto index = get(c, "/app/");
  REQUIRE(index.status == 200);
  CHECK(index.header("content-type") == "text/html; charset=utf-8");
  CHECK(index.header("cache-control") == "no-cache");
  check_app_headers(index);
  CHECK(index.body.find("<link rel=\"manifest\" href=\"manifest.webmanifest\">") != std::string::npos);
  for (std::size_t p = index.body.find("<script"); p != std::string::npos; p = index.body.find("<script", p + 1))
    CHECK(index.body.substr(p, 40).find(" src=") != std::string::npos);  // no inline script
  CHECK(get(c, "/app/index.html").body == index.body);

  for (const char* js : {"/app/app.js", "/app/store.js", "/app/photos.js", "/app/sync.js", "/app/engine.js", "/app/i18n.js", "/app/sw.js"})
    CHECK_MESSAGE(get(c, js).header("content-type") == "text/javascript; charset=utf-8", js);
  CHECK(get(c, "/app/app.css").header("content-type") == "text/css; charset=utf-8");
  CHECK(get(c, "/app/icon.svg").header("content-type") == "image/svg+xml");
  auto manifest = get(c, "/app/manifest.webmanifest");
  CHECK(manifest.header("content-type") == "application/manifest+json");
  const json m = json::parse(manifest.body);
  CHECK(m["start_url"] == "/app/");
  CHECK(m["scope"] == "/app/");

  // The service worker carries the hash of every other file (its cache name), never the placeholder.
  auto sw = get(c, "/app/sw.js");
  CHECK(sw.body.find("@AKT_APP_BUILD@") == std::string::npos);
  CHECK(std::regex_search(sw.body, std::regex("const BUILD = '[0-9a-f]{16}';")));

  // The rule engine is there exactly when the build had emscripten.
  bool has_engine = false;
  for (const auto& a : server::app_assets()) has_engine = has_engine || a.name == "forms.wasm";
  auto wasm = get(c, "/app/forms.wasm");
  if (has_engine) {
    CHECK(wasm.status == 200);
    CHECK(wasm.header("content-type") == "application/wasm");
    CHECK(wasm.body.substr(0, 4) == std::string("\0asm", 4));
    CHECK(get(c, "/app/forms.js").status == 200);
  } else {
    CHECK(wasm.status == 404);
  }

  const std::string etag = get(c, "/app/app.js").header("etag");
  REQUIRE(etag.substr(0, 3) == "W/\"");
  auto again = get(c, "/app/app.js", {{"If-None-Match", etag}});
  CHECK(again.status == 304);
  CHECK(again.body.empty());

  for (const char* bad : {"/app/nope.js", "/app/../server/main.cpp", "/app/wasm/forms_wasm.cpp", "/appx", "/app/%2e%2e/x"}) {
    auto r = get(c, bad);
    CHECK_MESSAGE(r.status == 404, bad);
    CHECK(json::parse(r.body)["code"] == "not_found");
  }
  check_app_headers(get(c, "/app/nope.js"));
  auto post = c.request("POST", "/app/", "{}", {{"Content-Type", "application/json"}});
  CHECK(post->status == 405);
  CHECK(post->header("allow") == "GET");
  CHECK(get(c, "/v1/me").status == 401);
}

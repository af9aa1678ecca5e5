// Static files embedded in aktsyncd (the console, PROTOCOL §13.1, and the tablet app, §13.5): one way to
// serve them, each site with its own Content-Security-Policy.
#pragma once

#include <span>
#include <string_view>

#include "server/http_types.hpp"
#include "server/web_assets.hpp"

namespace akt::server {

struct StaticSite {
  std::span<const WebAsset> assets;
  const char* csp;   // the site's Content-Security-Policy
  const char* what;  // "console" or "app": names the site in a 404's detail
};

// The security headers every answer of a static site carries (also 3xx, 4xx).
void static_site_headers(HttpResponse& r, const StaticSite& site);

// A GET of `name` (a path below the site's prefix; empty means index.html): 200 with a weak ETag and
// `Cache-Control: no-cache` (revalidate every time: names carry no version, and stale code must never
// run against a newer server), 304 when If-None-Match names the ETag, 404 otherwise. Other methods: 405.
HttpResponse serve_static(const HttpRequest& req, std::string_view name, const StaticSite& site);

// 302 to `to`, with the site's headers.
HttpResponse static_redirect(const char* to, const StaticSite& site);

}  // namespace akt::server

// The web console's static files (server/web/), embedded at build time by server/embed_web.cmake.
#pragma once

#include <span>
#include <string_view>

namespace akt::server {

struct WebAsset {
  std::string_view name;          // file name under server/web/, e.g. "app.js"
  std::string_view content_type;
  std::string_view etag;          // quoted: the first 128 bits of the content's SHA-256 in hex
  std::string_view body;
};

// Every embedded file, sorted by name.
std::span<const WebAsset> web_assets();

// The tablet app's files (clients/web/, PROTOCOL §13.5), and its rule engine (forms.js, forms.wasm) when
// the build had emscripten; sorted by name.
std::span<const WebAsset> app_assets();

}  // namespace akt::server

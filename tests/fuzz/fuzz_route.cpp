// Fuzzes the whole request path below the socket: router, auth, gunzip, the handlers and the store,
// through server::route() on an AppState made once (real SQLite store in a temporary folder).
//
// Input format (NUL-separated):   METHOD \0 TARGET \0 name:value \0 name:value ... \0 \0 BODY
// Header names are lowercased and values trimmed as the Beast session does; the body is every byte
// after the first empty header slot (it may contain NULs, e.g. gzip). "@E" in the target becomes the
// server's epoch so cursors can be valid. The device token is in fuzz_route.dict and the seeds.
//
// Checks: never crashes; status in 100..499 (a 5xx means the server failed on input it should have
// refused or served); every non-2xx answer is application/problem+json with a non-empty string `code`
// and a matching `status`; every 401 carries WWW-Authenticate, 405 carries Allow; every 2xx answer other
// than a long-poll is JSON; every answer carries Vary. AKT_FUZZ_TRACE=1 prints each request and answer.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "server/router.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using akt::fuzz::g_app;
using akt::server::HttpRequest;
using akt::server::HttpResponse;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

HttpRequest make_request(std::string_view in) {
  HttpRequest req;
  req.remote = "fuzz";
  auto next = [&in]() -> std::string_view {
    std::size_t nul = in.find('\0');
    std::string_view part = in.substr(0, nul);
    in = nul == std::string_view::npos ? std::string_view() : in.substr(nul + 1);
    return part;
  };
  req.method = std::string(next());
  std::string target(next());
  for (std::size_t at; (at = target.find("@E")) != std::string::npos;)
    target.replace(at, 2, g_app->store->epoch());
  req.target = std::move(target);
  for (int i = 0; i < 16 && !in.empty(); ++i) {
    std::string_view line = next();
    if (line.empty()) break;  // "\0\0": the body follows
    std::size_t colon = line.find(':');
    req.headers.emplace_back(lower(trim(line.substr(0, colon))),
                             colon == std::string_view::npos ? std::string() : std::string(trim(line.substr(colon + 1))));
  }
  req.body = std::string(in);
  // A request re-routed after its long-poll wait ended; decided by the input so both paths are reached.
  req.allow_wait = req.header("x-fuzz-rerouted").empty();
  return req;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  akt::fuzz::init_app("fuzz_route");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const HttpRequest req = make_request(std::string_view(reinterpret_cast<const char*>(data), size));
  HttpResponse resp = akt::server::route(req, *g_app);
  akt::fuzz::check_answer(req, resp);
  return 0;
}

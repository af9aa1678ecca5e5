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
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include <nlohmann/json.hpp>

#include "server/app_state.hpp"
#include "server/auth.hpp"
#include "server/http_types.hpp"
#include "server/log.hpp"
#include "server/router.hpp"
#include "sync/gzip.hpp"

namespace {

using akt::server::HttpRequest;
using akt::server::HttpResponse;

// Device of the seeds and the dictionary (the actor is the PROTOCOL.md §7 tablet T1).
constexpr const char* kActor = "0190f5c2-7a1e-4cc0-9a4b-2f1e3d4c5b6a";
constexpr const char* kToken = "fuzz-token-0123456789abcdef";

std::shared_ptr<akt::server::AppState> g_app;
std::string g_data_dir;

void remove_data_dir() {
  g_app.reset();
  if (!g_data_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(g_data_dir, ec);
  }
}

std::string make_temp_dir() {
  std::string base = "/tmp";
  if (const char* t = std::getenv("TMPDIR"); t && *t) base = t;
  std::error_code ec;
  // tmpfs makes the store's fsyncs cheap; fall back to TMPDIR.
  if (std::filesystem::is_directory("/dev/shm", ec) && !std::getenv("AKT_FUZZ_NO_SHM")) base = "/dev/shm";
  std::string pattern = base + "/aktsync-fuzz-route-XXXXXX";
  if (!mkdtemp(pattern.data())) {
    pattern = "/tmp/aktsync-fuzz-route-XXXXXX";
    if (!mkdtemp(pattern.data())) {
      std::perror("mkdtemp");
      std::abort();
    }
  }
  return pattern;
}

[[noreturn]] void fail(const char* what, const HttpRequest& req, const HttpResponse& resp, const std::string& body) {
  std::fprintf(stderr, "fuzz_route: %s\n  %s %s -> %d %s\n  body: %s\n", what, req.method.c_str(),
               req.target.substr(0, 300).c_str(), resp.status, resp.content_type.c_str(),
               body.substr(0, 2000).c_str());
  std::abort();
}

bool has_header(const HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return true;
  return false;
}

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

// Knobs that only some versions of Config have (the accounts work adds rate limits and scrypt cost):
// turned down when present so the fuzzer is not answered 429 after a few hundred requests.
template <class C>
void tune_for_fuzzing(C& c) {
  if constexpr (requires { c.limits.requests_per_minute; }) c.limits.requests_per_minute = 0;
  if constexpr (requires { c.accounts.password_kdf_n; }) c.accounts.password_kdf_n = 1024;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  akt::server::set_log_level("error");
  g_data_dir = make_temp_dir();
  std::atexit(remove_data_dir);
  akt::server::Config c;
  c.listen_port = 0;
  c.data_dir = g_data_dir;
  c.log_level = "error";
  c.devices = {{kActor, "fuzz-tablet", akt::server::sha256_hex(kToken)}};
  tune_for_fuzzing(c);
  if (auto st = akt::server::check_config(c); !st.ok()) {
    std::fprintf(stderr, "fuzz_route: bad config: %s\n", st.message().c_str());
    std::abort();
  }
  auto app = akt::server::make_app_state(c);
  if (!app.ok()) {
    std::fprintf(stderr, "fuzz_route: make_app_state: %s\n", app.status().message().c_str());
    std::abort();
  }
  g_app = std::move(*app);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const HttpRequest req = make_request(std::string_view(reinterpret_cast<const char*>(data), size));
  const HttpResponse resp = akt::server::route(req, *g_app);

  static const bool trace = std::getenv("AKT_FUZZ_TRACE") != nullptr;
  std::string body = resp.body;
  for (const auto& [k, v] : resp.headers) {
    if (k == "Content-Encoding" && v == "gzip") {
      auto plain = akt::sync::gunzip(resp.body, 64 << 20);
      if (!plain.ok()) fail("answer says gzip but does not gunzip", req, resp, resp.body);
      body = std::move(*plain);
    }
  }
  if (trace)
    std::fprintf(stderr, "%s %s -> %d %s\n", req.method.c_str(), req.target.substr(0, 120).c_str(), resp.status,
                 body.substr(0, 2000).c_str());
  if (!has_header(resp, "Vary")) fail("answer without Vary", req, resp, body);
  if (resp.status < 100 || resp.status > 599) fail("status out of range", req, resp, body);
  if (resp.status >= 500) fail("5xx answer to a request", req, resp, body);

  if (resp.status >= 200 && resp.status < 300) {
    if (resp.long_poll) return 0;
    if (resp.content_type == "application/json" && nlohmann::json::parse(body, nullptr, false).is_discarded())
      fail("2xx answer is not JSON", req, resp, body);
    return 0;
  }
  // The web console's redirect (/ -> /console/) and revalidations (304) are not errors (PROTOCOL §13.1).
  if (resp.status == 302 || resp.status == 304) {
    if (resp.status == 302 && !has_header(resp, "Location")) fail("302 without Location", req, resp, body);
    if (resp.status == 304 && (!body.empty() || !has_header(resp, "ETag"))) fail("304 with a body or no ETag", req, resp, body);
    return 0;
  }
  if (resp.content_type != "application/problem+json") fail("error answer not application/problem+json", req, resp, body);
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) fail("problem body is not a JSON object", req, resp, body);
  auto code = j.find("code");
  if (code == j.end() || !code->is_string() || code->get_ref<const std::string&>().empty())
    fail("problem without a string `code`", req, resp, body);
  auto status = j.find("status");
  if (status == j.end() || !status->is_number_integer() || status->get<int>() != resp.status)
    fail("problem `status` does not match the HTTP status", req, resp, body);
  // RFC 9110 §15.5.2: every 401 carries WWW-Authenticate.
  if (resp.status == 401 && !has_header(resp, "WWW-Authenticate"))
    fail("401 without WWW-Authenticate", req, resp, body);
  if (resp.status == 405 && !has_header(resp, "Allow")) fail("405 without Allow", req, resp, body);
  return 0;
}

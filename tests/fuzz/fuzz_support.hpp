// Shared by the fuzz targets that drive the server's request path (fuzz_route, fuzz_http,
// fuzz_export): one AppState per process on a real SQLite store in a temporary folder, and the
// checks every answer must pass. Header-only; each target is its own executable.
#pragma once

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
#include "sync/gzip.hpp"
#include "sync/zstd.hpp"

namespace akt::fuzz {

using server::HttpRequest;
using server::HttpResponse;

// Device of the seeds and the dictionaries (the actor is the PROTOCOL.md §7 tablet T1).
inline constexpr const char* kActor = "0190f5c2-7a1e-4cc0-9a4b-2f1e3d4c5b6a";
inline constexpr const char* kToken = "fuzz-token-0123456789abcdef";

inline std::shared_ptr<server::AppState> g_app;
inline std::string g_data_dir;
inline const char* g_name = "fuzz";

inline void remove_data_dir() {
  g_app.reset();
  if (!g_data_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(g_data_dir, ec);
  }
}

inline std::string make_temp_dir() {
  std::string base = "/tmp";
  if (const char* t = std::getenv("TMPDIR"); t && *t) base = t;
  std::error_code ec;
  // tmpfs makes the store's fsyncs cheap; fall back to TMPDIR.
  if (std::filesystem::is_directory("/dev/shm", ec) && !std::getenv("AKT_FUZZ_NO_SHM")) base = "/dev/shm";
  std::string pattern = base + "/aktsync-" + g_name + "-XXXXXX";
  if (!mkdtemp(pattern.data())) {
    pattern = std::string("/tmp/aktsync-") + g_name + "-XXXXXX";
    if (!mkdtemp(pattern.data())) {
      std::perror("mkdtemp");
      std::abort();
    }
  }
  return pattern;
}

// Knobs that only some versions of Config have: turned down when present so the fuzzer is not
// answered 429 after a few hundred requests and logins stay cheap.
template <class C>
void tune_for_fuzzing(C& c) {
  if constexpr (requires { c.limits.requests_per_minute; }) c.limits.requests_per_minute = 0;
  if constexpr (requires { c.accounts.password_kdf_n; }) c.accounts.password_kdf_n = 1024;
}

// Makes g_app (once per process): a fresh store with the static fuzz device.
inline void init_app(const char* name) {
  g_name = name;
  server::set_log_level("error");
  g_data_dir = make_temp_dir();
  std::atexit(remove_data_dir);
  server::Config c;
  c.listen_port = 0;
  c.data_dir = g_data_dir;
  c.log_level = "error";
  c.devices = {{kActor, "fuzz-tablet", server::sha256_hex(kToken)}};
  tune_for_fuzzing(c);
  if (auto st = server::check_config(c); !st.ok()) {
    std::fprintf(stderr, "%s: bad config: %s\n", name, st.message().c_str());
    std::abort();
  }
  auto app = server::make_app_state(c);
  if (!app.ok()) {
    std::fprintf(stderr, "%s: make_app_state: %s\n", name, app.status().message().c_str());
    std::abort();
  }
  g_app = std::move(*app);
}

[[noreturn]] inline void fail(const char* what, const HttpRequest& req, const HttpResponse& resp,
                              const std::string& body) {
  std::fprintf(stderr, "%s: %s\n  %s %s -> %d %s\n  body: %s\n", g_name, what, req.method.c_str(),
               req.target.substr(0, 300).c_str(), resp.status, resp.content_type.c_str(),
               body.substr(0, 2000).c_str());
  std::abort();
}

inline bool has_header(const HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return true;
  return false;
}

// Runs a streamed answer's producer to its end (as the session would, minus the socket): a producer
// that fails once the header is out would send the client a truncated body, so that is a finding.
inline std::string drain(const HttpRequest& req, HttpResponse& resp, std::size_t max_bytes = std::size_t{256} << 20) {
  std::string all, piece;
  for (;;) {
    piece.clear();
    const server::StreamStep step = resp.stream(piece);
    if (step == server::StreamStep::kFailed) fail("streamed answer failed", req, resp, piece);
    all += piece;
    if (all.size() > max_bytes) fail("streamed answer larger than the bound", req, resp, all.substr(0, 200));
    if (step == server::StreamStep::kDone) return all;
  }
}

// The properties every answer must have (docs/FUZZING.md §1): status 100-499; every answer has Vary;
// a 2xx JSON answer parses; 302 has Location, 304 has an ETag and no body; any other non-2xx is
// application/problem+json with a non-empty string `code` and a matching `status`; 401 carries
// WWW-Authenticate and 405 Allow. Returns the (decoded, drained) body.
inline std::string check_answer(const HttpRequest& req, HttpResponse& resp) {
  static const bool trace = std::getenv("AKT_FUZZ_TRACE") != nullptr;
  std::string body = resp.stream && !resp.long_poll ? drain(req, resp) : resp.body;
  for (const auto& [k, v] : resp.headers) {
    if (k == "Content-Encoding" && v == "gzip") {
      auto plain = sync::gunzip(body, 64 << 20);
      if (!plain.ok()) fail("answer says gzip but does not gunzip", req, resp, body);
      body = std::move(*plain);
    }
    if (k == "Content-Encoding" && v == "zstd") {
      auto plain = sync::unzstd(body, 64 << 20);
      if (!plain.ok()) fail("answer says zstd but does not decode", req, resp, body);
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
    if (resp.long_poll) return body;
    if (resp.content_type == "application/json" && nlohmann::json::parse(body, nullptr, false).is_discarded())
      fail("2xx answer is not JSON", req, resp, body);
    return body;
  }
  // The web console's redirect (/ -> /console/) and revalidations (304) are not errors (PROTOCOL §13.1).
  if (resp.status == 302 || resp.status == 304) {
    if (resp.status == 302 && !has_header(resp, "Location")) fail("302 without Location", req, resp, body);
    if (resp.status == 304 && (!body.empty() || !has_header(resp, "ETag")))
      fail("304 with a body or no ETag", req, resp, body);
    return body;
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
  if (resp.status == 401 && !has_header(resp, "WWW-Authenticate")) fail("401 without WWW-Authenticate", req, resp, body);
  if (resp.status == 405 && !has_header(resp, "Allow")) fail("405 without Allow", req, resp, body);
  return body;
}

}  // namespace akt::fuzz

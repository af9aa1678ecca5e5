#include "server/request_meta.hpp"

#include <array>
#include <atomic>
#include <random>

#include <nlohmann/json.hpp>

namespace akt::server {

namespace {

// The literal words of API paths (server/router.cpp); anything else in a path is a value.
constexpr std::array<std::string_view, 38> kWords = {
    "v1",        "login",    "enrol",       "push",       "changes",     "records",    "history",  "me",
    "password",  "logout",   "admin",       "quarantine", "release",     "discard",    "stats",    "conflicts",
    "resolve",   "review",   "forms",       "publish",    "retire",      "users",      "role",     "supervisor",
    "assignments", "disable", "enable",     "special_category", "enrolments", "devices", "revoke",   "audit",
    "exports",   "indicators", "uploads",   "blobs",      "missing",     "media"};

bool is_word(std::string_view s) {
  for (std::string_view w : kWords)
    if (w == s) return true;
  return false;
}

}  // namespace

std::string new_request_id() {
  static const std::uint64_t prefix = [] {
    std::random_device rd;
    return (std::uint64_t{rd()} << 32 | rd()) & 0xFFFFFFFFFF000000ULL;
  }();
  static std::atomic<std::uint64_t> counter{0};
  const std::uint64_t v = prefix ^ (counter.fetch_add(1) & 0xFFFFFFULL);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string route_template(std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  if (path == "/" || path == "/healthz" || path == "/readyz" || path == "/metrics") return std::string(path);
  if (path.substr(0, 4) != "/v1/") {
    // The web console and the tablet app: their files, by folder.
    if (path.substr(0, 5) == "/app/" || path == "/app") return "/app/*";
    if (path.substr(0, 9) == "/console/" || path == "/console") return "/console/*";
    return "(other)";
  }
  std::string out;
  int depth = 0;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const std::size_t slash = path.find('/');
    const std::string_view seg = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
    if (++depth > 6) return "(other)";
    // The second word names the area; an unknown one is no route at all.
    if (depth == 2 && !is_word(seg)) return "(other)";
    out += "/";
    out += is_word(seg) ? std::string(seg) : std::string("{id}");
  }
  return out;
}

void stamp_request_id(HttpResponse& resp, const std::string& request_id) {
  for (const auto& [k, v] : resp.headers)
    if (k == "X-Request-Id") return;
  resp.headers.emplace_back("X-Request-Id", request_id);
  if (resp.content_type != "application/problem+json" || resp.stream) return;
  for (const auto& [k, v] : resp.headers)
    if (k == "Content-Encoding") return;
  auto j = nlohmann::json::parse(resp.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return;
  j["request_id"] = request_id;
  resp.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace akt::server

#include "server/handlers/json_io.hpp"

#include <set>
#include <vector>

#include "server/problem.hpp"
#include "sync/json_text.hpp"

namespace akt::server {

std::optional<HttpResponse> parse_json_object(const std::string& body, nlohmann::json& out) {
  if (body.size() > 1024 * 1024) return problem(413, "body_too_large", "request body larger than 1 MiB");
  if (!sync::json_depth_within(body, 32)) return problem(400, "invalid_json", "JSON nests too deep");
  // Duplicate keys are refused: parsers disagree on which one wins (no parser differentials).
  std::vector<std::set<std::string>> keys;  // of the objects being parsed, innermost last
  bool duplicate = false;
  auto check = [&](int, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    if (ev == E::object_start) keys.emplace_back();
    else if (ev == E::object_end && !keys.empty()) keys.pop_back();
    else if (ev == E::key && !keys.empty() && !keys.back().insert(parsed.get<std::string>()).second) duplicate = true;
    return true;
  };
  out = nlohmann::json::parse(body, check, false);
  if (out.is_discarded()) return problem(400, "invalid_json", "the body is not valid JSON");
  if (duplicate) return problem(400, "invalid_json", "the body has an object with a duplicate key");
  if (!out.is_object()) return problem(400, "invalid_json", "the body must be a JSON object");
  return std::nullopt;
}

std::optional<std::string> string_member(const nlohmann::json& j, const char* key, std::size_t max) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > max) return std::nullopt;
  return s;
}

HttpResponse json_response(int status, const nlohmann::json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

}  // namespace akt::server

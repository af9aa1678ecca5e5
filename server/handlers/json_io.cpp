#include "server/handlers/json_io.hpp"

#include "server/problem.hpp"
#include "sync/json_text.hpp"

namespace akt::server {

std::optional<HttpResponse> parse_json_object(const std::string& body, nlohmann::json& out) {
  if (body.size() > 1024 * 1024) return problem(413, "body_too_large", "request body larger than 1 MiB");
  if (!sync::json_depth_within(body, 32)) return problem(400, "invalid_json", "JSON nests too deep");
  out = nlohmann::json::parse(body, nullptr, false);
  if (out.is_discarded()) return problem(400, "invalid_json", "the body is not valid JSON");
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

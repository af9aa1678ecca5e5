// JSON request/response helpers for the handlers (nlohmann, no exceptions).
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "server/http_types.hpp"

namespace akt::server {

// Parses `body` as a JSON object into `out`; a 400 problem (invalid_json) otherwise.
std::optional<HttpResponse> parse_json_object(const std::string& body, nlohmann::json& out);
// A string member of at most `max` bytes; nullopt when absent or not a string.
std::optional<std::string> string_member(const nlohmann::json& j, const char* key, std::size_t max = 1024);
HttpResponse json_response(int status, const nlohmann::json& body);

}  // namespace akt::server

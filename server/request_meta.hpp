// What identifies a request in logs, answers and metrics: its request id and its route template.
#pragma once

#include <string>
#include <string_view>

#include "server/http_types.hpp"

namespace akt::server {

// A new request id: 16 lowercase hex digits, unique within the process and random across restarts.
// Thread-safe.
std::string new_request_id();

// The route template of a request target, for logs and metrics: the path with every segment that is
// not a word of the API replaced by {id} ("/v1/records/0190…/history" -> "/v1/records/{id}/history").
// Paths outside the API and unknown ones map to a fixed few values, so the set stays small whatever
// clients send.
std::string route_template(std::string_view target);

// Sets X-Request-Id on `resp` and, when it is a problem+json answer not yet compressed, adds
// "request_id" to its body (PROTOCOL §"Errors"). Does nothing when the header is already there.
void stamp_request_id(HttpResponse& resp, const std::string& request_id);

}  // namespace akt::server

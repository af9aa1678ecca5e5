// Errors as application/problem+json (RFC 9457) with a stable machine-readable `code`.
#pragma once

#include <string>

#include "server/http_types.hpp"
#include "sync/status.hpp"

namespace akt::server {

// A problem response: {"type":"https://aktsync.org/problems/<code>","title","status","code","detail"}.
HttpResponse problem(int status, const std::string& code, const std::string& detail);

// The one place a Status becomes HTTP: invalid 400, unauthenticated 401, forbidden 403, not found 404,
// conflict 409, gone 410, too large 413, busy 503 + Retry-After, corruption/IO 500.
HttpResponse problem_from(const Status& status, const std::string& code);
int to_http_status(Status::Code code);

}  // namespace akt::server

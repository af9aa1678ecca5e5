#include "server/problem.hpp"

#include <nlohmann/json.hpp>

namespace akt::server {

namespace {

const char* title_of(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return status >= 500 ? "Internal Server Error" : "Error";
  }
}

}  // namespace

HttpResponse problem(int status, const std::string& code, const std::string& detail) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/problem+json";
  nlohmann::json j{{"type", "https://aktsync.org/problems/" + code},
                   {"title", title_of(status)},
                   {"status", status},
                   {"code", code},
                   {"detail", detail}};
  // Replace, never throw, on bytes that are not UTF-8 (a detail may quote client input).
  r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (status == 503) r.headers.emplace_back("Retry-After", "1");
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"aktsync\"");  // RFC 9110 §15.5.2
  return r;
}

int to_http_status(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return 200;
    case Status::Code::kInvalidArgument: return 400;
    case Status::Code::kUnauthenticated: return 401;
    case Status::Code::kForbidden: return 403;
    case Status::Code::kNotFound: return 404;
    case Status::Code::kConflict: return 409;
    case Status::Code::kGone: return 410;
    case Status::Code::kTooLarge: return 413;
    case Status::Code::kBusy: return 503;
    case Status::Code::kCorruption:
    case Status::Code::kIOError: return 500;
  }
  return 500;
}

HttpResponse problem_from(const Status& status, const std::string& code) {
  const int http = to_http_status(status.code());
  // Internal details of storage failures are logged, not sent.
  if (http == 500) return problem(500, "internal", "the server could not complete the request; it was not applied");
  if (http == 503) return problem(503, "busy", "the server is busy; retry the same request");
  return problem(http, code, status.message());
}

}  // namespace akt::server

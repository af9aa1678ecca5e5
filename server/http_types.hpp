// Plain HTTP request/response values passed between the Beast session and the router, so that
// routing and handlers compile without Beast (keeps translation units lean).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace akt::server {

struct HttpRequest {
  std::string method;                                      // "GET", "POST", ...
  std::string target;                                      // path and query, as received
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;
  std::string remote;                                      // peer address, for logs
  bool allow_wait = true;                                  // false when re-routed after a long-poll wait

  // First value of header `name` (lowercase), or empty.
  std::string_view header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (k == name) return v;
    return {};
  }
};

// Set by the changes handler when nothing is new yet and the client asked to wait.
struct LongPoll {
  std::int64_t since = 0;                          // wake when the feed moves past this
  std::chrono::steady_clock::time_point deadline;  // answer (empty) by then at the latest
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::optional<LongPoll> long_poll;               // the session re-routes when this is set
  bool close = false;                              // close the connection after sending
};

}  // namespace akt::server

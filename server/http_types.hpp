// Plain HTTP request/response values passed between the Beast session and the router, so that
// routing and handlers compile without Beast (keeps translation units lean).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
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
  std::string request_id;                                  // set by the session (X-Request-Id, logs)
  bool cut = false;  // the body was cut off in transit: only an upload append takes it (PROTOCOL §14.2)

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

// One step of a streamed body (see HttpResponse::stream).
enum class StreamStep {
  kMore,    // `out` holds the next bytes (possibly none); call again
  kDone,    // `out` holds the last bytes (possibly none); the body is complete
  kFailed,  // the body cannot be completed; `out` holds the reason, for the log (never sent)
};

// Produces a streamed body piece by piece. Called on the worker pool (never on an I/O strand, so it
// may read SQLite), once at a time, the next call only after the previous piece was written to the
// client (backpressure); `out` arrives empty. Dropped without further calls when the client goes away
// or the server stops, so it must own (or share) everything it uses. Must not throw.
using BodyProducer = std::function<StreamStep(std::string& out)>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When set, `body` is ignored and the answer is sent with Transfer-Encoding: chunked (gzip-compressed
  // on the fly when the client accepts it and `compressible`). The session produces the first piece
  // before sending the header: a kFailed there still becomes a problem+json 500. After the header,
  // kFailed aborts the connection without the terminating chunk, so the client sees a truncated body.
  BodyProducer stream;
  bool compressible = true;
  std::optional<LongPoll> long_poll;               // the session re-routes when this is set
  bool close = false;                              // close the connection after sending
  bool authenticated = false;                      // the request carried a valid token (set by route())
  std::string principal;                           // who asked (set by route()), for the request log
  std::string route;                               // route template (set by route()), for logs and metrics
  bool head = false;                               // answer to HEAD: headers (with GET's length), no body
  bool head_streamed = false;                      // ... of an answer GET would stream: no length is known
};

}  // namespace akt::server

// From a parsed Beast request to the router's plain HttpRequest, and from a parse error to the answer
// (or none): shared by the session and the raw-HTTP fuzz target (tests/fuzz/fuzz_http.cpp), so the
// fuzzer exercises the same conversion the server runs. Includes Beast: only for those two users.
#pragma once

#include <optional>
#include <string>

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "server/config.hpp"
#include "server/http_types.hpp"

namespace akt::server {

// Method, target, headers (names lowercased, in order) and body of `msg`; `msg`'s body is moved out.
HttpRequest to_http_request(boost::beast::http::request<boost::beast::http::string_body>& msg,
                            const std::string& remote);

// The answer to a request the parser refused with `ec` (413 body too large, 431 headers too large,
// 400 invalid_http for malformed HTTP), or nothing when the connection should just close (a peer
// that went away, a timeout). The connection closes after any of these.
std::optional<HttpResponse> answer_for_parse_error(const boost::beast::error_code& ec, const Limits& limits);

}  // namespace akt::server

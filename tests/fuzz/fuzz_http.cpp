// Fuzzes the server from the raw bytes of a connection: Beast's request parser with the server's own
// limits (server/session.cpp), the conversion to the router's HttpRequest and the parse-error answers
// (server/http_parse.cpp), then route() with the handlers and the SQLite store behind it.
//
// Input: the bytes a client sends on one connection; up to 4 pipelined requests are parsed and
// answered in turn, as the session does (it stops after a request without keep-alive or a parse error).
// Checks, for each answer: those of fuzz_support.hpp check_answer (no crash, no 5xx, problem+json for
// errors, ...); a parse error is answered 400/413/431 or by closing, never anything else.
#include <cstddef>
#include <cstdint>
#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "server/http_parse.hpp"
#include "server/router.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace http = boost::beast::http;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  akt::fuzz::init_app("fuzz_http");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& limits = akt::fuzz::g_app->config.limits;
  const char* in = reinterpret_cast<const char*>(data);
  std::size_t used = 0;
  for (int n = 0; n < 4 && used < size; ++n) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(limits.max_body_bytes);
    parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
    parser.eager(true);
    boost::beast::error_code ec;
    while (!parser.is_done() && !ec) {
      const std::size_t k = parser.put(boost::asio::buffer(in + used, size - used), ec);
      used += k;
      if (ec == http::error::need_more) {
        if (used < size && k > 0) {
          ec = {};
          continue;
        }
        // The connection ends here: what the session sees when the client closes mid-request.
        ec = {};
        parser.put_eof(ec);
        if (!ec && !parser.is_done()) ec = http::error::partial_message;
      } else if (!ec && k == 0 && !parser.is_done()) {
        ec = http::error::partial_message;  // no progress possible
      }
    }
    akt::server::HttpRequest req;
    req.method = "(unparsed)";
    if (ec) {
      auto answer = akt::server::answer_for_parse_error(ec, limits);
      if (!answer) return 0;  // the session closes the connection
      if (answer->status != 400 && answer->status != 413 && answer->status != 431)
        akt::fuzz::fail("parse error answered with an unexpected status", req, *answer, answer->body);
      akt::fuzz::check_answer(req, *answer);
      return 0;
    }
    auto& msg = parser.get();
    const bool keep_alive = msg.keep_alive();
    req = akt::server::to_http_request(msg, "fuzz");
    akt::server::HttpResponse resp = akt::server::route(req, *akt::fuzz::g_app);
    akt::fuzz::check_answer(req, resp);
    if (!keep_alive || resp.close) return 0;
  }
  return 0;
}

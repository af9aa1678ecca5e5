// Bad input of every kind gets a problem+json answer with a stable code and changes nothing (DESIGN §7.7).
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "sync/wire_json.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"

using namespace akt;
using akt::test::make_edit;
using akt::test::uuid7;

namespace {

std::string code_of(const client::HttpResult& r) {
  CHECK(r.header("content-type") == "application/problem+json");
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  CHECK(j["status"] == r.status);
  return j.value("code", "");
}

// A raw loopback connection for requests a well-behaved client cannot send.
class RawConn {
 public:
  explicit RawConn(std::uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    timeval tv{60, 0};  // a generous deadline: a server that never closes fails the test, never hangs it
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawConn() { close(fd_); }
  void send_text(const std::string& s) { CHECK(::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) >= 0); }
  // Reads until the peer closes (closed_by_peer) or the 60 s receive timeout passes.
  std::string read_all() {
    std::string out;
    char buf[4096];
    for (;;) {
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_by_peer = n == 0 || errno == ECONNRESET;
        return out;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
  }
  bool closed_by_peer = false;

 private:
  int fd_;
};

sync::PushRequest one_edit(const test::Device& d) {
  return {"ok-1", {make_edit(uuid7(9, 9), d.actor, 1, {}, R"({"a":1})", {"a"})}};
}

}  // namespace

TEST_CASE("bad input: every rejection is problem+json with a stable code, and nothing is stored") {
  server::Limits lim;
  lim.max_body_bytes = 64 * 1024;
  test::TestServer srv(lim);
  auto c = srv.client();
  const std::string good = sync::encode_push_request(one_edit(srv.a));
  auto post = [&](const std::string& body, std::vector<std::pair<std::string, std::string>> h) {
    auto r = c.request("POST", "/v1/push", body, h);
    REQUIRE(r.ok());
    return *r;
  };
  SUBCASE("malformed JSON") {
    auto r = post("{\"v\":1,\"batch_id\":", srv.a.auth());
    CHECK(r.status == 400);
    CHECK(code_of(r) == "invalid_json");
  }
  SUBCASE("deeply nested JSON") {
    auto r = post(std::string(5000, '[') + std::string(5000, ']'), srv.a.auth());
    CHECK(r.status == 400);
    CHECK(code_of(r) == "invalid_json");
  }
  SUBCASE("wrong types") {
    auto j = nlohmann::json::parse(good);
    j["edits"][0]["dot"]["n"] = "one";
    auto r = post(j.dump(), srv.a.auth());
    CHECK(r.status == 400);
    CHECK(code_of(r) == "invalid_batch");
    CHECK(nlohmann::json::parse(r.body)["detail"].get<std::string>().find("$.edits[0].dot.n") == 0);
  }
  SUBCASE("missing fields") {
    auto j = nlohmann::json::parse(good);
    j["edits"][0].erase("record");
    auto r = post(j.dump(), srv.a.auth());
    CHECK(r.status == 400);
    CHECK(code_of(r) == "invalid_batch");
  }
  SUBCASE("a bad edit after a good one stores neither") {
    auto j = nlohmann::json::parse(good);
    auto bad = j["edits"][0];
    bad["form_version"] = -1;
    j["edits"].push_back(bad);
    auto r = post(j.dump(), srv.a.auth());
    CHECK(r.status == 400);
  }
  SUBCASE("oversized body") {
    auto r = post(std::string(100 * 1024, ' '), srv.a.auth());
    CHECK(r.status == 413);
    CHECK(code_of(r) == "body_too_large");
  }
  SUBCASE("unknown route") {
    auto r = c.request("GET", "/v1/nothing", {}, srv.a.auth());
    CHECK(r->status == 404);
    CHECK(code_of(*r) == "not_found");
  }
  SUBCASE("wrong method") {
    auto r = c.request("GET", "/v1/push", {}, srv.a.auth());
    CHECK(r->status == 405);
    CHECK(code_of(*r) == "method_not_allowed");
    CHECK(r->header("allow") == "POST");
    auto r2 = c.request("DELETE", "/v1/changes", {}, srv.a.auth());
    CHECK(r2->status == 405);
  }
  SUBCASE("missing token") {
    auto r = post(good, {{"Content-Type", "application/json"}});
    CHECK(r.status == 401);
    CHECK(code_of(r) == "unauthenticated");
    CHECK(c.request("GET", "/v1/changes")->status == 401);
  }
  SUBCASE("invalid token") {
    auto r = post(good, {{"Authorization", "Bearer nope"}, {"Content-Type", "application/json"}});
    CHECK(r.status == 401);
    auto r2 = post(good, {{"Authorization", "Basic abc"}, {"Content-Type", "application/json"}});
    CHECK(r2.status == 401);
  }
  SUBCASE("wrong content type and encoding") {
    auto r = post(good, {{"Authorization", "Bearer " + srv.a.token}, {"Content-Type", "text/plain"}});
    CHECK(r.status == 415);
    CHECK(code_of(r) == "unsupported_media_type");
    auto h = srv.a.auth();
    h.emplace_back("Content-Encoding", "br");
    auto r2 = post(good, h);
    CHECK(r2.status == 415);
    CHECK(code_of(r2) == "unsupported_encoding");
    auto h3 = srv.a.auth();
    h3.emplace_back("Content-Encoding", "gzip");
    auto r3 = post("not gzip at all", h3);
    CHECK(r3.status == 400);
    CHECK(code_of(r3) == "invalid_encoding");
  }
  SUBCASE("bad cursor, limit and wait") {
    CHECK(code_of(*c.request("GET", "/v1/changes?since=abc", {}, srv.a.auth())) == "invalid_cursor");
    CHECK(code_of(*c.request("GET", "/v1/changes?since=0000000000000000-5-0", {}, srv.a.auth())) == "epoch_changed");
    CHECK(c.request("GET", "/v1/changes?since=0000000000000000-5-0", {}, srv.a.auth())->status == 410);
    CHECK(code_of(*c.request("GET", "/v1/changes?limit=-3", {}, srv.a.auth())) == "invalid_limit");
    CHECK(code_of(*c.request("GET", "/v1/changes?wait=soon", {}, srv.a.auth())) == "invalid_wait");
    const std::string ahead = "/v1/changes?since=" + srv.app().store->epoch() + "-99-0";
    CHECK(code_of(*c.request("GET", ahead, {}, srv.a.auth())) == "invalid_cursor");
  }
  SUBCASE("too many edits in one batch") {
    sync::PushRequest big{"big", {}};
    for (int i = 0; i < 1001; ++i) big.edits.push_back(make_edit(uuid7(1, static_cast<std::uint64_t>(i)), srv.a.actor, i + 1, {}, "{}"));
    server::Limits l2;
    test::TestServer srv2(l2);
    auto c2 = srv2.client();
    auto r = test::push(c2, srv2.a, big);
    CHECK(r.status == 413);
    CHECK(code_of(r) == "batch_too_large");
    CHECK(srv2.app().store->last_seq() == 0);
  }
  CHECK(srv.app().store->last_seq() == 0);
  // The server still serves well-formed requests afterwards.
  auto ok = test::push(c, srv.a, one_edit(srv.a));
  CHECK(ok.status == 200);
  CHECK(srv.app().store->last_seq() == 1);
}

TEST_CASE("bad input: malformed HTTP and oversized headers get an answer, then the connection closes") {
  test::TestServer srv;
  {
    RawConn raw(srv.port());
    raw.send_text("THIS IS NOT HTTP\r\n\r\n");
    std::string out = raw.read_all();
    CHECK(out.rfind("HTTP/1.1 400", 0) == 0);
    CHECK(out.find("invalid_http") != std::string::npos);
  }
  {
    RawConn raw(srv.port());
    raw.send_text("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n");
    std::string out = raw.read_all();
    CHECK(out.rfind("HTTP/1.1 431", 0) == 0);
  }
  CHECK(srv.client().request("GET", "/healthz")->status == 200);
}

TEST_CASE("bad input: a slow-loris client is cut off and others are still served") {
  server::Limits lim;
  lim.read_timeout_ms = 400;
  test::TestServer srv(lim);
  RawConn slow(srv.port());
  slow.send_text("POST /v1/push HTTP/1.1\r\nHost: x\r\n");  // never finishes its headers
  const auto start = std::chrono::steady_clock::now();
  // Meanwhile another client works normally.
  auto c = srv.client();
  CHECK(c.request("GET", "/healthz")->status == 200);
  std::string out = slow.read_all();  // returns when the server closes the connection
  const auto waited = std::chrono::steady_clock::now() - start;
  CHECK(out.empty());
  CHECK(slow.closed_by_peer);  // cut off by the server, not by our own deadline
  CHECK(waited >= std::chrono::milliseconds(400));  // and not before its read timeout
  CHECK(srv.app().store->last_seq() == 0);
}

TEST_CASE("timeouts: a kept-alive connection may idle up to idle_timeout_ms, then it is closed") {
  server::Limits lim;
  lim.read_timeout_ms = 300;
  lim.idle_timeout_ms = 4000;  // far above the idle below, so that a slow machine stays inside the window
  test::TestServer srv(lim);
  RawConn raw(srv.port());
  const std::string req = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  raw.send_text(req);
  // Idle longer than the read timeout but shorter than the idle timeout: the connection still works.
  const auto idle_from = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  if (std::chrono::steady_clock::now() - idle_from >= std::chrono::milliseconds(4000)) {
    MESSAGE("the machine stalled past the idle timeout during a 0.7 s sleep: nothing to conclude");
    return;
  }
  raw.send_text(req);
  const auto start = std::chrono::steady_clock::now();
  std::string out = raw.read_all();  // both answers, then the close after 4 s of idleness
  std::size_t answers = 0;
  for (std::size_t p = out.find("HTTP/1.1 200"); p != std::string::npos; p = out.find("HTTP/1.1 200", p + 1)) ++answers;
  CHECK(answers == 2);
  const auto waited = std::chrono::steady_clock::now() - start;
  CHECK(raw.closed_by_peer);  // closed by the server for idleness, not by our 60 s deadline
  CHECK(waited >= std::chrono::milliseconds(3500));
}

// The fault proxy: HTTP/1.1 framing, and each fault against a real in-process aktsyncd (what the client
// sees, and what the server committed).
#include "clients/fault_proxy.hpp"

#include <doctest/doctest.h>

#include "sync/wire_json.hpp"
#include "tests/support/feed.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"

using namespace akt;

namespace {

sync::PushRequest one_record(const test::Device& d, std::int64_t n, const std::string& batch) {
  const std::string rec = test::uuid7(1700000000000 + static_cast<std::uint64_t>(n), static_cast<std::uint64_t>(n));
  return {batch, {test::make_edit(rec, d.actor, n, {}, R"({"n":)" + std::to_string(n) + "}", {"n"})}};
}

Result<client::HttpResult> push_via(client::HttpClient& c, const test::Device& d, const sync::PushRequest& req) {
  return c.request("POST", "/v1/push", sync::encode_push_request(req), d.auth());
}

std::unique_ptr<client::FaultProxy> proxy_to(const test::TestServer& s, client::FaultOptions f) {
  auto p = client::FaultProxy::start(s.port(), f);
  REQUIRE(p.ok());
  return std::move(*p);
}

}  // namespace

TEST_CASE("fault proxy: HTTP/1.1 framing") {
  using client::http_message_length;
  const std::string get = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n";
  CHECK(http_message_length(get, false) == static_cast<long long>(get.size()));
  CHECK(http_message_length(get + "GET /y", false) == static_cast<long long>(get.size()));  // pipelined
  CHECK(http_message_length("GET /x HTTP/1.1\r\nHost: a\r\n", false) == 0);                // head incomplete
  const std::string post = "POST /p HTTP/1.1\r\ncontent-length: 5\r\n\r\nhello";
  CHECK(http_message_length(post, false) == static_cast<long long>(post.size()));
  CHECK(http_message_length(post.substr(0, post.size() - 1), false) == 0);
  CHECK(http_message_length("POST /p HTTP/1.1\r\nContent-Length: x5\r\n\r\nhello", false) == -1);
  const std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nA;x=y\r\n0123456789\r\n0\r\n\r\n";
  CHECK(http_message_length(chunked, true) == static_cast<long long>(chunked.size()));
  CHECK(http_message_length(chunked.substr(0, chunked.size() - 2), true) == 0);
  CHECK(http_message_length("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", true) == -1);
  CHECK(http_message_length("HTTP/1.1 204 No Content\r\n\r\n", true) == 27);
  CHECK(http_message_length("HTTP/1.1 200 OK\r\n\r\nbody to the end", true) == -1);  // unframed answer
  CHECK(http_message_length("garbage\r\n\r\n", true) == -1);
}

TEST_CASE("fault proxy: without faults it forwards faithfully, on kept-alive connections") {
  test::TestServer s;
  auto p = proxy_to(s, {});
  client::HttpClient c("127.0.0.1", p->port());
  for (int i = 1; i <= 3; ++i) {
    auto r = push_via(c, s.a, one_record(s.a, i, "fw" + std::to_string(i)));
    REQUIRE(r.ok());
    CHECK(r->status == 200);
  }
  auto h = c.request("GET", "/healthz");
  REQUIRE(h.ok());
  CHECK(h->status == 200);
  auto direct = s.client();
  CHECK(test::pull_all(direct, s.a, "", 100).records.size() == 3);
  auto n = p->counts();
  CHECK(n.requests == 4);
  CHECK(n.drop_before + n.drop_after + n.cut_response + n.duplicate + n.reorder == 0);
}

TEST_CASE("fault proxy: drop before forwarding, drop after the commit, cut answer") {
  test::TestServer s;
  auto direct = s.client();
  SUBCASE("drop before: the client fails, the server saw nothing") {
    client::FaultOptions f;
    f.drop_before = 1;
    auto p = proxy_to(s, f);
    client::HttpClient c("127.0.0.1", p->port());
    CHECK_FALSE(push_via(c, s.a, one_record(s.a, 1, "d1")).ok());
    CHECK(test::pull_all(direct, s.a, "", 100).records.empty());
    CHECK(p->counts().drop_before >= 1);
  }
  SUBCASE("drop after / cut: the client fails, the server committed; the retry is a replay") {
    for (const bool cut : {false, true}) {
      CAPTURE(cut);
      client::FaultOptions f;
      (cut ? f.cut_response : f.drop_after) = 1;
      auto p = proxy_to(s, f);
      client::HttpClient c("127.0.0.1", p->port());
      const auto req = one_record(s.a, cut ? 2 : 1, cut ? "cut" : "drop");
      CHECK_FALSE(push_via(c, s.a, req).ok());
      CHECK(test::pull_all(direct, s.a, "", 100).records.size() == (cut ? 2u : 1u));
      auto again = push_via(direct, s.a, req);
      REQUIRE(again.ok());
      CHECK(again->status == 200);
      CHECK(again->header("aktsync-replayed") == "true");
      CHECK((cut ? p->counts().cut_response : p->counts().drop_after) >= 1);
    }
  }
}

TEST_CASE("fault proxy: a duplicated push is answered as a replay, identical") {
  test::TestServer s;
  client::FaultOptions f;
  f.duplicate = 1;
  auto p = proxy_to(s, f);
  client::HttpClient c("127.0.0.1", p->port());
  for (int i = 1; i <= 3; ++i) {
    auto r = push_via(c, s.a, one_record(s.a, i, "dup" + std::to_string(i)));
    REQUIRE(r.ok());
    CHECK(r->status == 200);
  }
  CHECK(p->counts().duplicate == 3);
  CHECK(p->counts().replay_mismatch == 0);
  auto direct = s.client();
  CHECK(test::pull_all(direct, s.a, "", 100).records.size() == 3);
}

TEST_CASE("fault proxy: a held push reaches the server after a later push, and its retry is a replay") {
  test::TestServer s;
  client::FaultOptions f;
  f.reorder = 1;
  auto p = proxy_to(s, f);
  client::HttpClient ca("127.0.0.1", p->port()), cb("127.0.0.1", p->port());
  const auto first = one_record(s.a, 1, "r1");
  CHECK_FALSE(push_via(ca, s.a, first).ok());  // held: the client sees a dropped connection
  CHECK_FALSE(push_via(ca, s.a, first).ok());  // its retry may not overtake it
  CHECK(p->counts().held_drops == 1);
  auto direct = s.client();
  CHECK(test::pull_all(direct, s.a, "", 100).records.empty());
  auto later = push_via(cb, s.b, one_record(s.b, 2, "r2"));  // a later push: forwarded, then the held one
  REQUIRE(later.ok());
  CHECK(later->status == 200);
  CHECK(p->counts().reorder == 1);
  auto feed = test::pull_all(direct, s.a, "", 100).records;
  REQUIRE(feed.size() == 2);
  const auto& r1 = feed.at(first.edits[0].record_id);
  for (const auto& [id, st] : feed)
    if (id != r1.record_id) CHECK(st.seq < r1.seq);  // delivered after the later one
  p->set_faults(false);
  auto retry = push_via(ca, s.a, first);
  REQUIRE(retry.ok());
  CHECK(retry->header("aktsync-replayed") == "true");
}

TEST_CASE("fault proxy: follows a restarted upstream, and an unreachable upstream looks like a dead server") {
  test::TestServer s1, s2;
  auto p = proxy_to(s1, {});
  client::HttpClient c("127.0.0.1", p->port());
  REQUIRE(push_via(c, s1.a, one_record(s1.a, 1, "u1")).ok());
  p->set_upstream_port(s2.port());
  auto r = push_via(c, s2.a, one_record(s2.a, 2, "u2"));
  REQUIRE(r.ok());
  auto d2 = s2.client();
  CHECK(test::pull_all(d2, s2.a, "", 100).records.size() == 1);
  p->set_upstream_port(1);  // nothing listens there
  CHECK_FALSE(c.request("GET", "/healthz").ok());
  CHECK(p->counts().upstream_errors >= 1);
  p->stop();
  p->stop();  // idempotent
}

TEST_CASE("fault proxy: several upstreams take requests in turn, and a refused one is skipped") {
  test::TestServer s1, s2;  // two separate servers: where each push went shows in its own feed
  auto p = proxy_to(s1, {});
  p->set_upstream_ports({s1.port(), s2.port()});
  client::HttpClient c("127.0.0.1", p->port());
  for (int i = 1; i <= 4; ++i) REQUIRE(push_via(c, s1.a, one_record(s1.a, i, "rr" + std::to_string(i)))->status == 200);
  auto d1 = s1.client(), d2 = s2.client();
  CHECK(test::pull_all(d1, s1.a, "", 100).records.size() == 2);
  CHECK(test::pull_all(d2, s2.a, "", 100).records.size() == 2);
  CHECK(p->counts().upstream_failovers == 0);
  // One port refuses (nothing listens on 1): its turns go to the next one, nothing is lost.
  p->set_upstream_ports({1, s2.port()});
  for (int i = 5; i <= 8; ++i) REQUIRE(push_via(c, s1.a, one_record(s1.a, i, "rr" + std::to_string(i)))->status == 200);
  CHECK(test::pull_all(d2, s2.a, "", 100).records.size() == 6);
  CHECK(p->counts().upstream_failovers == 2);
  CHECK(p->counts().upstream_errors == 0);
}

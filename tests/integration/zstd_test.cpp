// zstd content coding (issue #18, PROTOCOL §1 "Compression"), over real sockets: answers in zstd when
// the request asks for it (q-values honoured, gzip otherwise), decoding to the same JSON as gzip and
// identity; request bodies in zstd accepted where gzip is, after the server advertised it; bad zstd,
// trailing bytes, oversized windows and bombs refused precisely with nothing stored.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "sync/gzip.hpp"
#include "sync/wire_json.hpp"
#include "sync/zstd.hpp"
#include "tests/support/edits.hpp"
#include "tests/support/test_server.hpp"

using namespace akt;
using akt::test::make_edit;
using akt::test::uuid7;
using Headers = std::vector<std::pair<std::string, std::string>>;

namespace {

// `n` new records (ids from `first`), edits `dot_from` + 1 ... of `dev`.
sync::PushRequest batch(const std::string& id, const test::Device& dev, int first, int n, int dot_from = -1) {
  if (dot_from < 0) dot_from = first;
  sync::PushRequest req{id, {}};
  for (int i = first; i < first + n; ++i)
    req.edits.push_back(make_edit(uuid7(5000 + static_cast<std::uint64_t>(i), 7), dev.actor, dot_from + (i - first) + 1, {},
                                  R"({"note":"visit )" + std::to_string(i * 7919 % 1000) +
                                      R"( – Komuniteti rom / Romska zajednica č ć š ž đ","pct":)" +
                                      std::to_string(i % 101) + "}",
                                  {"note", "pct"}));
  return req;
}

Headers with(const test::Device& dev, const std::string& name, const std::string& value) {
  Headers h = dev.auth();
  h.emplace_back(name, value);
  return h;
}

std::string code_of(const client::HttpResult& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("code") ? j["code"].get<std::string>() : std::string();
}

std::size_t feed_size(client::HttpClient& c, const test::Device& dev) {
  auto f = c.request("GET", "/v1/changes?limit=1000", {}, dev.auth());
  REQUIRE(f.ok());
  REQUIRE(f->status == 200);
  return nlohmann::json::parse(f->body)["changes"].size();
}

}  // namespace

TEST_CASE("zstd: answers in zstd when asked, decoding to the same JSON as gzip and identity") {
  test::TestServer srv;
  auto c = srv.client();  // asks "zstd, gzip;q=0.5" by default
  auto r = test::push(c, srv.a, batch("z-1", srv.a, 0, 50));
  REQUIRE(r.status == 200);
  CHECK(r.header("content-encoding") == "zstd");  // the push answer is > 1 KiB
  auto resp = sync::decode_push_response(r.body);
  REQUIRE(resp.ok());
  CHECK(resp->results.size() == 50);

  const std::string target = "/v1/changes?limit=100";
  auto z = c.request("GET", target, {}, with(srv.b, "Accept-Encoding", "zstd, gzip;q=0.5"));
  auto g = c.request("GET", target, {}, with(srv.b, "Accept-Encoding", "gzip"));
  auto i = c.request("GET", target, {}, with(srv.b, "Accept-Encoding", "identity"));
  REQUIRE((z.ok() && g.ok() && i.ok()));
  CHECK(z->header("content-encoding") == "zstd");
  CHECK(g->header("content-encoding") == "gzip");  // zstd not accepted: gzip as before
  CHECK(i->header("content-encoding").empty());
  for (const auto* a : {&*z, &*g, &*i}) {
    CHECK(a->status == 200);
    CHECK(a->header("vary") == "Accept-Encoding");
    CHECK(a->header("accept-encoding") == "zstd, gzip");  // the advertisement, on every answer
  }
  CHECK(z->body == i->body);
  CHECK(g->body == i->body);
  // A browser names every coding at one q-value: the tie gives gzip (PROTOCOL §1).
  auto browser = c.request("GET", target, {}, with(srv.b, "Accept-Encoding", "gzip, deflate, br, zstd"));
  REQUIRE(browser.ok());
  CHECK(browser->header("content-encoding") == "gzip");
  CHECK(browser->body == i->body);
  CHECK(nlohmann::json::parse(z->body)["changes"].size() == 50);
  // On the wire the zstd answer is the smallest.
  auto wire = [&](const std::string& ae) {
    auto h = srv.client();
    const auto before = h.stats().bytes_received;
    REQUIRE(h.request("GET", target, {}, with(srv.b, "Accept-Encoding", ae))->status == 200);
    return h.stats().bytes_received - before;
  };
  const auto zb = wire("zstd"), gb = wire("gzip"), ib = wire("identity");
  MESSAGE("feed page of 50 records: identity " << ib << " B, gzip " << gb << " B, zstd " << zb << " B");
  CHECK(zb < gb);
  CHECK(gb < ib);
}

TEST_CASE("zstd: Accept-Encoding q-values are honoured, small answers stay plain") {
  test::TestServer srv;
  auto c = srv.client();
  REQUIRE(test::push(c, srv.a, batch("q-1", srv.a, 0, 30)).status == 200);
  const std::string target = "/v1/changes?limit=100";
  auto coding = [&](const std::string& ae) {
    auto r = c.request("GET", target, {}, with(srv.b, "Accept-Encoding", ae));
    REQUIRE(r.ok());
    CHECK(r->status == 200);
    CHECK(nlohmann::json::parse(r->body)["changes"].size() == 30);
    return r->header("content-encoding");
  };
  CHECK(coding("zstd;q=0, gzip") == "gzip");
  CHECK(coding("zstd;q=0") == "");
  CHECK(coding("gzip;q=1, zstd;q=0.5") == "gzip");
  CHECK(coding("zstd;q=0.5, gzip;q=0.5") == "gzip");  // a tie: gzip
  CHECK(coding("*") == "gzip");  // `*` never means zstd: a client from before zstd gets what it got
  CHECK(coding("ZSTD") == "zstd");
  auto small = c.request("GET", "/v1/me", {}, with(srv.a, "Accept-Encoding", "zstd"));
  REQUIRE(small.ok());
  CHECK(small->header("content-encoding").empty());
}

TEST_CASE("zstd: the client uploads zstd once the server advertised it, and the server takes it") {
  test::TestServer srv;
  client::HttpOptions o;
  o.gzip_requests = true;
  auto c = srv.client(o);
  CHECK_FALSE(c.server_takes_zstd());  // nothing heard yet: a first upload goes gzip
  auto h = c.request("GET", "/healthz");
  REQUIRE(h.ok());
  CHECK(h->header("accept-encoding") == "zstd, gzip");
  CHECK(c.server_takes_zstd());
  // Two batches of the same shape, one sent gzip and one zstd: both stored, zstd the smaller upload.
  client::HttpOptions gz_only = o;
  gz_only.zstd_requests = false;
  auto g = srv.client(gz_only);
  REQUIRE(g.request("GET", "/healthz").ok());
  auto sent = [](client::HttpClient& cl, const sync::PushRequest& req, const test::Device& dev) {
    const auto before = cl.stats().bytes_sent;
    auto r = test::push(cl, dev, req);
    CHECK(r.status == 200);
    auto resp = sync::decode_push_response(r.body);
    REQUIRE(resp.ok());
    for (const auto& x : resp->results) CHECK(x.outcome == sync::Outcome::kApplied);
    return cl.stats().bytes_sent - before;
  };
  const auto zb = sent(c, batch("up-z", srv.a, 0, 200), srv.a);
  const auto gb = sent(g, batch("up-g", srv.b, 1000, 200, 0), srv.b);
  MESSAGE("push of 200 edits: gzip " << gb << " B, zstd " << zb << " B");
  CHECK(zb * 10 < gb * 9);
  CHECK(feed_size(c, srv.a) == 400);
  // A zstd body sent by hand (a client that compresses nothing itself) is stored as a plain one.
  auto raw = srv.client();
  const std::string body = sync::encode_push_request(batch("up-hand", srv.a, 200, 5));
  auto hand = raw.request("POST", "/v1/push", sync::zstd(body, 3), with(srv.a, "Content-Encoding", "zstd"));
  REQUIRE(hand.ok());
  CHECK(hand->status == 200);
  CHECK(feed_size(c, srv.a) == 405);
}

TEST_CASE("zstd: bad zstd, trailing bytes and big windows are 400 invalid_encoding, a bomb 413, nothing stored") {
  server::Limits limits;
  limits.max_decoded_body_bytes = 1 << 20;
  test::TestServer srv(limits);
  auto c = srv.client();
  const std::string body = sync::encode_push_request(batch("bad-1", srv.a, 0, 3));
  const std::string z = sync::zstd(body, 6);
  auto post = [&](const std::string& b, const std::string& coding = "zstd") {
    auto r = c.request("POST", "/v1/push", b, with(srv.a, "Content-Encoding", coding));
    REQUIRE(r.ok());
    return *r;
  };
  auto bad = post("this is not zstd");
  CHECK(bad.status == 400);
  CHECK(code_of(bad) == "invalid_encoding");
  CHECK(nlohmann::json::parse(bad.body)["detail"].get<std::string>().find("zstd") != std::string::npos);
  auto trailing = post(z + "x");
  CHECK(trailing.status == 400);
  CHECK(code_of(trailing) == "invalid_encoding");
  auto two = post(z + z);
  CHECK(two.status == 400);
  auto cut = post(z.substr(0, z.size() - 4));
  CHECK(cut.status == 400);
  CHECK(code_of(cut) == "invalid_encoding");
  auto window = post(std::string("\x28\xb5\x2f\xfd\x00\x70\x01\x00\x00", 9));  // asks for a 16 MiB window
  CHECK(window.status == 400);
  CHECK(code_of(window) == "invalid_encoding");
  // 40 MiB of padding in a few KiB stops at the decoded limit.
  const std::string bomb =
      sync::zstd(R"({"v":1,"batch_id":"x","edits":[],"pad":")" + std::string(40u << 20, ' ') + "\"}", 19);
  CHECK(bomb.size() < 16384);
  auto b = post(bomb);
  CHECK(b.status == 413);
  CHECK(code_of(b) == "body_too_large");
  auto br = post(body, "br");
  CHECK(br.status == 415);
  CHECK(code_of(br) == "unsupported_encoding");
  CHECK(br.header("accept-encoding") == "zstd, gzip");
  CHECK(feed_size(c, srv.a) == 0);  // none of them stored anything
  // The same body, whole, is taken.
  CHECK(post(z).status == 200);
  CHECK(feed_size(c, srv.a) == 3);
}

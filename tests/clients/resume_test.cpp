// The sync client on a link that cuts (issue 18): a pull cut mid-page keeps the records it received whole
// and asks for the rest only; a push whose answer was lost reads the stored answer instead of uploading the
// batch again; the tablet's own records come back without their bodies, and a body the server holds
// otherwise is fetched whole. Real sockets: the fault proxy between the client and an in-process server.
#include <algorithm>

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "clients/fault_proxy.hpp"
#include "clients/sync_client.hpp"
#include "tests/clients/client_support.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

std::unique_ptr<client::FaultProxy> proxy_to(const test::TestServer& s, client::FaultOptions f) {
  auto p = client::FaultProxy::start(s.port(), f);
  REQUIRE(p.ok());
  (*p)->set_faults(false);
  return std::move(*p);
}

// A transport over `http` that logs every request ("METHOD target") and may arm the proxy's faults for
// one request, chosen by `arm` (method, target).
struct Recorder {
  client::HttpClient& http;
  client::FaultProxy* proxy = nullptr;
  std::function<bool(const std::string&, const std::string&)> arm;
  std::function<void(client::HttpResult&)> rewrite;  // applied to every 200 feed answer
  std::vector<std::string> requests;
  client::Transport transport() {
    return [this](const std::string& m, const std::string& t, const std::string& b, const client::Headers& h) {
      requests.push_back(m + " " + t);
      const bool armed = arm && arm(m, t);
      if (armed) proxy->set_faults(true);
      auto r = http.request(m, t, b, h);
      if (armed) {
        proxy->set_faults(false);
        arm = nullptr;  // once
      }
      if (r.ok() && rewrite && r->status == 200 && starts_with(t, "/v1/changes")) rewrite(*r);
      return r;
    };
  }
  std::size_t count(const std::string& prefix) const {
    return static_cast<std::size_t>(
        std::count_if(requests.begin(), requests.end(), [&](const std::string& r) { return starts_with(r, prefix); }));
  }
};

client::SyncOptions options(client::HttpClient& http) {
  client::SyncOptions o;
  o.skip_own = false;  // own records come back with body_hash here (echo=0); skip_own: skip_own_test.cpp
  o.max_attempts = 6;
  o.sleep = [](std::chrono::milliseconds) {};
  o.partial_answer = [&http] { return http.partial_answer(); };
  return o;
}

std::string body_of(int i) { return R"({"pct_complete":)" + std::to_string(i % 100) + R"(,"notes":"visit )" +
                                   std::to_string(i) + R"( of the water supply works"})"; }

}  // namespace

TEST_CASE("resume: a pull cut mid-page keeps the records received whole and asks only for the rest") {
  test::TestServer srv;
  test::TempDir dir;
  test::Tablet writer(dir.file("a.db"), srv.a, srv.port(), 1);
  for (int i = 0; i < 60; ++i) writer.create(body_of(i), {"notes", "pct_complete"});
  REQUIRE(writer.sync().ok());

  client::FaultOptions f;
  f.cut_response = 1;  // when armed: half of the answer, then the connection drops
  auto proxy = proxy_to(srv, f);
  auto store = test::open_tablet(dir.file("b.db"), srv.b, proxy->port());
  client::HttpOptions gz;
  gz.accept_zstd = false;  // gzip answers: the cut lands inside the gzip stream (zstd: the next case)
  client::HttpClient http("127.0.0.1", proxy->port(), gz);
  Recorder rec{http, proxy.get(), [](const std::string& m, const std::string& t) {
                 return m == "GET" && starts_with(t, "/v1/changes");
               }, {}, {}};
  client::SyncOptions o = options(http);
  o.pull_limit = 500;  // one page holds everything
  client::SyncClient c(*store, rec.transport(), o);
  auto s = c.sync(1700000100000);
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  CHECK(proxy->counts().cut_response == 1);
  CHECK(s->resumed == 1);
  REQUIRE(rec.count("GET /v1/changes") == 2);
  CHECK(rec.requests.back().find("&after=") != std::string::npos);  // the second asks after the last whole record
  CHECK(s->pulled == 60);  // each record applied once: none of the first part was fetched again
  test::check_converged(writer, test::pull_all(writer.http, srv.a, "", 500));
  auto ids = store->record_ids();
  REQUIRE(ids.ok());
  CHECK(ids->size() == 60);
}

TEST_CASE("resume: a zstd page cut mid-page keeps the records received whole and asks only for the rest") {
  test::TestServer srv;
  test::TempDir dir;
  test::Tablet writer(dir.file("a.db"), srv.a, srv.port(), 1);
  constexpr int kRecords = 400;  // ~100 KB of feed JSON: several of the server's 32 KiB zstd blocks
  for (int i = 0; i < kRecords; ++i) writer.create(body_of(i), {"notes", "pct_complete"});
  {
    // In a few large requests: the Tablet helper's batches of 3 and pages of 2 would take several hundred
    // requests, past the server's per-token rate limit on a fast machine (429, retried at once here).
    client::SyncOptions wo = options(writer.http);
    wo.batch_edits = 500;
    wo.pull_limit = 1000;
    client::SyncClient wc(*writer.store, client::http_transport(writer.http), wo);
    auto pushed = wc.sync(1700000050000);
    REQUIRE_MESSAGE(pushed.ok(), pushed.status().message());
  }

  client::FaultOptions f;
  f.cut_response = 1;  // when armed: half of the answer, then the connection drops
  auto proxy = proxy_to(srv, f);
  auto store = test::open_tablet(dir.file("b.db"), srv.b, proxy->port());
  client::HttpClient http("127.0.0.1", proxy->port());  // asks "zstd, gzip": the cut lands inside a zstd frame
  std::vector<std::string> codings;
  Recorder rec{http, proxy.get(), [](const std::string& m, const std::string& t) {
                 return m == "GET" && starts_with(t, "/v1/changes");
               }, [&codings](client::HttpResult& r) { codings.push_back(r.header("content-encoding")); }, {}};
  client::SyncOptions o = options(http);
  o.pull_limit = 1000;  // one page holds everything
  o.pull_max_bytes = 0;
  client::SyncClient c(*store, rec.transport(), o);
  auto s = c.sync(1700000100000);
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  CHECK(proxy->counts().cut_response == 1);
  CHECK(s->resumed == 1);
  REQUIRE(rec.count("GET /v1/changes") == 2);
  CHECK(rec.requests.back().find("&after=") != std::string::npos);  // the second asks after the last whole record
  REQUIRE(codings.size() == 1);
  CHECK(codings[0] == "zstd");  // the rest came zstd too
  CHECK(s->pulled == kRecords);  // each record applied once: none of the first part was fetched again
  auto ids = store->record_ids();
  REQUIRE(ids.ok());
  CHECK(ids->size() == kRecords);
}

TEST_CASE("resume: a push whose answer was lost fetches the stored answer instead of uploading the batch again") {
  test::TestServer srv;
  test::TempDir dir;
  client::FaultOptions f;
  f.drop_after = 1;  // when armed: the server commits, the answer never reaches the client
  auto proxy = proxy_to(srv, f);
  auto store = test::open_tablet(dir.file("a.db"), srv.a, proxy->port());
  std::mt19937_64 rng(3);
  for (int i = 0; i < 5; ++i)
    REQUIRE(store->create(test::infra_record(body_of(i), {"notes", "pct_complete"}), 1700000000000 + i,
                          test::random10(rng)).ok());
  client::HttpClient http("127.0.0.1", proxy->port());
  Recorder rec{http, proxy.get(), [](const std::string& m, const std::string&) { return m == "POST"; }, {}, {}};
  client::SyncClient c(*store, rec.transport(), options(http));
  auto s = c.sync(1700000100000);
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  CHECK(proxy->counts().drop_after == 1);
  CHECK(rec.count("POST /v1/push") == 1);  // uploaded once
  CHECK(rec.count("GET /v1/push/") == 1);  // its answer read back
  CHECK(s->answers_fetched == 1);
  CHECK(s->pushed == 5);
  CHECK(s->unsynced == 0);
}

TEST_CASE("resume: a batch formed in an earlier round asks for its answer first, 404 sends it") {
  test::TestServer srv;
  test::TempDir dir;
  client::FaultOptions f;
  f.drop_before = 1;  // when armed: the request never reaches the server
  auto proxy = proxy_to(srv, f);
  auto store = test::open_tablet(dir.file("a.db"), srv.a, proxy->port());
  std::mt19937_64 rng(4);
  REQUIRE(store->create(test::infra_record(body_of(1), {"notes", "pct_complete"}), 1700000000000, test::random10(rng))
              .ok());
  client::HttpClient http("127.0.0.1", proxy->port());
  {
    // The first round gives up on its first failure: the batch stays formed, unacknowledged.
    Recorder rec{http, proxy.get(), [](const std::string& m, const std::string&) { return m == "POST"; }, {}, {}};
    client::SyncOptions o = options(http);
    o.max_attempts = 1;
    client::SyncClient c(*store, rec.transport(), o);
    CHECK_FALSE(c.sync(1700000100000).ok());
  }
  Recorder rec{http, nullptr, {}, {}, {}};
  client::SyncClient c(*store, rec.transport(), options(http));
  auto s = c.sync(1700000200000);
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  REQUIRE(rec.requests.size() >= 2);
  CHECK(starts_with(rec.requests[0], "GET /v1/push/"));  // 404: it never arrived
  CHECK(rec.requests[1] == "POST /v1/push");
  CHECK(s->answers_fetched == 0);
  CHECK(s->pushed == 1);
}

TEST_CASE("no echo: the tablet's own records come back without bodies, a body the server changed is fetched") {
  test::TestServer srv;
  test::TempDir dir;
  test::Tablet a(dir.file("a.db"), srv.a, srv.port(), 5);
  std::vector<std::string> ids;
  for (int i = 0; i < 12; ++i) ids.push_back(a.create(body_of(i), {"notes", "pct_complete"}));

  SUBCASE("the feed carries hashes, the store keeps its bodies") {
    std::size_t hashes = 0, bodies = 0;
    Recorder rec{a.http, nullptr, {}, [&](client::HttpResult& r) {
                   for (std::size_t p = 0; (p = r.body.find("\"body_hash\"", p)) != std::string::npos; ++p) ++hashes;
                   for (std::size_t p = 0; (p = r.body.find("\"body\"", p)) != std::string::npos; ++p) ++bodies;
                 }, {}};
    client::SyncClient c(*a.store, rec.transport(), options(a.http));
    auto s = c.sync(1700000100000);
    REQUIRE_MESSAGE(s.ok(), s.status().message());
    CHECK(hashes == 12);
    CHECK(bodies == 0);
    CHECK(s->bodies_fetched == 0);
    CHECK(rec.count("GET /v1/records/") == 0);
    for (int i = 0; i < 12; ++i) CHECK(a.get(ids[static_cast<std::size_t>(i)]).live[0].body == nlohmann::json::parse(body_of(i)).dump());
    test::check_converged(a, test::pull_all(a.http, srv.a, "", 500));
  }
  SUBCASE("a hash that does not match the tablet's copy fetches the record whole") {
    int spoiled = 0;  // the first two hashes of the page only
    Recorder rec{a.http, nullptr, {}, [&](client::HttpResult& r) {
                   const std::string key = "\"body_hash\":\"";
                   for (std::size_t p = 0; spoiled < 2 && (p = r.body.find(key, p)) != std::string::npos;
                        p += key.size(), ++spoiled)
                     r.body.replace(p + key.size(), 16, "0000000000000000");
                 }, {}};
    client::SyncClient c(*a.store, rec.transport(), options(a.http));
    auto s = c.sync(1700000100000);
    REQUIRE_MESSAGE(s.ok(), s.status().message());
    CHECK(s->bodies_fetched == 2);
    CHECK(rec.count("GET /v1/records/") == 2);
    CHECK(s->pages_asked_whole == 0);
    test::check_converged(a, test::pull_all(a.http, srv.a, "", 500));
  }
  SUBCASE("a page of many unmatched hashes is asked again with its bodies, not record by record") {
    Recorder rec{a.http, nullptr, {}, [&](client::HttpResult& r) {
                   const std::string key = "\"body_hash\":\"";
                   for (std::size_t p = 0; (p = r.body.find(key, p)) != std::string::npos; p += key.size())
                     r.body.replace(p + key.size(), 16, "0000000000000000");
                 }, {}};
    client::SyncClient c(*a.store, rec.transport(), options(a.http));
    auto s = c.sync(1700000100000);
    REQUIRE_MESSAGE(s.ok(), s.status().message());
    CHECK(s->bodies_fetched == 0);
    CHECK(rec.count("GET /v1/records/") == 0);
    CHECK(s->pages_asked_whole == 1);
    CHECK(rec.count("GET /v1/changes") == 2);
    REQUIRE(!rec.requests.empty());
    CHECK(rec.requests.back().find("echo=0") == std::string::npos);
    test::check_converged(a, test::pull_all(a.http, srv.a, "", 500));
  }
}

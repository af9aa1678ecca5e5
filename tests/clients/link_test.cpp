// The client over a bad link: every step has a deadline, a stalled transfer is aborted,
// retries follow a time budget, certificate errors end the round at once with their cause, and a
// round that fails still says what it did. The link is the fault proxy's emulation, on loopback.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <future>

#include <doctest/doctest.h>

#include "clients/fault_proxy.hpp"
#include "clients/sync_client.hpp"
#include "tests/clients/client_support.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;

namespace {

std::unique_ptr<client::FaultProxy> link_to(const test::TestServer& s, client::LinkOptions link) {
  client::FaultOptions f;
  f.link = link;
  auto p = client::FaultProxy::start(s.port(), f);
  REQUIRE(p.ok());
  return std::move(*p);
}

// The SHA-256 of a PEM certificate's DER, in hex.
std::string fingerprint(const std::string& pem_file) {
  std::FILE* f = std::fopen(pem_file.c_str(), "r");
  REQUIRE(f != nullptr);
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  REQUIRE(cert != nullptr);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  X509_digest(cert, EVP_sha256(), md, &len);
  X509_free(cert);
  std::string out;
  char hex[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", md[i]);
    out += hex;
  }
  return out;
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("link: a silent link ends the sync within the configured deadline") {
  test::TestServer srv;
  test::TempDir dir;
  client::LinkOptions link;
  link.silent = true;  // accepts, reads, never answers
  auto proxy = link_to(srv, link);
  auto store = test::open_tablet(dir.file("t.db"), srv.a, proxy->port());
  std::mt19937_64 rng(1);
  REQUIRE(store->create(test::infra_record(R"({"pct_complete":1})", {"pct_complete"}), 1700000001000, test::random10(rng))
              .ok());
  client::HttpOptions ho;
  ho.timeout = std::chrono::milliseconds(300);
  ho.stall_timeout = std::chrono::milliseconds(300);
  client::HttpClient http("127.0.0.1", proxy->port(), ho);
  client::SyncOptions so;
  so.retry_for = std::chrono::seconds(2);
  so.backoff_initial = std::chrono::milliseconds(50);
  so.backoff_max = std::chrono::milliseconds(200);
  client::SyncClient sc(*store, client::http_transport(http), so);
  auto round = std::async(std::launch::async, [&] { return sc.sync(1700000002000); });
  // The deadline here only keeps a regression from hanging the suite; the round ends after ~2 s.
  if (round.wait_for(std::chrono::seconds(120)) != std::future_status::ready) {
    proxy->stop();  // unblocks a client that waits forever
    round.wait();
    FAIL("the sync did not end on a silent link");
  }
  auto s = round.get();
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().code() == Status::Code::kIOError);
  CHECK_MESSAGE(has(s.status().message(), "no answer within 300 ms"), s.status().message());
  CHECK(sc.summary().retries >= 1);  // it kept trying for its budget
  CHECK(sc.summary().pushed == 0);
  CHECK(sc.summary().unsynced == 1);
  CHECK(proxy->counts().requests >= 2);
}

TEST_CASE("link: an answer that stops moving is aborted by the stall timeout") {
  test::TestServer srv;
  test::TempDir dir;
  // Some records, so that a feed page is several KiB.
  {
    test::Tablet t(dir.file("w.db"), srv.a, srv.port(), 2);
    for (int i = 0; i < 40; ++i)
      t.create(R"({"pct_complete":)" + std::to_string(i) + R"(,"notes":"a note long enough to fill the page"})",
               {"pct_complete", "notes"});
    REQUIRE(t.sync().ok());
  }
  client::LinkOptions link;
  link.rate_bytes_per_s = 256 * 1024;
  link.stall = 1.0;         // every answer stops in its middle ...
  link.stall_ms = 60000;    // ... for a minute (stop() ends it)
  auto proxy = link_to(srv, link);
  client::HttpOptions ho;
  ho.accept_gzip = false;
  ho.accept_zstd = false;
  ho.stall_timeout = std::chrono::milliseconds(400);
  client::HttpClient http("127.0.0.1", proxy->port(), ho);
  auto r = std::async(std::launch::async,
                      [&] { return http.request("GET", "/v1/changes?limit=100", {}, srv.a.auth()); });
  if (r.wait_for(std::chrono::seconds(50)) != std::future_status::ready) {
    proxy->stop();
    r.wait();
    FAIL("a stalled answer was not aborted");
  }
  auto res = r.get();
  REQUIRE_FALSE(res.ok());
  CHECK(res.status().code() == Status::Code::kIOError);
  CHECK_MESSAGE(has(res.status().message(), "no byte moved for 400 ms"), res.status().message());
  CHECK(http.stats().bytes_received > 0);  // it had started
  CHECK(proxy->counts().stalls == 1);
}

TEST_CASE("sync: retries go on for a time budget, not a fixed count") {
  test::TestServer srv;
  test::TempDir dir;
  test::Tablet a(dir.file("a.db"), srv.a, srv.port(), 3);
  a.create(R"({"pct_complete":1})", {"pct_complete"});
  int failures_left = 20;  // an outage far longer than six attempts
  client::Transport flaky = [&](const std::string& m, const std::string& t, const std::string& b,
                                const client::Headers& h) -> Result<client::HttpResult> {
    if (failures_left > 0) {
      --failures_left;
      return Status::io_error("connection refused");
    }
    return a.http.request(m, t, b, h);
  };
  std::chrono::milliseconds slept{0};
  client::SyncOptions o;
  o.sleep = [&](std::chrono::milliseconds d) { slept += d; };
  SUBCASE("an outage within the budget is ridden out") {
    client::SyncClient c(*a.store, flaky, o);
    auto s = c.sync(1700000100000);
    REQUIRE_MESSAGE(s.ok(), s.status().message());
    CHECK(s->pushed == 1);
    CHECK(s->retries == 20);
  }
  SUBCASE("an outage longer than the budget ends the round") {
    failures_left = 1000000;
    o.retry_for = std::chrono::minutes(1);
    client::SyncClient c(*a.store, flaky, o);
    auto s = c.sync(1700000100000);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == Status::Code::kIOError);
    CHECK(slept <= o.retry_for);
    CHECK(slept > o.retry_for - o.backoff_max);
    CHECK(has(s.status().message(), "unreachable"));
  }
}

TEST_CASE("sync: a failed round still reports what it pushed and pulled") {
  test::TestServer srv;
  test::TempDir dir;
  test::Tablet a(dir.file("a.db"), srv.a, srv.port(), 4);
  for (int i = 0; i < 5; ++i) a.create(R"({"pct_complete":)" + std::to_string(i) + "}", {"pct_complete"});
  client::Transport no_pull = [&](const std::string& m, const std::string& t, const std::string& b,
                                  const client::Headers& h) -> Result<client::HttpResult> {
    if (m == "GET") return Status::io_error("connection reset by peer");
    return a.http.request(m, t, b, h);
  };
  client::SyncOptions o;
  o.batch_edits = 2;
  o.max_attempts = 2;
  o.sleep = [](std::chrono::milliseconds) {};
  std::size_t progress_calls = 0;
  o.on_progress = [&](const client::SyncSummary&) { ++progress_calls; };
  client::SyncClient c(*a.store, no_pull, o);
  auto s = c.sync(1700000100000);
  REQUIRE_FALSE(s.ok());
  CHECK(c.summary().pushed == 5);
  CHECK(c.summary().applied == 5);
  CHECK(c.summary().batches == 3);
  CHECK(c.summary().unsynced == 0);
  CHECK(progress_calls == 3);
}

TEST_CASE("sync: certificate errors end the round at once, with their cause") {
  test::TestServer srv({}, {}, /*tls=*/true);
  test::TempDir dir;
  auto store = test::open_tablet(dir.file("t.db"), srv.a, srv.port());
  std::mt19937_64 rng(5);
  REQUIRE(store->create(test::infra_record(R"({"pct_complete":1})", {"pct_complete"}), 1700000001000, test::random10(rng))
              .ok());
  int attempts = 0;
  auto run = [&](client::HttpOptions ho) {
    ho.tls = true;
    client::HttpClient http("127.0.0.1", srv.port(), ho);
    client::Transport counted = [&](const std::string& m, const std::string& t, const std::string& b,
                                    const client::Headers& h) {
      ++attempts;
      return http.request(m, t, b, h);
    };
    client::SyncOptions o;
    o.sleep = [](std::chrono::milliseconds) {};
    client::SyncClient c(*store, counted, o);
    return c.sync(1700000100000);
  };
  SUBCASE("a CA that did not sign the server's certificate") {
    auto s = run({});  // the system's trust store does not know the throwaway certificate
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == Status::Code::kInvalidArgument);
    CHECK_MESSAGE(has(s.status().message(), "not signed by a trusted CA"), s.status().message());
    CHECK(has(s.status().message(), "--ca"));
    CHECK(attempts == 1);
  }
  SUBCASE("a CA file that cannot be read") {
    client::HttpOptions ho;
    ho.ca_file = dir.file("missing-ca.pem");
    auto s = run(ho);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == Status::Code::kInvalidArgument);
    CHECK(has(s.status().message(), "cannot load the CA file"));
    CHECK(attempts == 1);
  }
  SUBCASE("a pinned certificate: the right pin is trusted, a wrong one refused") {
    client::HttpOptions wrong;
    wrong.pin_sha256 = std::string(64, 'a');
    auto bad = run(wrong);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.status().code() == Status::Code::kInvalidArgument);
    CHECK_MESSAGE(has(bad.status().message(), "not the pinned one"), bad.status().message());
    CHECK(attempts == 1);
    client::HttpOptions right;
    right.pin_sha256 = fingerprint(srv.cert_file());
    auto good = run(right);
    REQUIRE_MESSAGE(good.ok(), good.status().message());
    CHECK(good->pushed == 1);
  }
  SUBCASE("TLS spoken to a plain-HTTP port") {
    test::TestServer plain_srv;
    client::HttpOptions ho;
    ho.tls = true;
    client::HttpClient http("127.0.0.1", plain_srv.port(), ho);
    auto r = http.request("GET", "/healthz");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Status::Code::kInvalidArgument);
    CHECK_MESSAGE(has(r.status().message(), "plain HTTP"), r.status().message());
  }
}

TEST_CASE("link: a sync through periodic cuts, stalls and a slow link finishes, nothing lost") {
  test::TestServer srv;
  test::TempDir dir;
  client::LinkOptions link;
  link.rate_bytes_per_s = 64 * 1024;
  link.delay_ms = 5;
  link.cut_every_ms = 250;  // every open connection, four times a second
  link.stall = 0.2;
  link.stall_ms = 100;
  auto proxy = link_to(srv, link);
  test::Tablet a(dir.file("a.db"), srv.a, proxy->port(), 6);
  for (int i = 0; i < 30; ++i)
    a.create(R"({"pct_complete":)" + std::to_string(i) + R"(,"notes":"through a bad link"})", {"pct_complete", "notes"});
  client::HttpOptions ho;
  ho.timeout = std::chrono::seconds(5);
  ho.stall_timeout = std::chrono::seconds(5);
  client::HttpClient http("127.0.0.1", proxy->port(), ho);
  client::SyncOptions o;
  o.batch_edits = 5;
  o.pull_limit = 5;
  o.backoff_initial = std::chrono::milliseconds(10);
  o.backoff_max = std::chrono::milliseconds(50);
  client::SyncClient c(*a.store, client::http_transport(http), o);
  auto s = c.sync(1700000100000);
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  CHECK(s->pushed == 30);
  CHECK(s->unsynced == 0);
  auto direct = srv.client();
  test::check_converged(a, test::pull_all(direct, srv.a, "", 1000));
  CHECK(proxy->counts().bytes_down > 0);
  MESSAGE("cuts " << proxy->counts().link_cuts << ", stalls " << proxy->counts().stalls << ", retries "
                  << s->retries << ", requests " << http.stats().requests);
}

// GET /metrics (PROTOCOL §3.2): request counters by method, route template and status, a duration
// histogram per route, and gauges read at the scrape (feed position, connections, database size); only
// a configured scrape token or an admin's token may read them; route templates, never record ids.
#include <doctest/doctest.h>

#include <chrono>
#include <regex>
#include <sstream>
#include <thread>

#include "server/auth.hpp"
#include "server/config.hpp"
#include "server/metrics.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"

using namespace akt;

namespace {

const std::string kToken = "scrape-token-of-the-metrics-test-0123456789";
const std::string kPassword = "correct horse battery";

std::vector<std::pair<std::string, std::string>> auth(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

// The value of the sample line that starts with `series` (name and labels), or -1.
double value_of(const std::string& body, const std::string& series) {
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);)
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ')
      return std::stod(line.substr(series.size() + 1));
  return -1;
}

std::string scrape(client::HttpClient& c) {
  auto r = c.request("GET", "/metrics", "", auth(kToken));
  REQUIRE(r.ok());
  REQUIRE(r->status == 200);
  return r->body;
}

// Counters are written once the answer went out, so they may trail the client by a moment: scrapes
// until `series` reaches `want` (or a generous deadline passes) and returns the last scrape.
std::string scrape_until(client::HttpClient& c, const std::string& series, double want) {
  std::string body;
  for (int i = 0; i < 1000; ++i) {
    body = scrape(c);
    if (value_of(body, series) >= want) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return body;
}

}  // namespace

TEST_CASE("metrics: requests counted by route template and status, gauges read at the scrape") {
  test::TestServer srv;
  srv.app().config.metrics_token_sha256 = server::sha256_hex(kToken);
  auto c = srv.client();
  for (int i = 0; i < 3; ++i) REQUIRE(c.request("GET", "/healthz")->status == 200);
  const std::string secret_record = test::uuid_n(777001);
  auto missing = test::get(c, srv.a, "/v1/records/" + secret_record);
  REQUIRE(missing.status == 404);
  const std::string record = test::uuid_n(777002);
  auto pushed = test::push(c, srv.a, {"m-1", {test::make_edit(record, srv.a.actor, 1, {}, R"({"x":1})", {"x"})}});
  REQUIRE(pushed.status == 200);

  const std::string healthz = R"(aktsync_http_requests_total{method="GET",route="/healthz",status="200"})";
  const std::string records404 = R"(aktsync_http_requests_total{method="GET",route="/v1/records/{id}",status="404"})";
  const std::string push200 = R"(aktsync_http_requests_total{method="POST",route="/v1/push",status="200"})";
  std::string body = scrape_until(c, healthz, 3);
  body = scrape_until(c, push200, 1);
  CHECK(value_of(body, healthz) == 3);
  CHECK(value_of(body, records404) == 1);
  CHECK(value_of(body, push200) == 1);
  // The histogram agrees with the counters, and its buckets only grow.
  CHECK(value_of(body, R"(aktsync_http_request_duration_seconds_count{route="/healthz"})") == 3);
  CHECK(value_of(body, R"(aktsync_http_request_duration_seconds_bucket{route="/healthz",le="+Inf"})") == 3);
  double previous = 0;
  for (double le : server::Metrics::kBuckets) {
    std::ostringstream name;
    name << R"(aktsync_http_request_duration_seconds_bucket{route="/healthz",le=")" << le << R"("})";
    const double v = value_of(body, name.str());
    CHECK(v >= previous);
    previous = v;
  }
  CHECK(value_of(body, R"(aktsync_http_request_bytes_total{route="/v1/push"})") > 0);
  // Gauges: the feed position is the store's, connections include this one, the database has a size.
  CHECK(value_of(body, "aktsync_store_last_seq") == static_cast<double>(srv.app().store->last_seq()));
  CHECK(srv.app().store->last_seq() >= 1);
  CHECK(value_of(body, "aktsync_connections_open") >= 1);
  CHECK(value_of(body, R"(aktsync_store_file_bytes{file="database"})") > 0);
  CHECK(value_of(body, "process_resident_memory_bytes") > 0);
  // What holds the memory (README, Memory): SQLite's share, and the allocator's in use and free.
  CHECK(value_of(body, "aktsync_sqlite_memory_bytes") > 0);
#if defined(__GLIBC__)
  // Present (a sanitizer's allocator replaces glibc's, whose figures are then near zero).
  CHECK(value_of(body, R"(aktsync_heap_bytes{state="in_use"})") >= 0);
  CHECK(value_of(body, R"(aktsync_heap_bytes{state="free"})") >= 0);
#endif
  CHECK(value_of(body, "aktsync_stopping") == 0);
  // Ids never appear: route templates only.
  CHECK(body.find(secret_record) == std::string::npos);
  CHECK(body.find(record) == std::string::npos);
  // Every line is a comment (# HELP / # TYPE) or `name{labels} number` in the text format.
  const std::regex line_re(R"(^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [-+0-9.eInfNa]+)$)");
  std::istringstream in(body);
  int lines = 0;
  for (std::string line; std::getline(in, line); ++lines) CHECK_MESSAGE(std::regex_match(line, line_re), line);
  CHECK(lines > 20);
  auto r = c.request("GET", "/metrics", "", auth(kToken));
  CHECK(r->header("content-type") == "text/plain; version=0.0.4; charset=utf-8");
  if (std::string(srv.app().store->engine()) == "sqlite") {
    // A second after the push the idle store empties its WAL (docs/STORE.md, "The WAL and its
    // checkpoints"), and the scrape counts it.
    const std::string truncated = R"(aktsync_wal_checkpoints_total{kind="truncate"})";
    body = scrape_until(c, truncated, 1);
    CHECK(value_of(body, truncated) >= 1);
    CHECK(value_of(body, R"(aktsync_wal_checkpoints_total{kind="error"})") == 0);
    CHECK(body.find("# TYPE aktsync_wal_checkpoints_total counter") != std::string::npos);
  }
}

TEST_CASE("metrics: only the scrape token and admins may read them") {
  test::TestServer srv;
  srv.app().config.metrics_token_sha256 = server::sha256_hex(kToken);
  srv.create_user("root", "admin", kPassword);
  srv.create_user("enis", "enumerator", kPassword, {{"gracanice", "serb", "SO1"}});
  srv.create_user("mira", "me_officer", kPassword);
  auto c = srv.client();
  auto status = [&](const std::vector<std::pair<std::string, std::string>>& h, const std::string& method = "GET") {
    auto r = c.request(method, "/metrics", "", h);
    REQUIRE(r.ok());
    return r->status;
  };
  CHECK(status({}) == 401);
  CHECK(status(auth("not-the-scrape-token")) == 401);
  CHECK(status(auth(kToken)) == 200);
  CHECK(status(auth(srv.login("root", kPassword))) == 200);
  CHECK(status(auth(srv.login("enis", kPassword))) == 403);
  CHECK(status(auth(srv.login("mira", kPassword))) == 403);
  CHECK(status(auth(srv.a.token)) == 403);  // a static device (enumerator role)
  CHECK(status(auth(kToken), "POST") == 405);

  // Without a configured token, the same token is just an unknown one.
  srv.app().config.metrics_token_sha256.clear();
  CHECK(status(auth(kToken)) == 401);
}

TEST_CASE("metrics: the scrape token's hash is checked at start, label values are escaped") {
  server::Config c;
  c.metrics_token_sha256 = "ABC";
  CHECK(server::check_config(c).code() == Status::Code::kInvalidArgument);
  c.metrics_token_sha256 = server::sha256_hex(kToken);
  CHECK(server::check_config(c).ok());
  auto parsed = server::parse_config(R"({"metrics_token_sha256":")" + server::sha256_hex("t") + R"("})");
  REQUIRE(parsed.ok());
  CHECK(parsed->metrics_token_sha256 == server::sha256_hex("t"));
  CHECK(server::prometheus_escape("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
}

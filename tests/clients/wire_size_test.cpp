// Requests sized for the link (issue 18): the sync client asks for the lean feed (compact=2) and, from a
// server that refuses it, for compact=1; with target_request_time it sizes push batches and feed pages to
// the throughput it measured, within its bounds. The link's time is a fake clock that each request moves
// by a round trip plus its bytes at a set rate, so the sizes are the same on every run and every machine.
#include <algorithm>
#include <chrono>
#include <cstdlib>

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "clients/sync_client.hpp"
#include "tests/clients/client_support.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;

namespace {

std::string body_of(int i) {
  return R"({"pct_complete":)" + std::to_string(i % 100) + R"(,"notes":"visit )" + std::to_string(i) +
         R"( of the water supply works"})";
}

// A transport over `http` on an emulated link: each request moves `now` by `rtt` plus its request and
// answer bytes at `bytes_per_s`. It logs every request and the edits of every push.
struct SlowLink {
  explicit SlowLink(client::HttpClient& h, double rate = 1e9, std::chrono::milliseconds round_trip = {})
      : http(h), bytes_per_s(rate), rtt(round_trip) {}
  client::HttpClient& http;
  double bytes_per_s;
  std::chrono::milliseconds rtt;
  std::chrono::steady_clock::time_point now{};
  std::vector<std::string> requests;
  std::vector<std::size_t> batch_edits, batch_bytes;
  std::function<bool(const std::string&)> refuse;  // targets answered as a server before compact=2 would

  client::Transport transport() {
    return [this](const std::string& m, const std::string& t, const std::string& b,
                  const client::Headers& h) -> Result<client::HttpResult> {
      requests.push_back(m + " " + t);
      now += rtt;
      if (refuse && refuse(t)) {
        client::HttpResult r;
        r.status = 400;
        r.body = R"({"code":"invalid_compact","detail":"compact must be 0 or 1","status":400})";
        return r;
      }
      if (m == "POST" && t == "/v1/push") {
        auto j = nlohmann::json::parse(b, nullptr, false);
        batch_edits.push_back(j.is_object() && j.contains("edits") ? j["edits"].size() : 0);
        batch_bytes.push_back(b.size());
      }
      auto r = http.request(m, t, b, h);
      const double bytes = static_cast<double>(b.size() + (r.ok() ? r->body.size() : 0));
      now += std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(bytes / bytes_per_s));
      return r;
    };
  }
  std::function<std::chrono::steady_clock::time_point()> clock() {
    return [this] { return now; };
  }
  std::size_t count(const std::string& part) const {
    return static_cast<std::size_t>(std::count_if(requests.begin(), requests.end(), [&](const std::string& r) {
      return r.find(part) != std::string::npos;
    }));
  }
  // The max_bytes of each feed request, in order.
  std::vector<std::size_t> page_bytes() const {
    std::vector<std::size_t> out;
    for (const std::string& r : requests) {
      const std::size_t p = r.find("max_bytes=");
      if (r.rfind("GET /v1/changes", 0) == 0 && p != std::string::npos)
        out.push_back(static_cast<std::size_t>(std::strtoull(r.c_str() + p + 10, nullptr, 10)));
    }
    return out;
  }
};

client::SyncOptions quick_options() {
  client::SyncOptions o;
  o.max_attempts = 6;
  o.sleep = [](std::chrono::milliseconds) {};
  return o;
}

}  // namespace

TEST_CASE("lean feed: the client asks for compact=2, and for compact=1 from a server that refuses it") {
  test::TestServer srv;
  test::TempDir dir;
  test::Tablet a(dir.file("a.db"), srv.a, srv.port(), 5);
  test::Tablet b(dir.file("b.db"), srv.b, srv.port(), 6);
  for (int i = 0; i < 7; ++i) a.create(body_of(i), {"notes", "pct_complete"});
  REQUIRE(a.sync().ok());
  b.create(body_of(100), {"notes", "pct_complete"});  // b's own record stays out of its feed (skip_own)
  SlowLink link{b.http};

  SUBCASE("the server's lean page: creates without clock, no member at its default") {
    auto page = nlohmann::json::parse(test::get(b.http, srv.b, "/v1/changes?compact=2").body, nullptr, false);
    REQUIRE(page.is_object());
    REQUIRE(page["changes"].size() == 7);
    for (const nlohmann::json& rec : page["changes"]) {
      for (const char* key : {"deleted", "conflict", "conflicted", "deletion_pending"}) CHECK_FALSE(rec.contains(key));
      const nlohmann::json& v = rec["live"][0];
      CHECK_FALSE(v.contains("clock"));
      CHECK_FALSE(v.contains("deleted"));
      CHECK_FALSE(v.contains("form_version"));
      CHECK_FALSE(v.contains("changed"));
      CHECK(v.contains("body"));
      CHECK(v.contains("server_time"));
    }
    auto full = nlohmann::json::parse(test::get(b.http, srv.b, "/v1/changes?compact=1").body, nullptr, false);
    CHECK(full["changes"][0]["live"][0].contains("clock"));
    CHECK(full["changes"][0].contains("conflict"));
    auto bad = test::get(b.http, srv.b, "/v1/changes?compact=3");
    CHECK(bad.status == 400);
    CHECK(client::problem_of(bad.body).first == "invalid_compact");
  }

  SUBCASE("a server that knows it") {
    client::SyncClient c(*b.store, link.transport(), quick_options());
    auto s = c.sync(1700000100000);
    REQUIRE_MESSAGE(s.ok(), s.status().message());
    CHECK(link.count("compact=2&echo=0") >= 1);
    CHECK(link.count("compact=1") == 0);
    CHECK(s->pulled == 7);  // A's seven; B's own record, as pushed, stays out (skip_own)
    test::check_converged(b, test::pull_all(b.http, srv.b, "", 500));
  }
  SUBCASE("a server from before it") {
    link.refuse = [](const std::string& t) { return t.find("compact=2") != std::string::npos; };
    client::SyncClient c(*b.store, link.transport(), quick_options());
    auto s = c.sync(1700000100000);
    REQUIRE_MESSAGE(s.ok(), s.status().message());
    CHECK(link.count("compact=2") == 1);  // asked once, then never again
    CHECK(link.count("compact=1&echo=0") >= 1);
    CHECK(s->pulled == 7);  // A's seven; B's own record, as pushed, stays out (skip_own)
    test::check_converged(b, test::pull_all(b.http, srv.b, "", 500));
  }
}

TEST_CASE("sizing: push batches and feed pages grow to the target time at the measured throughput, within bounds") {
  test::TestServer srv;
  test::TempDir dir;
  test::Tablet a(dir.file("a.db"), srv.a, srv.port(), 5);
  for (int i = 0; i < 400; ++i) a.create(body_of(i), {"notes", "pct_complete"});
  // 8 kB/s (64 kbit/s) and 300 ms: a batch of 10 edits is mostly round trip, so it measures the link low.
  SlowLink up{a.http, 8000.0, std::chrono::milliseconds(300)};
  client::SyncOptions o = quick_options();
  o.batch_edits = 10;
  o.min_batch_edits = 5;
  o.max_batch_edits = 150;
  o.target_request_time = std::chrono::seconds(2);
  o.clock = up.clock();
  client::SyncClient c(*a.store, up.transport(), o);
  auto s = c.sync(1700000100000);
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  CHECK(s->pushed == 400);
  REQUIRE(up.batch_edits.size() >= 3);
  CHECK(up.batch_edits[0] == 10);
  CHECK(up.batch_edits[1] > 10);
  std::size_t most = 0;
  for (std::size_t i = 0; i < up.batch_edits.size(); ++i) {
    INFO("batch " << i << " of " << up.batch_edits.size());
    CHECK(up.batch_edits[i] <= 150);
    most = std::max(most, up.batch_edits[i]);
  }
  CHECK(most >= 25);                      // well above the first
  CHECK(up.batch_edits.size() < 40 / 2);  // fixed batches of 10 would take 40
  CHECK(s->next_batch_edits > 10);

  // Another tablet pulls the 400 records: pages from 4 KiB up to their 10 KiB bound (1.7 s of the link
  // would be ~13.6 KB: the bound is what stops them).
  test::Tablet b(dir.file("b.db"), srv.b, srv.port(), 6);
  SlowLink down{b.http, 8000.0, std::chrono::milliseconds(300)};
  client::SyncOptions p = quick_options();
  p.pull_max_bytes = 4096;
  p.min_pull_bytes = 4096;
  p.max_pull_bytes = 10 * 1024;
  p.target_request_time = std::chrono::seconds(2);
  p.clock = down.clock();
  client::SyncClient cb(*b.store, down.transport(), p);
  auto sb = cb.sync(1700000200000);
  REQUIRE_MESSAGE(sb.ok(), sb.status().message());
  CHECK(sb->pulled == 400);
  const std::vector<std::size_t> pages = down.page_bytes();
  REQUIRE(pages.size() >= 3);
  CHECK(pages[0] == 4096);
  CHECK(pages[1] > 4096);
  for (std::size_t n : pages) CHECK(n <= 10 * 1024);
  CHECK(*std::max_element(pages.begin(), pages.end()) == 10 * 1024);
  CHECK(down.count("limit=5000") == pages.size());  // pages bounded by bytes, not by a record count
  test::check_converged(b, test::pull_all(b.http, srv.b, "", 500));
}

TEST_CASE("link memory: a sync sizes its first batch and first page from the rates the sync before measured") {
  test::TestServer srv;
  test::TempDir dir;
  test::Tablet a(dir.file("a.db"), srv.a, srv.port(), 5);
  test::Tablet b(dir.file("b.db"), srv.b, srv.port(), 6);
  const std::string url = "127.0.0.1:" + std::to_string(srv.port());
  // 8 kB/s of JSON each way and 300 ms: a first batch of 10 edits is mostly round trip.
  SlowLink up{a.http, 8000.0, std::chrono::milliseconds(300)};
  SlowLink down{b.http, 8000.0, std::chrono::milliseconds(300)};
  auto options = [](SlowLink& link) {
    client::SyncOptions o = quick_options();
    o.batch_edits = 10;
    o.min_batch_edits = 5;
    o.target_request_time = std::chrono::seconds(2);
    o.pull_max_bytes = 4096;
    o.min_pull_bytes = 4096;
    o.max_pull_bytes = 64 * 1024;
    o.clock = link.clock();
    return o;
  };
  const std::int64_t day = 24LL * 3600 * 1000, day1 = 1700000100000;
  for (int i = 0; i < 100; ++i) a.create(body_of(i), {"notes", "pct_complete"});
  auto s1 = client::SyncClient(*a.store, up.transport(), options(up)).sync(day1);
  REQUIRE_MESSAGE(s1.ok(), s1.status().message());
  CHECK(up.batch_edits.front() == 10);
  CHECK(s1->recalled_push_rate == 0);
  // With the round trip taken out (against the empty last page), the link's own rate: this fake link
  // spends no time in the server.
  CHECK(static_cast<double>(s1->measured_push_rate) == doctest::Approx(8000).epsilon(0.01));
  CHECK(a.store->link_rates(url)->push_at_ms == day1);
  auto p1 = client::SyncClient(*b.store, down.transport(), options(down)).sync(day1);
  REQUIRE_MESSAGE(p1.ok(), p1.status().message());
  CHECK(p1->pulled == 100);
  CHECK(down.page_bytes().front() == 4096);
  REQUIRE(p1->measured_pull_rate > 0);

  // The next day, a new run (a new SyncClient): its first batch takes 2 s of 8000 B/s, not 10 edits.
  for (int i = 100; i < 400; ++i) a.create(body_of(i), {"notes", "pct_complete"});
  std::size_t first = up.batch_edits.size();
  auto s2 = client::SyncClient(*a.store, up.transport(), options(up)).sync(day1 + day);
  REQUIRE_MESSAGE(s2.ok(), s2.status().message());
  CHECK(s2->recalled_push_rate == s1->measured_push_rate);
  REQUIRE(up.batch_edits.size() > first);
  const std::size_t per_edit = up.batch_bytes[first] / up.batch_edits[first];
  CHECK(up.batch_edits[first] > 30);
  CHECK(up.batch_bytes[first] <= 2 * s1->measured_push_rate);
  CHECK(up.batch_bytes[first] + 2 * per_edit > 2 * s1->measured_push_rate);
  // And B's first page asks for 2 s of the pull rate it measured.
  const std::size_t pages = down.page_bytes().size();
  auto p2 = client::SyncClient(*b.store, down.transport(), options(down)).sync(day1 + day);
  REQUIRE_MESSAGE(p2.ok(), p2.status().message());
  CHECK(p2->pulled == 300);
  CHECK(p2->recalled_pull_rate == p1->measured_pull_rate);
  REQUIRE(down.page_bytes().size() > pages);
  CHECK(down.page_bytes()[pages] == std::clamp<std::size_t>(2 * p1->measured_pull_rate, 4096, 64 * 1024));
  test::check_converged(b, test::pull_all(b.http, srv.b, "", 500));

  SUBCASE("a rate older than link_memory is not used") {
    for (int i = 400; i < 450; ++i) a.create(body_of(i), {"notes", "pct_complete"});
    first = up.batch_edits.size();
    auto s3 = client::SyncClient(*a.store, up.transport(), options(up)).sync(day1 + day + 4 * day);
    REQUIRE(s3.ok());
    CHECK(s3->recalled_push_rate == 0);
    CHECK(up.batch_edits[first] == 10);
  }
  SUBCASE("link_memory 0: neither used nor kept") {
    for (int i = 400; i < 450; ++i) a.create(body_of(i), {"notes", "pct_complete"});
    first = up.batch_edits.size();
    client::SyncOptions o = options(up);
    o.link_memory = std::chrono::hours(0);
    auto s3 = client::SyncClient(*a.store, up.transport(), o).sync(day1 + 2 * day);
    REQUIRE(s3.ok());
    CHECK(up.batch_edits[first] == 10);
    CHECK(a.store->link_rates(url)->push_at_ms == day1 + day);
  }
}

TEST_CASE("upload level: zstd 6 unless the link is slow enough that a higher level saves more time than it costs") {
  CHECK(client::zstd_level_for(0) == 6);                // unknown
  CHECK(client::zstd_level_for(8000 / 0.0263) == 15);   // 64 kbit/s on the wire, at level 6
  CHECK(client::zstd_level_for(16000 / 0.0263) == 9);   // 128 kbit/s
  CHECK(client::zstd_level_for(32000 / 0.0263) == 9);   // 256 kbit/s
  CHECK(client::zstd_level_for(125000 / 0.0263) == 6);  // 1 Mbit/s
  test::TestServer srv;
  test::TempDir dir;
  test::Tablet a(dir.file("a.db"), srv.a, srv.port(), 5);
  for (int i = 0; i < 30; ++i) a.create(body_of(i), {"notes", "pct_complete"});
  client::HttpOptions ho;
  ho.gzip_requests = true;
  client::HttpClient http("127.0.0.1", srv.port(), ho);
  http.set_server_takes_zstd(true);
  std::vector<double> told;
  client::SyncOptions o = quick_options();
  o.batch_edits = 10;
  o.target_request_time = std::chrono::seconds(2);
  o.upload_rate = [&](double r) {
    told.push_back(r);
    http.set_upload_rate(r);
  };
  // A link measured at 64 kbit/s by an earlier sync.
  const std::string url = "127.0.0.1:" + std::to_string(srv.port());
  REQUIRE(a.store->set_link_rates(url, {static_cast<std::int64_t>(8000 / 0.0263), 1700000000000, 0, 0}).ok());
  client::SyncClient c(*a.store, client::http_transport(http), o);
  auto s = c.sync(1700000100000);
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  CHECK(s->pushed == 30);
  REQUIRE_FALSE(told.empty());
  CHECK(told.front() == doctest::Approx(8000 / 0.0263).epsilon(0.001));  // the first batch: the rate recalled
  CHECK(http.stats().zstd_uploads >= 1);
  CHECK(http.last_zstd_level() == 15);  // one batch (2 s of that rate holds all 30), coded at 15
  http.set_upload_rate(0);
  auto r = http.request("POST", "/v1/push", R"({"v":1,"batch_id":"level-6","edits":[]})", srv.a.auth());
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  CHECK(http.last_zstd_level() == 6);
}

TEST_CASE("lean push answer: the client asks for it, and an applied edit's result does not repeat its record") {
  test::TestServer srv;
  test::TempDir dir;
  test::Tablet a(dir.file("a.db"), srv.a, srv.port(), 7);
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) ids.push_back(a.create(body_of(i), {"notes", "pct_complete"}));
  std::vector<std::string> requests, answers;
  client::Transport t = [&](const std::string& m, const std::string& target, const std::string& b,
                            const client::Headers& h) -> Result<client::HttpResult> {
    auto r = a.http.request(m, target, b, h);
    if (m == "POST" && target == "/v1/push" && r.ok()) {
      requests.push_back(b);
      answers.push_back(r->body);
    }
    return r;
  };
  client::SyncClient c(*a.store, t, quick_options());
  auto s = c.sync(1700000100000);
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  CHECK(s->pushed == 40);
  REQUIRE_FALSE(answers.empty());
  std::size_t results = 0, answer_bytes = 0;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    CHECK(requests[i].find(R"("answer":"lean")") != std::string::npos);
    for (const std::string& id : ids) CHECK(answers[i].find(id) == std::string::npos);
    auto j = nlohmann::json::parse(answers[i]);
    results += j["results"].size();
    answer_bytes += answers[i].size();
  }
  CHECK(results == 40);
  // A full result is about 170 bytes (two UUIDs); a lean one about 120 (the dot's actor stays).
  CHECK(answer_bytes < 140 * results);
  // The tablet took every edit as acknowledged: nothing is left to push.
  auto again = c.sync(1700000200000);
  REQUIRE(again.ok());
  CHECK(again->pushed == 0);
}

// Long-poll pulls: an empty wait ends at its deadline; a push during the wait wakes it at once; a server
// that stops answers its waiting pulls. Events are ordered by waiting on the server's own state (its
// count of parked pulls), never by sleeps; the only time checks are "not before the deadline" and
// "before the deadline", which load cannot make false.
#include <doctest/doctest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"

using namespace akt;
using Clock = std::chrono::steady_clock;

namespace {

}  // namespace

TEST_CASE("long poll: waits until the deadline when nothing changes") {
  test::TestServer srv;
  client::HttpOptions o;
  o.timeout = std::chrono::seconds(120);  // a pull that never ends fails the request
  auto c = srv.client(o);
  const auto start = Clock::now();
  auto r = test::get(c, srv.a, "/v1/changes?wait=300");
  const auto took = Clock::now() - start;
  CHECK(r.status == 200);
  CHECK(nlohmann::json::parse(r.body)["changes"].empty());
  CHECK(took >= std::chrono::milliseconds(300));  // not answered before its deadline
  CHECK(srv.app().notifier.waiting() == 0);       // and its waiter is gone
}

TEST_CASE("long poll: a push wakes a waiting pull promptly") {
  test::TestServer srv;
  client::HttpOptions o;
  o.timeout = std::chrono::seconds(120);  // above the 60 s cap on a wait
  auto c = srv.client(o);
  const std::string cursor = srv.app().store->epoch() + "-0-0";
  bool parked = false;
  std::thread pusher([&] {
    parked = test::wait_for_waiters(srv.app(), 1);  // the pull is waiting: only a push can end it early
    auto pc = srv.client();
    test::push(pc, srv.b, {"lp", {test::make_edit(test::uuid7(3, 3), srv.b.actor, 1, {}, R"({"x":1})", {"x"})}});
  });
  const auto start = Clock::now();
  auto r = test::get(c, srv.a, "/v1/changes?wait=60000&since=" + cursor);  // the longest wait (max_wait_ms)
  const auto took = Clock::now() - start;
  pusher.join();
  REQUIRE(parked);
  CHECK(r.status == 200);
  CHECK(nlohmann::json::parse(r.body)["changes"].size() == 1);
  // Woken, not timed out: the answer came before the wait's own deadline.
  CHECK(took < std::chrono::milliseconds(srv.app().config.limits.max_wait_ms));
}

TEST_CASE("long poll: stopping the server answers waiting pulls instead of hanging") {
  auto srv = std::make_unique<test::TestServer>();
  client::HttpOptions o;
  o.timeout = std::chrono::seconds(120);  // above the 60 s cap on a wait
  auto c = srv->client(o);
  bool parked = false;
  std::thread stopper([&] {
    parked = test::wait_for_waiters(srv->app(), 1);
    srv->stop();
  });
  const auto start = Clock::now();
  auto r = c.request("GET", "/v1/changes?wait=60000", {}, srv->a.auth());
  const auto took = Clock::now() - start;
  stopper.join();
  REQUIRE(parked);
  // A stopping server answers the parked pull (an empty page), before the wait's deadline.
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->status == 200);
  CHECK(nlohmann::json::parse(r->body)["changes"].empty());
  CHECK(took < std::chrono::milliseconds(srv->app().config.limits.max_wait_ms));
}

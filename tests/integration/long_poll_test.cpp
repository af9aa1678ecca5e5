// Long-poll pulls: an empty wait ends at its deadline; a push during the wait wakes it at once.
#include <doctest/doctest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/integration/test_server.hpp"
#include "tests/support/edits.hpp"

using namespace akt;
using Clock = std::chrono::steady_clock;

TEST_CASE("long poll: waits until the deadline when nothing changes") {
  test::TestServer srv;
  auto c = srv.client();
  const auto start = Clock::now();
  auto r = test::get(c, srv.a, "/v1/changes?wait=300");
  const auto took = Clock::now() - start;
  CHECK(r.status == 200);
  CHECK(nlohmann::json::parse(r.body)["changes"].empty());
  CHECK(took >= std::chrono::milliseconds(250));
  CHECK(took < std::chrono::seconds(3));
}

TEST_CASE("long poll: a push wakes a waiting pull promptly") {
  test::TestServer srv;
  auto c = srv.client();
  const std::string cursor = srv.app().store->epoch() + "-0-0";
  std::thread pusher([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto pc = srv.client();
    test::push(pc, srv.b, {"lp", {test::make_edit(test::uuid7(3, 3), srv.b.actor, 1, {}, R"({"x":1})", {"x"})}});
  });
  const auto start = Clock::now();
  auto r = test::get(c, srv.a, "/v1/changes?wait=20000&since=" + cursor);
  const auto took = Clock::now() - start;
  pusher.join();
  CHECK(r.status == 200);
  CHECK(nlohmann::json::parse(r.body)["changes"].size() == 1);
  CHECK(took < std::chrono::seconds(5));
}

TEST_CASE("long poll: stopping the server answers waiting pulls instead of hanging") {
  auto srv = std::make_unique<test::TestServer>();
  auto c = srv->client();
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    srv->stop();
  });
  const auto start = Clock::now();
  auto r = c.request("GET", "/v1/changes?wait=30000", {}, srv->a.auth());
  stopper.join();
  CHECK(Clock::now() - start < std::chrono::seconds(10));
  if (r.ok()) CHECK(r->status == 200);
}

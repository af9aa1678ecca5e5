// GET /readyz (README "Operating aktsync"): ready when the database answers, its migrations are done and
// the data folder's disk has the configured free space; 503 with the failing check otherwise.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "tests/support/test_server.hpp"

using namespace akt;
using nlohmann::json;

TEST_CASE("readyz: ready with database, migrations and disk space, 503 naming the check that fails") {
  test::TestServer srv;
  auto c = srv.client();
  auto r = c.request("GET", "/readyz");
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  auto j = json::parse(r->body);
  CHECK(j["status"] == "ready");
  CHECK(j["checks"] == json{{"database", "ok"}, {"migrations", "ok"}, {"disk", "ok"}});

  // A threshold no disk meets: not ready, and the answer says why.
  srv.app().config.ready_min_free_disk_bytes = ~std::uint64_t{0};
  r = c.request("GET", "/readyz");
  REQUIRE(r.ok());
  CHECK(r->status == 503);
  j = json::parse(r->body);
  CHECK(j["status"] == "not_ready");
  CHECK(j["checks"]["disk"] == "low");
  CHECK(j["checks"]["database"] == "ok");

  auto post = c.request("POST", "/readyz", "{}", {{"Content-Type", "application/json"}});
  REQUIRE(post.ok());
  CHECK(post->status == 405);
}

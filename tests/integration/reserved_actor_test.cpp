// Actors that already stand for history are never given to a tablet (DESIGN §6, SECURITY.md §3.1): an
// actor named only in the context of a stored edit (it never wrote a version here, e.g. a device whose
// edits were lost in a restore) is in a clock, and enrolling a tablet under it would make that tablet's
// first edits look already seen. Real server on loopback.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "schema/store/db.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;
using nlohmann::json;
using test::bearer;

namespace {

const std::string kPw = "correct horse battery";

}  // namespace

TEST_CASE("enrolment refuses an actor named only in the context of a stored edit") {
  test::TestServer srv({}, {}, false, false);
  srv.create_user("root", "admin", kPw);
  srv.create_user("enis", "enumerator", kPw, {{"*", "*", "*", "*"}});
  const std::string admin = srv.login("root", kPw);
  auto c = srv.client();
  const std::string record = test::uuid7(1700000000000, 9);
  const std::string ghost = test::uuid_n(0x6a05);  // never enrolled, never wrote a version here
  const sync::Edit e0 = test::make_edit(record, srv.a.actor, 1, {}, R"({"x":1})", {"x"});
  sync::VectorClock ctx = e0.clock();
  ctx.advance(ghost, 3);
  const sync::Edit e1 = test::make_edit(record, srv.a.actor, 2, ctx, R"({"x":2})", {"x"});
  for (const auto& [batch, e] : {std::pair{"p1", e0}, std::pair{"p2", e1}}) {
    auto r = test::push(c, srv.a, {batch, {e}});
    REQUIRE_MESSAGE(r.status == 200, r.body);
    REQUIRE(json::parse(r.body)["results"][0]["outcome"] == "applied");
  }
  auto issued = c.request("POST", "/v1/admin/enrolments", json{{"username", "enis"}, {"device_name", "t"}}.dump(),
                          bearer(admin));
  REQUIRE(issued->status == 201);
  const std::string code = json::parse(issued->body)["code"].get<std::string>();
  // Also written in capitals: the same actor.
  std::string upper = ghost;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  for (const std::string& actor : {ghost, upper}) {
    auto r = c.request("POST", "/v1/enrol", json{{"code", code}, {"actor", actor}}.dump(),
                       {{"Content-Type", "application/json"}});
    CHECK_MESSAGE(r->status == 409, actor << ": " << r->body);
    CHECK(json::parse(r->body)["code"] == "actor_reserved");
  }
  // The code stays valid for a fresh actor.
  auto ok = c.request("POST", "/v1/enrol", json{{"code", code}, {"actor", test::uuid_n(0x6a06)}}.dump(),
                      {{"Content-Type", "application/json"}});
  CHECK_MESSAGE(ok->status == 201, ok->body);
}

TEST_CASE("enrolment refuses an actor named in a context stored before the server tracked them (migration 13)") {
  test::TempDir dir;
  const std::string ghost = test::uuid_n(0x6a07);
  {
    test::TestServer srv({}, dir.path(), false, false);
    srv.create_user("root", "admin", kPw);
    srv.create_user("enis", "enumerator", kPw, {{"*", "*", "*", "*"}});
    auto c = srv.client();
    const std::string record = test::uuid7(1700000000000, 10);
    const sync::Edit e0 = test::make_edit(record, srv.a.actor, 1, {}, R"({"x":1})", {"x"});
    sync::VectorClock ctx = e0.clock();
    ctx.advance(ghost, 2);
    auto r = test::push(c, srv.a, {"p", {e0, test::make_edit(record, srv.a.actor, 2, ctx, R"({"x":2})", {"x"})}});
    REQUIRE_MESSAGE(r.status == 200, r.body);
    // As a database written before migration 13 looks (and so before 14, the feed's index, 15, the
    // quarantine's arguments, and 16, the versions' scopes).
    REQUIRE(srv.sqlite().write([](store::Db& db, std::int64_t&) {
      return db.exec("DROP TABLE clock_actors; DROP INDEX versions_live_by_record; "
                     "CREATE INDEX versions_by_record ON versions(record_id, is_live); "
                     "ALTER TABLE quarantine DROP COLUMN args; ALTER TABLE versions DROP COLUMN municipality; "
                     "ALTER TABLE versions DROP COLUMN community; ALTER TABLE versions DROP COLUMN component; "
                     "PRAGMA user_version = 12;");
    }).ok());
  }
  test::TestServer srv({}, dir.path(), false, false);  // migrates: the stored clocks fill the table
  const std::string admin = srv.login("root", kPw);
  auto c = srv.client();
  auto issued = c.request("POST", "/v1/admin/enrolments", json{{"username", "enis"}, {"device_name", "t"}}.dump(),
                          bearer(admin));
  REQUIRE(issued->status == 201);
  auto r = c.request("POST", "/v1/enrol", json{{"code", json::parse(issued->body)["code"]}, {"actor", ghost}}.dump(),
                     {{"Content-Type", "application/json"}});
  CHECK_MESSAGE(r->status == 409, r->body);
  CHECK(json::parse(r->body)["code"] == "actor_reserved");
}

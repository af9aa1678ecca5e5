// A record's scope follows its body through every way a body changes (DESIGN §6, PROTOCOL §4.4): a held
// `municipality` change accepted from the inbox moves the record, and the feeds of the municipality it left
// and of the one it joined agree with the body; a change that was only held moves nothing, not even the
// out-of-scope markers. Real server on loopback, the programme's form published, validation on.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "sync/wire_json.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"

using namespace akt;
using nlohmann::json;
using test::bearer;

namespace {

const std::string kPw = "correct horse battery";

// Novo Brdo's and Prizren's enumerators with a tablet each, an admin, a Novo Brdo supervisor, and one
// Form B monitoring record in Novo Brdo pushed by the static device `a`.
struct Towns {
  test::TestServer srv{{}, {}, false, true};
  client::HttpClient c = srv.client();
  std::string admin;
  test::Device nb, pz;
  std::string rec = test::uuid7(1700000000000, 4242);
  json base = json::parse(test::read_text_file(std::string(AKT_SOURCE_DIR) +
                                               "/tests/schema/fixtures/so1_infra_monitoring.valid.json"));
  sync::Edit e0;

  Towns() {
    srv.create_user("root", "admin", kPw);
    srv.create_user("nbe", "enumerator", kPw, {{"novoberde", "*", "*", "*"}});
    srv.create_user("pze", "enumerator", kPw, {{"prizren", "*", "*", "*"}});
    srv.create_user("nbs", "supervisor", kPw, {{"novoberde", "*", "*", "*"}});
    admin = srv.login("root", kPw);
    const std::string def =
        test::read_text_file(std::string(AKT_SOURCE_DIR) + "/schema/forms/programme/so1_infra_monitoring.json");
    const json d = json::parse(def);
    auto up = c.request("POST", "/v1/admin/forms", def, bearer(admin));
    REQUIRE_MESSAGE(up->status == 201, up->body);
    auto pub = c.request("POST", "/v1/admin/forms/" + d["form_id"].get<std::string>() + "/" +
                                     std::to_string(d["version"].get<int>()) + "/publish",
                         "{}", bearer(admin));
    REQUIRE_MESSAGE(pub->status == 200, pub->body);
    nb = srv.enrol(admin, "nbe", "tablet-nb");
    pz = srv.enrol(admin, "pze", "tablet-pz");
    REQUIRE(base["municipality"] == "novoberde");
    e0 = edit(srv.a, 1, {}, base, {});
    REQUIRE(push(srv.a, e0, "b0")["outcome"] == "applied");
  }
  sync::Edit edit(const test::Device& dev, std::int64_t n, const sync::VectorClock& ctx, const json& body,
                  std::vector<std::string> changed) {
    sync::Edit e = test::make_edit(rec, dev.actor, n, ctx, body.dump(), std::move(changed));
    e.scope.municipality = body["municipality"].get<std::string>();  // the scope follows the body
    return e;
  }
  json push(const test::Device& dev, const sync::Edit& e, const std::string& batch) {
    auto r = test::push(c, dev, {batch, {e}});
    REQUIRE_MESSAGE(r.status == 200, r.body);
    return json::parse(r.body)["results"][0];
  }
  json record_as_admin() {
    auto r = c.request("GET", "/v1/records/" + rec, {}, bearer(admin));
    REQUIRE(r->status == 200);
    return json::parse(r->body);
  }
  // One page of a device's feed from `cursor` ("" from the start); `cursor` moves to its end.
  json pull(const test::Device& d, std::string& cursor) {
    auto r = test::get(c, d, "/v1/changes" + (cursor.empty() ? std::string() : "?since=" + cursor));
    REQUIRE_MESSAGE(r.status == 200, r.body);
    const json page = json::parse(r.body);
    cursor = page["next"].get<std::string>();
    return page["changes"];
  }
  // The tablet `srv.a` moves the record to Prizren: `municipality` is admin-only, so the change is held.
  json held_move() {
    json moved = base;
    moved["municipality"] = "prizren";
    const json r = push(srv.a, edit(srv.a, 2, e0.clock(), moved, {"municipality"}), "move");
    REQUIRE(r["held"]["kind"] == "permission");
    auto list = c.request("GET", "/v1/admin/conflicts?kind=permission", {}, bearer(admin));
    REQUIRE(list->status == 200);
    const json entries = json::parse(list->body)["entries"];
    REQUIRE(entries.size() == 1);
    return entries[0];
  }
};

}  // namespace

TEST_CASE("scope follows the body: a held municipality change moves nothing, not even out-of-scope markers") {
  Towns t;
  std::string nb_cursor, pz_cursor;
  REQUIRE(t.pull(t.nb, nb_cursor).size() == 1);
  CHECK(t.pull(t.pz, pz_cursor).empty());
  t.held_move();
  const json rec = t.record_as_admin();
  CHECK(rec["scope"]["municipality"] == "novoberde");
  CHECK(rec["live"][0]["body"]["municipality"] == "novoberde");
  // Prizren's tablet learns nothing of a record that never was in Prizren: no marker, no record.
  std::string from_start;
  CHECK_MESSAGE(t.pull(t.pz, from_start).empty(), "a Prizren tablet was told of a Novo Brdo record");
  CHECK(t.pull(t.pz, pz_cursor).empty());
  // Novo Brdo's tablet still has it, in Novo Brdo.
  const json nb_changes = t.pull(t.nb, nb_cursor);
  for (const json& ch : nb_changes) {
    CHECK_FALSE(ch.contains("out_of_scope"));
    CHECK(ch["scope"]["municipality"] == "novoberde");
  }
  CHECK(test::get(t.c, t.nb, "/v1/records/" + t.rec).status == 200);
  CHECK(test::get(t.c, t.pz, "/v1/records/" + t.rec).status == 404);
}

TEST_CASE("scope follows the body: an admin accepting a held municipality change moves the record") {
  Towns t;
  std::string nb_cursor, pz_cursor;
  REQUIRE(t.pull(t.nb, nb_cursor).size() == 1);
  CHECK(t.pull(t.pz, pz_cursor).empty());
  const json entry = t.held_move();
  CHECK(t.pull(t.nb, nb_cursor).size() <= 1);  // the held change (a server version keeping Novo Brdo)
  auto ok = t.c.request("POST", "/v1/admin/conflicts/" + std::to_string(entry["id"].get<int>()) + "/resolve",
                        json{{"seen", t.record_as_admin()["live"][0]["clock"]}, {"action", "accept"}}.dump(),
                        bearer(t.admin));
  REQUIRE_MESSAGE(ok->status == 200, ok->body);
  CHECK(json::parse(ok->body)["closed"] == true);
  const json rec = t.record_as_admin();
  CHECK(rec["live"][0]["body"]["municipality"] == "prizren");
  CHECK(rec["scope"]["municipality"] == "prizren");
  // The tablet of the municipality it left is told so; the one it joined gets it with the new scope.
  const json nb_changes = t.pull(t.nb, nb_cursor);
  REQUIRE(nb_changes.size() == 1);
  CHECK(nb_changes[0].value("out_of_scope", false) == true);
  CHECK_FALSE(nb_changes[0].contains("live"));
  const json pz_changes = t.pull(t.pz, pz_cursor);
  REQUIRE(pz_changes.size() == 1);
  CHECK_FALSE(pz_changes[0].contains("out_of_scope"));
  CHECK(pz_changes[0]["scope"]["municipality"] == "prizren");
  CHECK(pz_changes[0]["live"][0]["body"]["municipality"] == "prizren");
  CHECK(test::get(t.c, t.nb, "/v1/records/" + t.rec).status == 404);
  CHECK(test::get(t.c, t.pz, "/v1/records/" + t.rec).status == 200);
}

TEST_CASE("scope follows the body: a supervisor may not accept a move out of their scope") {
  // Moving a record needs a user whose scope covers both municipalities (SECURITY.md §2): a Novo Brdo
  // supervisor sees the held move but accepting it would put the record where they may not write.
  Towns t;
  const json entry = t.held_move();
  const std::string sup = t.srv.login("nbs", kPw);
  auto seen = t.record_as_admin()["live"][0]["clock"];
  auto r = t.c.request("POST", "/v1/admin/conflicts/" + std::to_string(entry["id"].get<int>()) + "/resolve",
                       json{{"seen", seen}, {"action", "accept"}}.dump(), bearer(sup));
  CHECK_MESSAGE(r->status == 403, r->body);
  CHECK(json::parse(r->body)["code"] == "out_of_scope");
  const json rec = t.record_as_admin();
  CHECK(rec["scope"]["municipality"] == "novoberde");
  CHECK(rec["live"][0]["body"]["municipality"] == "novoberde");
  // Rejecting it keeps the record where it is and is theirs to do.
  auto rej = t.c.request("POST", "/v1/admin/conflicts/" + std::to_string(entry["id"].get<int>()) + "/resolve",
                         json{{"seen", seen}, {"action", "reject"}}.dump(), bearer(sup));
  CHECK_MESSAGE(rej->status == 200, rej->body);
}

TEST_CASE("scope follows the merge: a move to another community survives a concurrent edit from the old one") {
  // Form B has no `community` field: that scope member is what each edit carries. Novo Brdo's enumerator
  // moves the record from the Serb community to the Albanian one; the tablet `b`, concurrently (made on
  // the version before the move), edits it from the Serb community. In either arrival order the merged
  // record is in the Albanian community (PROTOCOL §4.4), and a tablet whose scope is only the Serb
  // community is told it left.
  for (const bool move_first : {true, false}) {
    CAPTURE(move_first);
    Towns t;
    t.srv.create_user("serbs", "enumerator", kPw, {{"novoberde", "serb", "*", "*"}});
    const test::Device serbs = t.srv.enrol(t.admin, "serbs", "tablet-serb");
    REQUIRE(t.e0.scope.community == "serb");
    std::string cursor;
    REQUIRE(t.pull(serbs, cursor).size() == 1);
    sync::Edit move = t.edit(t.nb, 1, t.e0.clock(), t.base, {});
    move.scope.community = "albanian";
    json edited = t.base;
    edited["pct_complete"] = 70;
    const sync::Edit edit = t.edit(t.srv.b, 1, t.e0.clock(), edited, {"pct_complete"});
    const json first = move_first ? t.push(t.nb, move, "move") : t.push(t.srv.b, edit, "edit");
    REQUIRE_MESSAGE(first["outcome"] == "applied", first.dump());
    const json second = move_first ? t.push(t.srv.b, edit, "edit") : t.push(t.nb, move, "move");
    REQUIRE_MESSAGE(second["outcome"] == "merged", second.dump());
    const json rec = t.record_as_admin();
    CHECK(rec["scope"]["community"] == "albanian");
    CHECK(rec["scope"]["municipality"] == "novoberde");
    CHECK(rec["live"][0]["body"]["pct_complete"] == 70);
    const json changes = t.pull(serbs, cursor);
    REQUIRE(changes.size() == 1);
    CHECK(changes[0].value("out_of_scope", false) == true);
    CHECK_FALSE(changes[0].contains("live"));
    CHECK(test::get(t.c, serbs, "/v1/records/" + t.rec).status == 404);
  }
}

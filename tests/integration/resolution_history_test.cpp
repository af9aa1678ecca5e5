// Resolutions from stale views, and the audit trail of a record (PROTOCOL §4.2, §6.1, §11.5): a
// resolution from a view older than the admin's own earlier one is stale_resolution like every stale
// view; GET /v1/records/{id}/history lists every stored version with its author, scoped and redacted
// like the record itself; the push answer names the inbox entries it opened or extended and the merged
// version. Real server on loopback.
#include <doctest/doctest.h>

#include <random>

#include <nlohmann/json.hpp>

#include "clients/record_gen.hpp"
#include "sync/wire_json.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"

using namespace akt;
using nlohmann::json;

namespace {

const std::string kPw = "correct horse battery";
using test::bearer;

// Two tablets of two enumerators edit both fields of a card concurrently: two field entries open.
struct TwoEntries {
  test::TestServer srv;
  client::HttpClient c = srv.client();
  std::string admin, rec = test::uuid7(1700000000000, 9);
  test::Device t1, t2;
  sync::Edit base, e1, e2;
  json merged_answer;  // T2's push answer: the merge
  TwoEntries() {
    srv.create_user("root", "admin", kPw);
    srv.create_user("enis", "enumerator", kPw, {{"gracanice", "*", "*", "*"}});
    srv.create_user("ana", "enumerator", kPw, {{"gracanice", "*", "*", "*"}});
    admin = srv.login("root", kPw);
    t1 = srv.enrol(admin, "enis", "tablet-enis");
    t2 = srv.enrol(admin, "ana", "tablet-ana");
    base = test::make_edit(rec, t1.actor, 1, {}, R"({"pct_complete":60,"status":"in_progress"})",
                           {"pct_complete", "status"});
    base.device_time = 1475280000000;
    REQUIRE(answer(t1, base, "base")["outcome"] == "applied");
    e1 = test::make_edit(rec, t1.actor, 2, base.clock(), R"({"pct_complete":75,"status":"completed"})",
                         {"pct_complete", "status"});
    e2 = test::make_edit(rec, t2.actor, 1, base.clock(), R"({"pct_complete":70,"status":"suspended"})",
                         {"pct_complete", "status"});
    REQUIRE(answer(t1, e1, "e1")["outcome"] == "applied");
    merged_answer = answer(t2, e2, "e2");
    REQUIRE(merged_answer["outcome"] == "merged");
  }
  json answer(const test::Device& dev, const sync::Edit& e, const std::string& batch) {
    auto r = test::push(c, dev, {batch, {e}});
    REQUIRE_MESSAGE(r.status == 200, r.body);
    return json::parse(r.body)["results"][0];
  }
  json open_entries() {
    auto r = c.request("GET", "/v1/admin/conflicts", {}, bearer(admin));
    REQUIRE(r->status == 200);
    return json::parse(r->body)["entries"];
  }
  std::int64_t entry_id(const std::string& path) {
    for (const auto& e : open_entries())
      if (e["path"] == path) return e["id"].get<std::int64_t>();
    FAIL("no open entry for " << path);
    return 0;
  }
  json seen_now() {
    auto r = test::get(c, srv.a, "/v1/records/" + rec);
    REQUIRE(r.status == 200);
    return json::parse(r.body)["live"][0]["clock"];
  }
  client::HttpResult resolve(std::int64_t id, const json& body) {
    auto r = c.request("POST", "/v1/admin/conflicts/" + std::to_string(id) + "/resolve", body.dump(), bearer(admin));
    REQUIRE(r.ok());
    return *r;
  }
  json history(const std::string& token, const std::string& id) {
    auto r = c.request("GET", "/v1/records/" + id + "/history", {}, bearer(token));
    REQUIRE(r.ok());
    REQUIRE_MESSAGE(r->status == 200, r->body);
    return json::parse(r->body);
  }
};

}  // namespace

TEST_CASE("stale resolution: a view older than the admin's own earlier resolution is stale_resolution") {
  TwoEntries w;
  const json old_view = w.seen_now();
  const std::int64_t pct = w.entry_id("pct_complete"), status = w.entry_id("status");
  auto first = w.resolve(pct, {{"seen", old_view}, {"value", 72}});
  REQUIRE_MESSAGE(first.status == 200, first.body);
  // The second entry resolved from the same (now older) view, e.g. from a second console tab.
  auto second = w.resolve(status, {{"seen", old_view}, {"value", "completed"}});
  CHECK(second.status == 409);
  CHECK_MESSAGE(json::parse(second.body)["code"] == "stale_resolution", second.body);
  CHECK(second.header("content-type").find("application/problem+json") != std::string::npos);
  // Nothing of it was stored: no quarantined edit, the entry still open, the record as the first resolution left it.
  auto q = w.c.request("GET", "/v1/admin/quarantine", {}, bearer(w.admin));
  CHECK(json::parse(q->body)["entries"].empty());
  CHECK(w.entry_id("status") == status);
  // Looking again and resolving from the current view works.
  auto third = w.resolve(status, {{"seen", w.seen_now()}, {"value", "completed"}});
  CHECK_MESSAGE(third.status == 200, third.body);
  CHECK(w.open_entries().empty());
}

TEST_CASE("history: every version with dot, clock, parents, changed, author and times, pushes name entries") {
  TwoEntries w;
  // The merge's answer names the two entries it opened and the merged version.
  const std::int64_t pct = w.entry_id("pct_complete"), status = w.entry_id("status");
  CHECK(w.merged_answer["entries"] == json::array({std::min(pct, status), std::max(pct, status)}));
  REQUIRE(w.merged_answer.contains("version"));
  const json merged_dot = w.merged_answer["version"];
  CHECK(merged_dot["actor"] != w.t1.actor);
  CHECK(merged_dot["actor"] != w.t2.actor);
  CHECK(w.merged_answer["conflicts"] == json::array({"pct_complete", "status"}));
  // An applied edit that opens nothing names no entries and no version.
  sync::Edit quiet = test::make_edit(w.rec, w.t1.actor, 3, *sync::decode_clock(w.seen_now().dump()),
                                     R"({"pct_complete":75,"status":"completed","works_quality":"good"})",
                                     {"works_quality"});
  json qa = w.answer(w.t1, quiet, "quiet");
  CHECK(qa["outcome"] == "applied");
  CHECK_FALSE(qa.contains("entries"));
  CHECK_FALSE(qa.contains("version"));
  // A tablet that edits a flagged field extends its entry: the answer names it.
  sync::Edit more = test::make_edit(w.rec, w.t2.actor, 2, *sync::decode_clock(w.seen_now().dump()),
                                    R"({"pct_complete":80,"status":"completed","works_quality":"good"})",
                                    {"pct_complete"});
  json ma = w.answer(w.t2, more, "more");
  CHECK(ma["outcome"] == "applied");
  CHECK(ma["entries"] == json::array({pct}));
  // The admin resolves one entry; the history shows who wrote what.
  REQUIRE(w.resolve(pct, {{"seen", w.seen_now()}, {"value", 78}}).status == 200);

  json h = w.history(w.admin, w.rec);
  CHECK(h["record"] == w.rec);
  CHECK(h["form"] == "so1_infra_monitoring");
  const json& v = h["versions"];
  REQUIRE(v.size() == 7);  // base, e1, e2, the merge, quiet, more, the resolution (a fast-forward)
  auto at = [&](std::size_t i) -> const json& { return v[i]; };
  CHECK(at(0)["dot"] == json{{"actor", w.t1.actor}, {"n", 1}});
  CHECK(at(0)["clock"] == json{{w.t1.actor, 1}});
  CHECK(at(0)["parents"] == json::array());
  CHECK(at(0)["changed"] == json::array({"pct_complete", "status"}));
  CHECK(at(0)["author"] == json{{"actor", w.t1.actor}, {"kind", "device"}, {"device", "tablet-enis"}, {"user", "enis"}});
  CHECK(at(0)["device_time"] == 1475280000000);
  CHECK(at(0)["server_time"].get<std::int64_t>() > 0);
  CHECK(at(0)["live"] == false);
  CHECK(at(0)["body"] == json{{"pct_complete", 60}, {"status", "in_progress"}});
  CHECK(at(2)["author"]["user"] == "ana");
  CHECK(at(2)["author"]["device"] == "tablet-ana");
  // The merge: by the server, its parents the two sides, its id the one the push answer named.
  CHECK(at(3)["dot"] == merged_dot);
  CHECK(at(3)["author"]["kind"] == "server");
  CHECK(at(3)["parents"] == json::array({json{{"actor", w.t1.actor}, {"n", 2}}, json{{"actor", w.t2.actor}, {"n", 1}}}));
  CHECK(at(3)["clock"][w.t1.actor] == 2);
  CHECK(at(3)["clock"][w.t2.actor] == 1);
  // The resolution: by the admin's replica, attributed to the admin; the only live version.
  const json& last = v.back();
  CHECK(last["author"]["kind"] == "resolver");
  CHECK(last["author"]["user"] == "root");
  CHECK(last["changed"] == json::array({"pct_complete"}));
  CHECK(last["body"]["pct_complete"] == 78);
  CHECK(last["live"] == true);
  int live = 0;
  for (const auto& x : v) live += x["live"].get<bool>() ? 1 : 0;
  CHECK(live == 1);
}

TEST_CASE("history: scoped and redacted exactly as the record endpoint") {
  test::TestServer srv{{}, {}, false, true};
  client::HttpClient c = srv.client();
  srv.create_user("root", "admin", kPw);
  srv.create_user("mira", "me_officer", kPw);
  srv.create_user("pera", "enumerator", kPw, {{"no_such_municipality", "*", "*", "*"}});
  const std::string admin = srv.login("root", kPw), me = srv.login("mira", kPw), pera = srv.login("pera", kPw);
  REQUIRE(c.request("POST", "/v1/admin/forms",
                    test::read_text_file(std::string(AKT_SOURCE_DIR) + "/schema/forms/programme/so1_interethnic_survey.json"),
                    bearer(admin))->status == 201);
  REQUIRE(c.request("POST", "/v1/admin/forms/so1_interethnic_survey/1/publish", "{}", bearer(admin))->status == 200);
  std::mt19937_64 rng(5);
  client::GeneratedRecord g = client::generate_survey_record(rng);
  json body = json::parse(g.body);
  sync::Edit e = test::make_edit(client::new_record_id(1700000000000, rng), srv.a.actor, 1, {}, body.dump(), g.changed);
  e.form_id = "so1_interethnic_survey";
  e.scope = g.scope;
  auto pushed = json::parse(test::push(c, srv.a, {"s-1", {e}}).body)["results"][0];
  REQUIRE_MESSAGE(pushed["outcome"] == "applied", pushed.dump());
  json later = body;
  later["comments"] = "Second visit.";
  sync::Edit e2 = test::make_edit(e.record_id, srv.a.actor, 2, e.clock(), later.dump(), {"comments"});
  e2.form_id = e.form_id;
  e2.scope = e.scope;
  REQUIRE(json::parse(test::push(c, srv.a, {"s-2", {e2}}).body)["results"][0]["outcome"] == "applied");

  auto both = [&](const std::string& token, const std::string& id) {
    auto rec = c.request("GET", "/v1/records/" + id, {}, bearer(token));
    auto hist = c.request("GET", "/v1/records/" + id + "/history", {}, bearer(token));
    REQUIRE(rec.ok());
    REQUIRE(hist.ok());
    return std::make_pair(*rec, *hist);
  };
  // The M&E officer (no special-category grant) gets every version's body redacted as the record endpoint
  // redacts the live one; the admin gets them whole.
  auto [me_rec, me_hist] = both(me, e.record_id);
  REQUIRE(me_rec.status == 200);
  REQUIRE(me_hist.status == 200);
  const json me_versions = json::parse(me_hist.body)["versions"];
  REQUIRE(me_versions.size() == 2);
  CHECK(me_versions[1]["body"] == json::parse(me_rec.body)["live"][0]["body"]);
  auto [ad_rec, ad_hist] = both(admin, e.record_id);
  const json ad_versions = json::parse(ad_hist.body)["versions"];
  CHECK(ad_versions[1]["body"] == json::parse(ad_rec.body)["live"][0]["body"]);
  CHECK(ad_versions[1]["body"] == later);
  CHECK(me_versions[1]["body"] != ad_versions[1]["body"]);  // redaction did happen
  for (const auto& x : me_versions) {
    CHECK_FALSE(x["body"].contains("backcheck_phone"));
    CHECK(x["body"]["resp_community"] != body["resp_community"]);
  }
  // Outside the caller's scope: the same answer as the record endpoint (not revealing that it exists).
  auto [out_rec, out_hist] = both(pera, e.record_id);
  CHECK(out_rec.status == 404);
  CHECK(out_hist.status == 404);
  CHECK(json::parse(out_hist.body)["code"] == json::parse(out_rec.body)["code"]);
  CHECK(json::parse(out_hist.body)["code"] == "record_not_found");
  const std::string unknown = test::uuid7(1600000000000, 1);
  auto [no_rec, no_hist] = both(admin, unknown);
  CHECK(no_hist.status == 404);
  CHECK(json::parse(no_hist.body)["detail"] == json::parse(no_rec.body)["detail"]);
  auto bad = c.request("GET", "/v1/records/not-a-uuid/history", {}, bearer(admin));
  CHECK(bad->status == 400);
  CHECK(json::parse(bad->body)["code"] == "invalid_record_id");
  CHECK(c.request("POST", "/v1/records/" + e.record_id + "/history", "{}", bearer(admin))->status == 405);
}

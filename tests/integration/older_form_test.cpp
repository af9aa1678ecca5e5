// Tablets on an older form version edit records a newer version wrote (PROTOCOL §4.4, FORMS.md §5.1):
// the edit applies whether it sends the newer answers back unchanged or leaves them out, never blanks
// them, and is checked against the version the record ends at; a feed that leaves out the device's own
// versions (skip_own) never leaves out one stored otherwise. Real server on loopback, validation on.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "schema/store/blob_store.hpp"
#include "sync/wire_json.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"

using namespace akt;
using nlohmann::json;

namespace {

const std::string kPw = "correct horse battery";
const std::string kVisit = "0b7e4f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b";  // the fixture's first visit

struct World {
  test::TestServer srv{{}, {}, false, true};
  client::HttpClient c = srv.client();
  std::string admin;
  std::string rec = test::uuid7(1700000000000, 77);
  json v1 = json::parse(test::read_text_file(std::string(AKT_SOURCE_DIR) + "/schema/forms/programme/so1_infra_monitoring.json"));
  json fixture =
      json::parse(test::read_text_file(std::string(AKT_SOURCE_DIR) + "/tests/schema/fixtures/so1_infra_monitoring.valid.json"));
  sync::Edit e0, ev2;  // v1 creation, then the v2 edit that fills the v2-only answers
  json at_v2;          // the body a v1 tablet pulls after ev2

  World() {
    srv.create_user("root", "admin", kPw);
    admin = srv.login("root", kPw);
    publish(v1);
    // Version 2 adds a top-level question and a question inside each visit, and narrows a v1 range.
    json v2 = v1;
    v2["version"] = 2;
    v2["fields"].push_back({{"key", "handover_note"}, {"type", "text"}, {"label", {{"en", "Hand-over remarks"}, {"sq", "Vërejtje për dorëzimin"}, {"sr", "Напомене о примопредаји"}}},
                            {"sensitivity", "-"}});
    for (json& f : v2["fields"]) {
      if (f["key"] == "visit")
        f["fields"].push_back({{"key", "v_weather"}, {"type", "text"}, {"label", {{"en", "Weather"}, {"sq", "Moti"}, {"sr", "Време"}}}, {"sensitivity", "-"}});
      if (f["key"] == "ben_youth") f["range"] = {{"min", 0}, {"max", 300}};
    }
    publish(v2);
    e0 = edit(srv.a, 1, {}, fixture, {});
    REQUIRE(push(srv.a, e0, "create")["outcome"] == "applied");
    at_v2 = fixture;
    at_v2["handover_note"] = "Keys handed to the village council";
    at_v2["visit"][0]["v_weather"] = "dry";
    ev2 = edit(srv.a, 2, e0.clock(), at_v2, {"handover_note", "visit[" + kVisit + "].v_weather"});
    ev2.form_version = 2;
    REQUIRE(push(srv.a, ev2, "v2")["outcome"] == "applied");
  }
  void publish(const json& d) {
    auto up = c.request("POST", "/v1/admin/forms", d.dump(), test::bearer(admin));
    REQUIRE_MESSAGE(up->status == 201, up->body);
    auto pub = c.request("POST", "/v1/admin/forms/so1_infra_monitoring/" + std::to_string(d["version"].get<int>()) +
                                     "/publish", "{}", test::bearer(admin));
    REQUIRE_MESSAGE(pub->status == 200, pub->body);
  }
  json push(const test::Device& dev, const sync::Edit& e, const std::string& batch) {
    auto r = test::push(c, dev, {batch, {e}});
    REQUIRE_MESSAGE(r.status == 200, r.body);
    return json::parse(r.body)["results"][0];
  }
  // An edit filled with form v1 (the tablet has not been upgraded).
  sync::Edit edit(const test::Device& dev, std::int64_t n, const sync::VectorClock& ctx, const json& body,
                  std::vector<std::string> changed) {
    sync::Edit e = test::make_edit(rec, dev.actor, n, ctx, body.dump(), std::move(changed));
    e.form_id = "so1_infra_monitoring";
    e.form_version = 1;
    e.scope = {"novoberde", "serb", "SO1"};
    return e;
  }
  json record() {
    auto r = test::get(c, srv.a, "/v1/records/" + rec);
    REQUIRE(r.status == 200);
    return json::parse(r.body);
  }
  std::size_t quarantined() {
    auto r = c.request("GET", "/v1/admin/quarantine", {}, test::bearer(admin));
    REQUIRE(r->status == 200);
    return json::parse(r->body)["entries"].size();
  }
};

}  // namespace

TEST_CASE("older form: a v1 edit that sends the v2-only answers back unchanged applies and keeps them") {
  World w;
  // Tablet B, still on v1, pulled the v2 version and changes one v1 answer; its body carries what it pulled.
  json body = w.at_v2;
  body["works_quality"] = "poor";
  json r = w.push(w.srv.b, w.edit(w.srv.b, 1, w.ev2.clock(), body, {"works_quality"}), "old-1");
  CHECK_MESSAGE(r["outcome"] == "applied", r.dump());
  CHECK(w.quarantined() == 0);
  json rec = w.record();
  json live = rec["live"][0];
  CHECK(live["dot"]["actor"] == w.srv.b.actor);
  CHECK(live["body"]["works_quality"] == "poor");
  CHECK(live["body"]["handover_note"] == "Keys handed to the village council");
  CHECK(live["body"]["visit"][0]["v_weather"] == "dry");
  // The record ends at the version it was made on: v2, not the tablet's v1.
  CHECK(rec["form_version"] == 2);
  CHECK(live["form_version"] == 2);
  CHECK(live["changed"] == json::array({"works_quality"}));
}

TEST_CASE("older form: a v1 edit that leaves the v2-only answers out does not blank them") {
  World w;
  // Tablet B's app drops the answers its form does not know; it edits a top-level and a visit answer.
  json body = w.fixture;
  body["works_quality"] = "poor";
  body["visit"][0]["v_pct_observed"] = 40;
  const std::string item = "visit[" + kVisit + "].v_pct_observed";
  sync::Edit eb = w.edit(w.srv.b, 1, w.ev2.clock(), body, {"works_quality", item});
  json r = w.push(w.srv.b, eb, "old-1");
  CHECK_MESSAGE(r["outcome"] == "applied", r.dump());
  json live = w.record()["live"][0];
  CHECK(live["body"]["works_quality"] == "poor");
  CHECK(live["body"]["visit"][0]["v_pct_observed"] == 40);
  CHECK(live["body"]["handover_note"] == "Keys handed to the village council");
  CHECK(live["body"]["visit"][0]["v_weather"] == "dry");
  CHECK(live["form_version"] == 2);
  // Sent again in another batch (same content): a duplicate, nothing changes.
  CHECK(w.push(w.srv.b, eb, "old-1-again")["outcome"] == "duplicate");
  // Its next edit builds on the stored version, which holds the v2 answers, and keeps them too.
  json next = body;
  next["pct_complete"] = 70;
  json r2 = w.push(w.srv.b, w.edit(w.srv.b, 2, *sync::decode_clock(live["clock"].dump()), next, {"pct_complete"}),
                   "old-2");
  CHECK(r2["outcome"] == "applied");
  json after = w.record()["live"][0]["body"];
  CHECK(after["pct_complete"] == 70);
  CHECK(after["handover_note"] == "Keys handed to the village council");
  CHECK(after["visit"][0]["v_weather"] == "dry");
}

TEST_CASE("older form: a v1 edit concurrent with a v2 edit merges and blanks nothing") {
  World w;
  // A v2 device changes the note; a v1 tablet, from the same version, changes another answer without it.
  json newer = w.at_v2;
  newer["handover_note"] = "Keys handed to the municipality";
  sync::Edit ea = test::make_edit(w.rec, w.srv.a.actor, 3, w.ev2.clock(), newer.dump(), {"handover_note"});
  ea.form_id = "so1_infra_monitoring";
  ea.form_version = 2;
  ea.scope = {"novoberde", "serb", "SO1"};
  REQUIRE(w.push(w.srv.a, ea, "v2-again")["outcome"] == "applied");
  json body = w.fixture;
  body["works_quality"] = "poor";
  json r = w.push(w.srv.b, w.edit(w.srv.b, 1, w.ev2.clock(), body, {"works_quality"}), "old-1");
  CHECK(r["outcome"] == "merged");
  CHECK(r.value("conflicts", json::array()).empty());
  json rec = w.record();
  CHECK(rec["live"][0]["body"]["handover_note"] == "Keys handed to the municipality");
  CHECK(rec["live"][0]["body"]["visit"][0]["v_weather"] == "dry");
  CHECK(rec["live"][0]["body"]["works_quality"] == "poor");
  CHECK(rec["form_version"] == 2);
}

TEST_CASE("older form: the edit is checked against the version the record ends at, and only pulled answers pass") {
  World w;
  // ben_youth 500 is valid in v1 but outside v2's range: the record is at v2, so the edit is refused.
  json body = w.at_v2;
  body["ben_youth"] = 500;
  json r = w.push(w.srv.b, w.edit(w.srv.b, 1, w.ev2.clock(), body, {"ben_youth"}), "old-range");
  CHECK(r["outcome"] == "rejected");
  CHECK(r["error"]["code"] == "invalid_record");
  CHECK(r["error"]["detail"].get<std::string>().find("v2") != std::string::npos);
  REQUIRE(r["error"]["fields"].size() == 1);
  CHECK(r["error"]["fields"][0]["path"] == "ben_youth");
  CHECK(r["error"]["fields"][0]["code"] == "range");
  CHECK(w.record()["live"][0]["dot"]["actor"] == w.srv.a.actor);  // nothing changed
  // An answer no version of the form defines is refused as before.
  json bogus = w.at_v2;
  bogus["not_a_question"] = 1;
  json r2 = w.push(w.srv.b, w.edit(w.srv.b, 2, w.ev2.clock(), bogus, {"not_a_question"}), "old-bogus");
  CHECK(r2["outcome"] == "rejected");
  CHECK(r2["error"]["fields"][0]["code"] == "unknown_field");
  CHECK(r2["error"]["fields"][0]["path"] == "not_a_question");
  // A v2 answer on a record no v2 version ever wrote was not pulled from anywhere: refused.
  sync::Edit fresh = w.edit(w.srv.b, 3, {}, w.at_v2, {});
  fresh.record_id = test::uuid7(1700000000001, 78);
  json r3 = w.push(w.srv.b, fresh, "old-new-record");
  CHECK(r3["outcome"] == "rejected");
  CHECK(r3["error"]["code"] == "invalid_record");
  CHECK(r3["error"]["fields"].size() == 2);
  CHECK(r3["error"]["fields"][0]["code"] == "unknown_field");
  CHECK(w.quarantined() == 3);
}

TEST_CASE("skip_own: the feed leaves out the device's own versions stored as pushed, never one stored otherwise") {
  World w;
  auto edit_of = [&](const std::string& record, const test::Device& dev, std::int64_t n, const sync::VectorClock& ctx,
                     const json& body) {
    sync::Edit e = w.edit(dev, n, ctx, body, {"pct_complete"});
    e.record_id = record;
    return e;
  };
  const json plain = w.fixture;  // with photo references the server lacks (pending_upload): still left out
  json changed_body = plain;
  changed_body["pct_complete"] = 55;
  // rec2: A's create and A's own later edit of it, both stored exactly as pushed.
  const std::string rec2 = test::uuid7(1700000001000, 2), rec3 = test::uuid7(1700000002000, 3),
                    rec4 = test::uuid7(1700000003000, 4), rec5 = test::uuid7(1700000004000, 5);
  const sync::Edit c2 = edit_of(rec2, w.srv.a, 3, {}, plain);
  REQUIRE(w.push(w.srv.a, c2, "c2")["outcome"] == "applied");
  REQUIRE(w.push(w.srv.a, edit_of(rec2, w.srv.a, 4, c2.clock(), changed_body), "e2")["outcome"] == "applied");
  // rec3: another device's create.
  REQUIRE(w.push(w.srv.b, edit_of(rec3, w.srv.b, 1, {}, plain), "b3")["outcome"] == "applied");
  // rec: A's v1 edit of the v2 record, stored completed with the v2 answers (PROTOCOL §4.4): not as pushed.
  json v1_body = w.fixture;
  v1_body["works_quality"] = "poor";
  const sync::Edit ev3 = w.edit(w.srv.a, 5, w.ev2.clock(), v1_body, {"works_quality"});
  REQUIRE(w.push(w.srv.a, ev3, "v1-edit")["outcome"] == "applied");
  // rec4: A's create, then another device's edit of it (the live version is not A's).
  const sync::Edit c4 = edit_of(rec4, w.srv.a, 6, {}, plain);
  REQUIRE(w.push(w.srv.a, c4, "c4")["outcome"] == "applied");
  REQUIRE(w.push(w.srv.b, edit_of(rec4, w.srv.b, 2, c4.clock(), changed_body), "b4")["outcome"] == "applied");
  // rec5: A's create.
  REQUIRE(w.push(w.srv.a, edit_of(rec5, w.srv.a, 7, {}, plain), "c5")["outcome"] == "applied");
  // rec6: A's create filled with a version not yet published: rejected, then released by an admin once it
  // is. Stored as pushed, but A holds it as rejected: it must come.
  const std::string rec6 = test::uuid7(1700000005000, 6);
  sync::Edit c6 = edit_of(rec6, w.srv.a, 8, {}, plain);
  c6.form_version = 3;
  REQUIRE(w.push(w.srv.a, c6, "c6")["outcome"] == "rejected");
  json v3 = w.v1;
  v3["version"] = 3;
  v3["fields"].push_back({{"key", "handover_note"}, {"type", "text"}, {"label", {{"en", "Hand-over remarks"}, {"sq", "Vërejtje për dorëzimin"}, {"sr", "Напомене о примопредаји"}}},
                          {"sensitivity", "-"}});
  for (json& f : v3["fields"])
    if (f["key"] == "visit")
      f["fields"].push_back({{"key", "v_weather"}, {"type", "text"}, {"label", {{"en", "Weather"}, {"sq", "Moti"}, {"sr", "Време"}}}, {"sensitivity", "-"}});
  w.publish(v3);
  auto q = w.c.request("GET", "/v1/admin/quarantine", {}, test::bearer(w.admin));
  REQUIRE(q->status == 200);
  const std::int64_t entry = json::parse(q->body)["entries"][0]["id"].get<std::int64_t>();
  auto rel = w.c.request("POST", "/v1/admin/quarantine/" + std::to_string(entry) + "/release", "{}", test::bearer(w.admin));
  REQUIRE_MESSAGE(rel->status == 200, rel->body);
  // rec7: A's create, the feed's last record.
  const std::string rec7 = test::uuid7(1700000006000, 7);
  REQUIRE(w.push(w.srv.a, edit_of(rec7, w.srv.a, 9, {}, plain), "c7")["outcome"] == "applied");

  auto page = [&](const std::string& query) {
    auto r = test::get(w.c, w.srv.a, "/v1/changes?compact=2&echo=0" + query);
    REQUIRE_MESSAGE(r.status == 200, r.body);
    return json::parse(r.body);
  };
  auto ids = [](const json& p) {
    std::vector<std::string> out;
    for (const json& e : p["changes"]) out.push_back(e["record"].get<std::string>());
    return out;
  };
  const json all = page("");
  CHECK(ids(all) == std::vector<std::string>{rec2, rec3, w.rec, rec4, rec5, rec6, rec7});
  const json lean = page("&skip_own=1");
  CHECK(ids(lean) == std::vector<std::string>{rec3, w.rec, rec4, rec6});
  CHECK(lean["next"] == all["next"]);  // the cursor passes the records left out, the last one included
  CHECK(lean["more"] == false);
  for (const json& e : lean["changes"]) {
    const json& v = e["live"][0];
    if (e["record"] == w.rec) {
      // A's own version, but the server holds another body than A sent: A learns it (the hash differs).
      CHECK(v["dot"]["n"] == 5);
      REQUIRE(v.contains("body_hash"));
      CHECK(v["body_hash"] != store::sha256_hex_of(ev3.body).substr(0, 16));
    } else if (e["record"] == rec6) {
      CHECK(v["dot"]["n"] == 8);  // released: A's own, as pushed, with its hash (A reads it whole)
      CHECK(v["body_hash"] == store::sha256_hex_of(c6.body).substr(0, 16));
    } else {
      CHECK(v["dot"]["actor"] == w.srv.b.actor);
      CHECK(v.contains("body"));
    }
  }
  // Page by page (one entry each): the same entries, and each cursor passes what was left out before it.
  std::vector<std::string> paged;
  std::string since;
  for (int i = 0; i < 10; ++i) {
    const json p = page("&skip_own=1&limit=1" + (since.empty() ? std::string() : "&since=" + since));
    for (const std::string& id : ids(p)) paged.push_back(id);
    since = p["next"].get<std::string>();
    if (!p["more"].get<bool>()) break;
  }
  CHECK(paged == ids(lean));
  CHECK(since == all["next"]);
  // Not for another device (none of these versions is its own), and only with echo=0.
  auto b_page = json::parse(test::get(w.c, w.srv.b, "/v1/changes?compact=2&echo=0&skip_own=1").body);
  CHECK(ids(b_page) == std::vector<std::string>{rec2, w.rec, rec5, rec6, rec7});  // B's own: rec3, and its edit of rec4
  auto echoed = json::parse(test::get(w.c, w.srv.a, "/v1/changes?compact=2&skip_own=1").body);
  CHECK(ids(echoed) == ids(all));
  CHECK(test::get(w.c, w.srv.a, "/v1/changes?echo=0&skip_own=2").status == 400);
  CHECK(json::parse(test::get(w.c, w.srv.a, "/v1/changes?echo=0&skip_own=yes").body)["code"] == "invalid_skip_own");
}

// The merge with the forms in force (DESIGN §4, conflicts.md): computed fields are recomputed and never
// conflict; a merge of valid sides that breaks a cross-field rule keeps the server's values for the fields
// involved and opens one `semantic` entry (scenario 1b); entries of every kind are resolved over the API
// (semantic, delete_edit confirm/restore, a repeat item's field); a v1 edit never blanks a v2-only field
// (scenario 4). Real server on loopback, forms published, validation on.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "sync/wire_json.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"

using namespace akt;
using nlohmann::json;

namespace {

const std::string kPw = "correct horse battery";

std::string slurp(const std::string& path) { return test::read_text_file(path); }

using test::bearer;

struct World {
  test::TestServer srv{{}, {}, false, true};
  client::HttpClient c = srv.client();
  std::string admin;
  std::string rec = test::uuid7(1700000000000, 42);
  json fixture = json::parse(slurp(std::string(AKT_SOURCE_DIR) + "/tests/schema/fixtures/so1_infra_monitoring.valid.json"));

  World() {
    srv.create_user("root", "admin", kPw);
    admin = srv.login("root", kPw);
    publish(slurp(std::string(AKT_SOURCE_DIR) + "/schema/forms/programme/so1_infra_monitoring.json"));
  }
  void publish(const std::string& definition) {
    const json d = json::parse(definition);
    auto up = c.request("POST", "/v1/admin/forms", definition, bearer(admin));
    REQUIRE_MESSAGE(up->status == 201, up->body);
    auto pub = c.request("POST", "/v1/admin/forms/" + d["form_id"].get<std::string>() + "/" +
                                     std::to_string(d["version"].get<int>()) + "/publish",
                         "{}", bearer(admin));
    REQUIRE_MESSAGE(pub->status == 200, pub->body);
  }
  // Pushes one edit; returns its per-edit answer.
  json push(const test::Device& dev, const sync::Edit& e, const std::string& batch) {
    auto r = test::push(c, dev, {batch, {e}});
    REQUIRE_MESSAGE(r.status == 200, r.body);
    return json::parse(r.body)["results"][0];
  }
  sync::Edit edit(const test::Device& dev, std::int64_t n, const sync::VectorClock& ctx, const json& body,
                  std::vector<std::string> changed, bool deleted = false) {
    sync::Edit e = test::make_edit(rec, dev.actor, n, ctx, deleted ? "{}" : body.dump(), std::move(changed));
    e.deleted = deleted;
    // A record's scope follows its body (PROTOCOL §4.4 scope_mismatch).
    const json& scoped = body.is_object() && body.contains("municipality") ? body : fixture;  // a delete: the record's
    if (scoped.is_object() && scoped.contains("municipality") && scoped["municipality"].is_string())
      e.scope.municipality = scoped["municipality"].get<std::string>();
    return e;
  }
  json record() {
    auto r = test::get(c, srv.a, "/v1/records/" + rec);
    REQUIRE(r.status == 200);
    return json::parse(r.body);
  }
  json live_body() { return record()["live"][0]["body"]; }
  json entries(const std::string& kind = "") {
    auto r = c.request("GET", "/v1/admin/conflicts" + (kind.empty() ? std::string() : "?kind=" + kind), {},
                       bearer(admin));
    REQUIRE(r->status == 200);
    return json::parse(r->body)["entries"];
  }
  json entry(std::int64_t id) {
    auto r = c.request("GET", "/v1/admin/conflicts/" + std::to_string(id), {}, bearer(admin));
    REQUIRE(r->status == 200);
    return json::parse(r->body)["entry"];
  }
  client::HttpResult resolve(std::int64_t id, const json& body) {
    auto r = c.request("POST", "/v1/admin/conflicts/" + std::to_string(id) + "/resolve", body.dump(), bearer(admin));
    REQUIRE(r.ok());
    return *r;
  }
};

int sum_beneficiaries(const json& b) {
  int n = 0;
  for (const char* k : {"ben_albanian", "ben_serb", "ben_bosniak", "ben_turkish", "ben_roma", "ben_ashkali",
                        "ben_egyptian", "ben_gorani", "ben_montenegrin", "ben_croat", "ben_other"})
    if (b.contains(k) && b[k].is_number()) n += b[k].get<int>();
  return n;
}

}  // namespace

TEST_CASE("merge rules: a computed field is recomputed after a merge and never conflicts (scenario 1)") {
  World w;
  json base = w.fixture;
  sync::Edit e0 = w.edit(w.srv.a, 1, {}, base, {});
  REQUIRE(w.push(w.srv.a, e0, "b0")["outcome"] == "applied");
  json a = base, b = base;
  a["ben_serb"] = base["ben_serb"].get<int>() + 5;
  a["ben_total"] = sum_beneficiaries(a);
  b["ben_roma"] = base["ben_roma"].get<int>() + 7;
  b["ben_total"] = sum_beneficiaries(b);
  REQUIRE(w.push(w.srv.a, w.edit(w.srv.a, 2, e0.clock(), a, {"ben_serb", "ben_total"}), "a")["outcome"] == "applied");
  json r = w.push(w.srv.b, w.edit(w.srv.b, 1, e0.clock(), b, {"ben_roma", "ben_total"}), "b");
  CHECK(r["outcome"] == "merged");
  CHECK(r.value("conflicts", json::array()).empty());
  json merged = w.live_body();
  CHECK(merged["ben_serb"] == a["ben_serb"]);
  CHECK(merged["ben_roma"] == b["ben_roma"]);
  CHECK(merged["ben_total"] == base["ben_total"].get<int>() + 12);
  CHECK(w.entries().empty());
}

TEST_CASE("merge rules: disjoint edits that break a cross-field rule open one semantic entry (scenario 1b)") {
  World w;
  json base = w.fixture;
  base["pct_complete"] = 100;
  sync::Edit e0 = w.edit(w.srv.a, 1, {}, base, {});
  REQUIRE(w.push(w.srv.a, e0, "b0")["outcome"] == "applied");
  // T1 finds defects: 95 %. T2 records the hand-over (completed, actual_end) and a joint-committee meeting.
  json t1 = base, t2 = base;
  t1["pct_complete"] = 95;
  t2["status"] = "completed";
  t2["actual_end"] = "2016-10-20";
  t2["maintenance_agreement"] = "written";
  t2["jc_meetings"] = base["jc_meetings"].get<int>() + 1;
  REQUIRE(w.push(w.srv.a, w.edit(w.srv.a, 2, e0.clock(), t1, {"pct_complete"}), "t1")["outcome"] == "applied");
  json r = w.push(w.srv.b, w.edit(w.srv.b, 1, e0.clock(), t2, {"status", "actual_end", "maintenance_agreement", "jc_meetings"}), "t2");
  INFO(r.dump());
  CHECK(r["outcome"] == "merged");
  CHECK(r["conflicts"] == json::array({"actual_end", "maintenance_agreement", "pct_complete", "status"}));

  // Never stored invalid: the involved fields keep the server's values; the rest merged.
  json rec = w.record();
  json body = rec["live"][0]["body"];
  CHECK(body["status"] == "in_progress");
  CHECK(body["pct_complete"] == 95);
  CHECK_FALSE(body.contains("actual_end"));
  CHECK_FALSE(body.contains("maintenance_agreement"));
  CHECK(body["jc_meetings"] == t2["jc_meetings"]);
  CHECK(rec["conflicted"] == json::array({"actual_end", "maintenance_agreement", "pct_complete", "status"}));

  json list = w.entries();
  REQUIRE(list.size() == 1);
  json e = w.entry(list[0]["id"].get<std::int64_t>());
  CHECK(e["kind"] == "semantic");
  CHECK(e["path"] == "actual_end,maintenance_agreement,pct_complete,status");
  REQUIRE(e["detail"]["rules"].size() >= 1);
  CHECK(e["detail"]["rules"][0]["path"] == "pct_complete");
  CHECK(e["detail"]["rules"][0]["code"] == "constraint");
  CHECK(e["detail"]["provisional"]["status"] == "in_progress");
  // Both sides, with their own values of the fields involved.
  REQUIRE(e["candidates"].size() == 2);
  bool saw_t1 = false, saw_t2 = false;
  for (const auto& c : e["candidates"]) {
    if (c["dot"]["actor"] == w.srv.a.actor) saw_t1 = c["values"]["pct_complete"] == 95 && c["values"]["status"] == "in_progress";
    if (c["dot"]["actor"] == w.srv.b.actor)
      saw_t2 = c["values"]["status"] == "completed" && c["values"]["actual_end"] == "2016-10-20" &&
               c["values"]["pct_complete"] == 100;
  }
  CHECK(saw_t1);
  CHECK(saw_t2);

  // A resolution must give every field once, and must itself keep the rules.
  const json seen = rec["live"][0]["clock"];
  CHECK(w.resolve(list[0]["id"], {{"seen", seen}, {"values", {{"status", "completed"}}}}).status == 400);
  auto bad = w.resolve(list[0]["id"], {{"seen", seen},
                                       {"values", {{"status", "completed"}, {"pct_complete", 95}, {"actual_end", "2016-10-20"},
                                                  {"maintenance_agreement", "written"}}}});
  CHECK(bad.status == 422);
  CHECK(json::parse(bad.body)["code"] == "invalid_resolution");
  auto ok = w.resolve(list[0]["id"], {{"seen", seen},
                                      {"values", {{"status", "completed"}, {"pct_complete", 100}, {"actual_end", "2016-10-20"},
                                                 {"maintenance_agreement", "written"}}}});
  REQUIRE_MESSAGE(ok.status == 200, ok.body);
  CHECK(json::parse(ok.body)["closed"] == true);
  json after = w.record();
  CHECK(after["conflicted"] == json::array());
  CHECK(after["live"][0]["body"]["status"] == "completed");
  CHECK(after["live"][0]["body"]["pct_complete"] == 100);
  CHECK(after["live"][0]["body"]["jc_meetings"] == t2["jc_meetings"]);
  CHECK(w.entries().empty());
}

TEST_CASE("merge rules: a delete_edit entry is resolved by confirming the deletion or restoring (scenario 3)") {
  for (const std::string action : {"confirm_delete", "restore"}) {
    CAPTURE(action);
    World w;
    json base = w.fixture;
    sync::Edit e0 = w.edit(w.srv.a, 1, {}, base, {});
    REQUIRE(w.push(w.srv.a, e0, "b0")["outcome"] == "applied");
    json edited = base;
    edited["works_quality"] = "poor";
    REQUIRE(w.push(w.srv.a, w.edit(w.srv.a, 2, e0.clock(), {}, {}, true), "del")["outcome"] == "applied");
    json r = w.push(w.srv.b, w.edit(w.srv.b, 1, e0.clock(), edited, {"works_quality"}), "edit");
    CHECK(r["outcome"] == "merged");
    json rec = w.record();
    CHECK(rec["deletion_pending"] == true);
    json list = w.entries("delete_edit");
    REQUIRE(list.size() == 1);
    CHECK(w.resolve(list[0]["id"], {{"seen", rec["live"][0]["clock"]}, {"action", "purge"}}).status == 400);
    auto ok = w.resolve(list[0]["id"], {{"seen", rec["live"][0]["clock"]}, {"action", action}});
    REQUIRE_MESSAGE(ok.status == 200, ok.body);
    CHECK(json::parse(ok.body)["closed"] == true);
    json after = w.record();
    CHECK(after["deletion_pending"] == false);
    CHECK(after["deleted"] == (action == "confirm_delete"));
    if (action == "restore") CHECK(after["live"][0]["body"]["works_quality"] == "poor");
    CHECK(w.entries().empty());
  }
}

TEST_CASE("merge rules: a delete_edit resolution that meets a concurrent device side closes when all agree") {
  // The admin looks at {A deletes, B keeps}; then B saves again (it keeps the record, from its own line)
  // before the resolution arrives. Restore: every remaining side keeps -> nothing disagrees, the entry
  // closes. Confirm: B's later keep disagrees with the deletion -> the entry stays open with both.
  for (const std::string action : {"restore", "confirm_delete"}) {
    CAPTURE(action);
    World w;
    json base = w.fixture;
    sync::Edit e0 = w.edit(w.srv.a, 1, {}, base, {});
    REQUIRE(w.push(w.srv.a, e0, "b0")["outcome"] == "applied");
    REQUIRE(w.push(w.srv.a, w.edit(w.srv.a, 2, e0.clock(), {}, {}, true), "del")["outcome"] == "applied");
    json edited = base;
    edited["works_quality"] = "poor";
    sync::Edit b1 = w.edit(w.srv.b, 1, e0.clock(), edited, {"works_quality"});
    REQUIRE(w.push(w.srv.b, b1, "edit")["outcome"] == "merged");
    json list = w.entries("delete_edit");
    REQUIRE(list.size() == 1);
    const json seen = w.record()["live"][0]["clock"];
    edited["jc_meetings"] = edited["jc_meetings"].get<int>() + 1;
    REQUIRE(w.push(w.srv.b, w.edit(w.srv.b, 2, b1.clock(), edited, {"jc_meetings"}), "edit2")["outcome"] == "merged");
    auto res = w.resolve(list[0]["id"], {{"seen", seen}, {"action", action}});
    REQUIRE_MESSAGE(res.status == 200, res.body);
    const json answer = json::parse(res.body);
    CHECK(answer["outcome"] == "merged");
    json after = w.record();
    INFO("entries: " << w.entries().dump());
    if (action == "restore") {
      CHECK(answer["closed"] == true);
      CHECK(w.entries().empty());
      CHECK(after["deletion_pending"] == false);
      CHECK(after["deleted"] == false);
      CHECK(after["live"][0]["body"]["jc_meetings"] == edited["jc_meetings"]);
      json closed = w.entry(list[0]["id"]);
      CHECK(closed["status"] == "resolved");
      CHECK(closed["resolution"]["action"] == "restore");
    } else {
      CHECK(answer["closed"] == false);
      json open = w.entries("delete_edit");
      REQUIRE(open.size() == 1);
      std::set<bool> flags;
      for (const json& c : open[0]["candidates"]) flags.insert(c["deleted"].get<bool>());
      CHECK(flags == std::set<bool>{true, false});
      CHECK(after["deletion_pending"] == true);
    }
  }
}

TEST_CASE("merge rules: restore meets a third tablet's concurrent side: a correction merges and closes, a deletion stays open") {
  // A creates; B and C pull. B corrects one answer, A deletes: a delete_edit entry {A deletes, B keeps}.
  // The admin looks (seen). C, from the first version, corrects another answer (or deletes) and syncs,
  // before or after the admin's `restore` made from the old view. A correction agrees with restore: it
  // merges and the entry closes, the record live with B's and C's answers. A deletion still disagrees:
  // the entry stays open with the resolution and C's deletion only (PROTOCOL §11.5, CONFLICTS.md).
  // Both orders of A's deletion and B's correction; C's side before or after the resolution.
  for (int run = 0; run < 8; ++run) {
    const bool c_deletes = run & 1, c_first = run & 2, a_first = run & 4;
    CAPTURE(c_deletes);
    CAPTURE(c_first);
    CAPTURE(a_first);
    World w;
    w.srv.create_user("cenk", "enumerator", kPw, {{"novoberde", "*", "*", "*"}});
    const test::Device t3 = w.srv.enrol(w.admin, "cenk", "tablet-cenk");
    json base = w.fixture;
    sync::Edit e0 = w.edit(w.srv.a, 1, {}, base, {});
    REQUIRE(w.push(w.srv.a, e0, "b0")["outcome"] == "applied");
    json b_body = base, c_body = base;
    b_body["works_quality"] = "poor";
    c_body["jc_meetings"] = base["jc_meetings"].get<int>() + 3;
    if (a_first) REQUIRE(w.push(w.srv.a, w.edit(w.srv.a, 2, e0.clock(), {}, {}, true), "del")["outcome"] == "applied");
    REQUIRE(w.push(w.srv.b, w.edit(w.srv.b, 1, e0.clock(), b_body, {"works_quality"}), "b1")["outcome"] ==
            (a_first ? "merged" : "applied"));
    if (!a_first) REQUIRE(w.push(w.srv.a, w.edit(w.srv.a, 2, e0.clock(), {}, {}, true), "del")["outcome"] == "merged");
    json list = w.entries("delete_edit");
    REQUIRE(list.size() == 1);
    const std::int64_t id = list[0]["id"].get<std::int64_t>();
    const json seen = w.entry(id)["record_state"]["live"][0]["clock"];
    const sync::Edit c1 = c_deletes ? w.edit(t3, 1, e0.clock(), {}, {}, true)
                                    : w.edit(t3, 1, e0.clock(), c_body, {"jc_meetings"});
    if (c_first) {
      REQUIRE(w.push(t3, c1, "c1")["outcome"] == "merged");
      // C's side joins the open entry as one more candidate (PROTOCOL §11.1).
      std::set<std::string> joined;
      const json joined_entry = w.entry(id);
      INFO("entry after C's side: " << joined_entry.dump());
      for (const json& c : joined_entry["candidates"])
        joined.insert(c["dot"]["actor"].get<std::string>() + (c["deleted"].get<bool>() ? " delete" : " keep"));
      CHECK(joined == std::set<std::string>{w.srv.a.actor + " delete", w.srv.b.actor + " keep",
                                            t3.actor + (c_deletes ? " delete" : " keep")});
    }
    auto res = w.resolve(id, {{"seen", seen}, {"action", "restore"}});
    REQUIRE_MESSAGE(res.status == 200, res.body);
    const json answer = json::parse(res.body);
    if (c_first) CHECK(answer["outcome"] == "merged");
    else CHECK(answer["outcome"] == "applied");
    if (!c_first) {
      CHECK(answer["closed"] == true);  // nothing arrived since the view: the resolution closes the entry
      REQUIRE(w.push(t3, c1, "c1")["outcome"] == "merged");
    }
    const json after = w.record();
    const json entry = w.entry(id);
    INFO("answer: " << answer.dump() << "\nentry: " << entry.dump() << "\nentries: " << w.entries().dump());
    if (!c_deletes) {
      if (c_first) CHECK(answer["closed"] == true);
      CHECK(entry["status"] == "resolved");
      CHECK(entry["resolution"]["action"] == "restore");
      CHECK(w.entries().empty());
      CHECK(after["deleted"] == false);
      CHECK(after["deletion_pending"] == false);
      CHECK(after["conflicted"].empty());
      CHECK(after["live"][0]["body"]["works_quality"] == "poor");
      CHECK(after["live"][0]["body"]["jc_meetings"] == c_body["jc_meetings"]);
    } else {
      json open = w.entries("delete_edit");
      REQUIRE(open.size() == 1);
      if (c_first) {
        CHECK(answer["closed"] == false);
        CHECK(open[0]["id"] == id);
      }
      // The resolution's keep and C's deletion only: A's deletion and B's correction were decided.
      std::set<std::string> cands;
      for (const json& c : open[0]["candidates"])
        cands.insert(c["dot"]["actor"].get<std::string>() + (c["deleted"].get<bool>() ? " delete" : " keep"));
      CHECK(cands == std::set<std::string>{answer["version"]["actor"].get<std::string>() + " keep", t3.actor + " delete"});
      CHECK(after["deletion_pending"] == true);
      CHECK(after["live"][0]["body"]["works_quality"] == "poor");
    }
  }
}

TEST_CASE("merge rules: a merge derives the record's scope from the merged body, in both arrival orders") {
  // A moves the record from Novo Brdo to Prizren (body and scope); B, from the first version, edits another
  // answer and still carries the old scope. The merged body says Prizren, so the record is in Prizren
  // whichever edit arrived last, and the feeds agree: Prizren's tablet gets it, Novo Brdo's gets a marker.
  // (No forms here: the programme's forms let only admins change `municipality`, see the next test.)
  for (const bool move_first : {true, false}) {
    CAPTURE(move_first);
    test::TestServer srv;
    auto c = srv.client();
    srv.create_user("root", "admin", kPw);
    srv.create_user("nb", "enumerator", kPw, {{"novoberde", "*", "*", "*"}});
    srv.create_user("pz", "enumerator", kPw, {{"prizren", "*", "*", "*"}});
    const std::string admin = srv.login("root", kPw);
    const test::Device nb = srv.enrol(admin, "nb", "tablet-nb");
    const test::Device pz = srv.enrol(admin, "pz", "tablet-pz");
    const std::string rec = test::uuid7(1700000000000, 77);
    auto edit = [&](const test::Device& d, std::int64_t n, const sync::VectorClock& ctx, const json& body,
                    std::vector<std::string> changed) {
      sync::Edit e = test::make_edit(rec, d.actor, n, ctx, body.dump(), std::move(changed));
      e.scope.municipality = body["municipality"].get<std::string>();
      return e;
    };
    auto push = [&](const test::Device& d, const sync::Edit& e, const std::string& batch) {
      auto r = test::push(c, d, {batch, {e}});
      REQUIRE_MESSAGE(r.status == 200, r.body);
      return json::parse(r.body)["results"][0]["outcome"].get<std::string>();
    };
    const json base{{"municipality", "novoberde"}, {"pct_complete", 60}, {"works_quality", "good"}};
    const sync::Edit e0 = edit(srv.a, 1, {}, base, {"municipality", "pct_complete", "works_quality"});
    REQUIRE(push(srv.a, e0, "b0") == "applied");
    json moved = base, edited = base;
    moved["municipality"] = "prizren";
    edited["works_quality"] = "poor";
    const sync::Edit move = edit(srv.a, 2, e0.clock(), moved, {"municipality"});
    const sync::Edit change = edit(srv.b, 1, e0.clock(), edited, {"works_quality"});
    if (move_first) {
      REQUIRE(push(srv.a, move, "move") == "applied");
      REQUIRE(push(srv.b, change, "edit") == "merged");
    } else {
      REQUIRE(push(srv.b, change, "edit") == "applied");
      REQUIRE(push(srv.a, move, "move") == "merged");
    }
    auto got = test::get(c, srv.a, "/v1/records/" + rec);
    REQUIRE(got.status == 200);
    const json record = json::parse(got.body);
    CHECK(record["live"][0]["body"]["municipality"] == "prizren");
    CHECK(record["live"][0]["body"]["works_quality"] == "poor");
    CHECK(record["scope"]["municipality"] == "prizren");
    auto feed = [&](const test::Device& d) {
      auto r = test::get(c, d, "/v1/changes");
      REQUIRE_MESSAGE(r.status == 200, r.body);
      return json::parse(r.body)["changes"];
    };
    const json in_pz = feed(pz), in_nb = feed(nb);
    REQUIRE(in_pz.size() == 1);
    CHECK_FALSE(in_pz[0].contains("out_of_scope"));
    CHECK(in_pz[0]["scope"]["municipality"] == "prizren");
    REQUIRE(in_nb.size() == 1);
    CHECK(in_nb[0].value("out_of_scope", false) == true);
    CHECK(test::get(c, nb, "/v1/records/" + rec).status == 404);
  }
}

TEST_CASE("merge rules: a municipality change held for an admin leaves the record in its body's scope") {
  // `municipality` is admin-only in the programme's forms: a device's move is held (a permission entry),
  // the body keeps Novo Brdo, and so does the record's scope (not the scope the held edit carried).
  World w;
  json base = w.fixture;
  sync::Edit e0 = w.edit(w.srv.a, 1, {}, base, {});
  REQUIRE(w.push(w.srv.a, e0, "b0")["outcome"] == "applied");
  json moved = base;
  moved["municipality"] = "prizren";
  const sync::Edit move = w.edit(w.srv.a, 2, e0.clock(), moved, {"municipality"});
  REQUIRE(move.scope.municipality == "prizren");
  const json r = w.push(w.srv.a, move, "move");
  CHECK(r["held"]["kind"] == "permission");
  json rec = w.record();
  CHECK(rec["live"][0]["body"]["municipality"] == "novoberde");
  CHECK(rec["scope"]["municipality"] == "novoberde");
}

TEST_CASE("merge rules: a field of a repeat item changed on both sides is resolved by its path") {
  World w;
  json base = w.fixture;
  sync::Edit e0 = w.edit(w.srv.a, 1, {}, base, {});
  REQUIRE(w.push(w.srv.a, e0, "b0")["outcome"] == "applied");
  const std::string vid = base["visit"][0]["visit_id"];
  const std::string path = "visit[" + vid + "].v_pct_observed";
  json a = base, b = base;
  a["visit"][0]["v_pct_observed"] = 40;
  b["visit"][0]["v_pct_observed"] = 45;
  REQUIRE(w.push(w.srv.a, w.edit(w.srv.a, 2, e0.clock(), a, {path}), "a")["outcome"] == "applied");
  json r = w.push(w.srv.b, w.edit(w.srv.b, 1, e0.clock(), b, {path}), "b");
  CHECK(r["conflicts"] == json::array({path}));
  json list = w.entries("field");
  REQUIRE(list.size() == 1);
  CHECK(list[0]["path"] == path);
  json rec = w.record();
  auto ok = w.resolve(list[0]["id"], {{"seen", rec["live"][0]["clock"]}, {"value", 45}});
  REQUIRE_MESSAGE(ok.status == 200, ok.body);
  CHECK(json::parse(ok.body)["closed"] == true);
  json after = w.record();
  CHECK(after["conflicted"] == json::array());
  CHECK(after["live"][0]["body"]["visit"][0]["v_pct_observed"] == 45);
  CHECK(after["live"][0]["body"]["visit"].size() == base["visit"].size());
}

TEST_CASE("merge rules: an edit made with form v1 never blanks a field only v2 has (scenario 4)") {
  World w;
  json v2 = json::parse(slurp(std::string(AKT_SOURCE_DIR) + "/schema/forms/programme/so1_infra_monitoring.json"));
  v2["version"] = 2;
  v2["fields"].push_back({{"key", "handover_note"}, {"type", "text"},
                          {"label", {{"en", "Hand-over remarks"}, {"sq", "Vërejtje për dorëzimin"}, {"sr", "Напомене о предаји"}}}, {"sensitivity", "-"}});
  w.publish(v2.dump());
  json base = w.fixture;
  sync::Edit e0 = w.edit(w.srv.a, 1, {}, base, {});
  REQUIRE(w.push(w.srv.a, e0, "b0")["outcome"] == "applied");
  // The M&E officer's v2 edit adds the new field; an old tablet, still on v1, edits another field.
  json newer = base;
  newer["handover_note"] = "Keys handed to the village council";
  sync::Edit ev2 = w.edit(w.srv.a, 2, e0.clock(), newer, {"handover_note"});
  ev2.form_version = 2;
  REQUIRE(w.push(w.srv.a, ev2, "v2")["outcome"] == "applied");
  json older = base;
  older["works_quality"] = "poor";
  json r = w.push(w.srv.b, w.edit(w.srv.b, 1, e0.clock(), older, {"works_quality"}), "v1");
  CHECK(r["outcome"] == "merged");
  json rec = w.record();
  CHECK(rec["live"][0]["body"]["handover_note"] == "Keys handed to the village council");
  CHECK(rec["live"][0]["body"]["works_quality"] == "poor");
  CHECK(rec["live"][0]["form_version"] == 2);
  CHECK(w.entries().empty());
}

TEST_CASE("merge rules: a correction to an approved record is held for an admin (scenario 8)") {
  World w;
  w.srv.create_user("mira", "me_officer", kPw);
  const std::string me = w.srv.login("mira", kPw);
  json base = w.fixture;
  sync::Edit e0 = w.edit(w.srv.a, 1, {}, base, {});
  REQUIRE(w.push(w.srv.a, e0, "b0")["outcome"] == "applied");
  // The M&E officer approves the version she saw.
  auto review = [&](const json& body) {
    auto r = w.c.request("POST", "/v1/admin/records/" + w.rec + "/review", body.dump(), bearer(me));
    REQUIRE(r.ok());
    return *r;
  };
  CHECK(review({{"seen", w.record()["live"][0]["clock"]}, {"status", "locked"}}).status == 400);
  CHECK(review({{"seen", {{"00000000-0000-4000-8000-000000000999", 3}}}, {"status", "approved"}}).status == 409);
  auto approved = review({{"seen", w.record()["live"][0]["clock"]}, {"status", "approved"}, {"comment", "checked"}});
  REQUIRE_MESSAGE(approved.status == 200, approved.body);
  CHECK(w.live_body()["review_status"] == "approved");
  // An enumerator's tablet cannot review.
  w.srv.create_user("enis", "enumerator", kPw, {{"gracanice", "*", "*", "*"}});
  auto denied = w.c.request("POST", "/v1/admin/records/" + w.rec + "/review",
                            json{{"seen", w.record()["live"][0]["clock"]}, {"status", "returned"}}.dump(),
                            bearer(w.srv.login("enis", kPw)));
  CHECK(denied->status == 403);

  // T2 corrects two numbers on a tablet that never saw the approval: not applied, held.
  json corrected = base;
  corrected["jc_meetings"] = base["jc_meetings"].get<int>() + 1;
  corrected["works_quality"] = "poor";
  json r = w.push(w.srv.b, w.edit(w.srv.b, 1, e0.clock(), corrected, {"jc_meetings", "works_quality"}), "late");
  CHECK(r["outcome"] == "merged");
  CHECK(r["held"]["kind"] == "locked_change");
  CHECK(r["held"]["fields"] == json::array({"jc_meetings", "works_quality"}));
  json body = w.live_body();
  CHECK(body["review_status"] == "approved");
  CHECK(body["jc_meetings"] == base["jc_meetings"]);
  CHECK(body["works_quality"] == base["works_quality"]);
  // A tablet that knew about the lock and deletes goes the same way.
  json rec = w.record();
  sync::Edit del = w.edit(w.srv.a, 2, *sync::decode_clock(rec["live"][0]["clock"].dump()), {}, {}, true);
  CHECK(w.push(w.srv.a, del, "del")["held"]["kind"] == "locked_change");
  CHECK(w.record()["deleted"] == false);
  CHECK(w.live_body()["review_status"] == "approved");

  json list = w.entries("locked_change");
  REQUIRE(list.size() == 1);
  CHECK(list[0]["candidates"].size() == 2);
  bool held_correction = false;
  for (const auto& c : list[0]["candidates"])
    held_correction = held_correction || (c["dot"]["actor"] == w.srv.b.actor && c["values"]["works_quality"] == "poor");
  CHECK(held_correction);
  CHECK(list[0]["detail"]["kept"]["works_quality"] == base["works_quality"]);
  // The admin accepts the correction (not the deletion): the values apply and the record goes back to review.
  auto ok = w.resolve(list[0]["id"], {{"seen", w.record()["live"][0]["clock"]},
                                      {"action", "accept"},
                                      {"values", {{"jc_meetings", corrected["jc_meetings"]}, {"works_quality", "poor"}}}});
  REQUIRE_MESSAGE(ok.status == 200, ok.body);
  CHECK(json::parse(ok.body)["closed"] == true);
  body = w.live_body();
  CHECK(body["works_quality"] == "poor");
  CHECK(body["jc_meetings"] == corrected["jc_meetings"]);
  CHECK(body["review_status"] == "submitted");
  CHECK(w.entries().empty());
}

TEST_CASE("merge rules: a tablet edit of an admin-only field is refused into a permission entry (scenario 2)") {
  World w;
  json base = w.fixture;
  sync::Edit e0 = w.edit(w.srv.a, 1, {}, base, {});
  REQUIRE(w.push(w.srv.a, e0, "b0")["outcome"] == "applied");
  json edited = base;
  edited["grant_amount"] = 99999;
  edited["works_quality"] = "poor";
  json r = w.push(w.srv.b, w.edit(w.srv.b, 1, e0.clock(), edited, {"grant_amount", "works_quality"}), "e");
  CHECK(r["outcome"] == "applied");
  CHECK(r["held"] == json{{"fields", {"grant_amount"}}, {"kind", "permission"}});
  json body = w.live_body();
  CHECK(body["grant_amount"] == base["grant_amount"]);
  CHECK(body["works_quality"] == "poor");  // the rest of the change set applies
  json list = w.entries("permission");
  REQUIRE(list.size() == 1);
  CHECK(list[0]["path"] == "grant_amount");
  CHECK(list[0]["candidates"][0]["values"]["grant_amount"] == 99999);
  auto bad = w.resolve(list[0]["id"], {{"seen", w.record()["live"][0]["clock"]}, {"action", "ignore"}});
  CHECK(bad.status == 400);
  auto ok = w.resolve(list[0]["id"], {{"seen", w.record()["live"][0]["clock"]}, {"action", "reject"}});
  REQUIRE_MESSAGE(ok.status == 200, ok.body);
  CHECK(json::parse(ok.body)["outcome"] == "rejected_change");
  CHECK(w.live_body()["grant_amount"] == base["grant_amount"]);
  CHECK(w.entries().empty());
  // Creating a record with its admin-only fields is not an edit of them.
  CHECK_FALSE(json::parse(test::push(w.c, w.srv.b, {"new", {test::make_edit(test::uuid7(1700000000001, 1), w.srv.b.actor, 2,
                                                                             {}, base.dump())}}).body)["results"][0]
                  .contains("held"));
}

TEST_CASE("merge rules: the same household surveyed twice raises a duplicate_candidate entry (scenario 7)") {
  World w;
  w.publish(slurp(std::string(AKT_SOURCE_DIR) + "/schema/forms/programme/so1_interethnic_survey.json"));
  const json survey =
      json::parse(slurp(std::string(AKT_SOURCE_DIR) + "/tests/schema/fixtures/so1_interethnic_survey.valid.json"));
  auto interview = [&](const test::Device& dev, std::int64_t n, std::uint64_t id, const json& body) {
    sync::Edit e = test::make_edit(test::uuid7(1700000000000 + id, id), dev.actor, n, {}, body.dump());
    e.form_id = "so1_interethnic_survey";
    return e;
  };
  json other_household = survey;
  other_household["hh_number"] = survey["hh_number"].get<int>() + 1;
  json second_team = survey;  // same wave, cluster and household; another adult, another day
  second_team["resp_gender"] = survey["resp_gender"] == "female" ? "male" : "female";
  const sync::Edit first = interview(w.srv.a, 1, 1, survey), other = interview(w.srv.a, 2, 2, other_household),
                   second = interview(w.srv.b, 1, 3, second_team);
  REQUIRE(w.push(w.srv.a, first, "t1")["outcome"] == "applied");
  REQUIRE(w.push(w.srv.a, other, "t1b")["outcome"] == "applied");
  CHECK(w.entries().empty());
  REQUIRE(w.push(w.srv.b, second, "t8")["outcome"] == "applied");
  json list = w.entries("duplicate_candidate");
  REQUIRE(list.size() == 1);
  CHECK(list[0]["record"] == second.record_id);  // both records stored as received, never merged
  std::set<std::string> records;
  for (const auto& c : list[0]["candidates"]) records.insert(c["record"].get<std::string>());
  CHECK(records == std::set<std::string>{first.record_id, second.record_id});
  CHECK(list[0]["detail"]["key"] == json::array({survey["survey_wave"], survey["cluster_id"], survey["hh_number"]}));
  // The admin keeps the first complete interview and excludes the second.
  auto seen = [&](const std::string& id) {
    auto r = test::get(w.c, w.srv.a, "/v1/records/" + id);
    REQUIRE(r.status == 200);
    return json::parse(r.body)["live"][0]["clock"];
  };
  CHECK(w.resolve(list[0]["id"], {{"seen", seen(second.record_id)}, {"action", "exclude"}, {"record", other.record_id}})
            .status == 400);
  auto ok = w.resolve(list[0]["id"],
                      {{"seen", seen(second.record_id)}, {"action", "exclude"}, {"record", second.record_id}});
  REQUIRE_MESSAGE(ok.status == 200, ok.body);
  auto r = test::get(w.c, w.srv.a, "/v1/records/" + second.record_id);
  CHECK(json::parse(r.body)["live"][0]["body"]["review_status"] == "excluded_duplicate");
  r = test::get(w.c, w.srv.a, "/v1/records/" + first.record_id);
  CHECK(json::parse(r.body)["live"][0]["body"]["review_status"] == survey["review_status"]);
  CHECK(w.entries().empty());
  // Editing a record without touching its key raises nothing new.
  json edited = survey;
  edited["comments"] = "phone back-check done";
  sync::Edit note = test::make_edit(first.record_id, w.srv.a.actor, 3, first.clock(), edited.dump(), {"comments"});
  note.form_id = "so1_interethnic_survey";
  json noted = w.push(w.srv.a, note, "t1c");
  INFO(noted.dump());
  REQUIRE(noted["outcome"] == "applied");
  CHECK(w.entries().empty());
}

TEST_CASE("merge rules: a rule conflict names the same fields and the same entry in both arrival orders (issue 12.2)") {
  // The M&E card says in progress at 100 %; T1 finds defects (95 %), T2 records the hand-over
  // (completed, actual end). Whichever arrives first, one semantic entry with the same fields and sides.
  std::set<std::string> entries_seen;
  for (const bool t1_first : {true, false}) {
    CAPTURE(t1_first);
    World w;
    json base = w.fixture;
    base["status"] = "in_progress";
    base["pct_complete"] = 100;
    base.erase("actual_end");
    sync::Edit e0 = w.edit(w.srv.a, 1, {}, base, {});
    REQUIRE(w.push(w.srv.a, e0, "b0")["outcome"] == "applied");
    json t1 = base, t2 = base;
    t1["pct_complete"] = 95;
    t2["status"] = "completed";
    t2["actual_end"] = "2016-10-14";
    t2["maintenance_agreement"] = "written";
    const sync::Edit e1 = w.edit(w.srv.a, 2, e0.clock(), t1, {"pct_complete"});
    const sync::Edit e2 = w.edit(w.srv.b, 1, e0.clock(), t2, {"status", "actual_end", "maintenance_agreement"});
    json r;
    if (t1_first) {
      REQUIRE(w.push(w.srv.a, e1, "t1")["outcome"] == "applied");
      r = w.push(w.srv.b, e2, "t2");
    } else {
      REQUIRE(w.push(w.srv.b, e2, "t2")["outcome"] == "applied");
      r = w.push(w.srv.a, e1, "t1");
    }
    INFO(r.dump());
    CHECK(r["outcome"] == "merged");
    const json fields = json::array({"actual_end", "maintenance_agreement", "pct_complete", "status"});
    CHECK(r["conflicts"] == fields);
    json rec = w.record();
    CHECK(rec["conflicted"] == fields);
    json list = w.entries();
    REQUIRE(list.size() == 1);
    json e = w.entry(list[0]["id"].get<std::int64_t>());
    CHECK(e["kind"] == "semantic");
    CHECK(e["path"] == "actual_end,maintenance_agreement,pct_complete,status");
    // Never stored invalid: the fields involved hold one side's values together.
    const json body = rec["live"][0]["body"];
    const bool t1_state = body["pct_complete"] == 95 && body["status"] == "in_progress" && !body.contains("actual_end");
    const bool t2_state = body["pct_complete"] == 100 && body["status"] == "completed" && body["actual_end"] == "2016-10-14";
    CHECK((t1_state || t2_state));
    json cmp{{"path", e["path"]}, {"fields", e["detail"]["fields"]}, {"rules", e["detail"]["rules"]}};
    for (const json& c : e["candidates"]) cmp["sides"].push_back({c["dot"], c["values"], c["absent"]});
    entries_seen.insert(cmp.dump());
  }
  CHECK(entries_seen.size() == 1);
}

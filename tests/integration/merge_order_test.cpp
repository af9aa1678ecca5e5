// The merge keeps every promise whatever the arrival order (DESIGN §4, §7.2, §7.4): every concurrent side
// that reaches a record whose deletion is pending joins the open `delete_edit` entry; one candidate per
// device line; an entry's base is the lowest common ancestor of its candidates; a disagreement that its
// authors removed is settled by agreement; a resolution racing a device edit keeps only the values the
// admin did not decide against. Real server on loopback, several enrolled tablets.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "sync/wire_json.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"

using namespace akt;
using nlohmann::json;

namespace {

const std::string kPw = "correct horse battery";

using test::bearer;

// One step of a scenario: a device pushes one edit in its own batch.
struct Step {
  int device;  // index into World::devs
  sync::Edit edit;
};

struct World {
  test::TestServer srv;
  client::HttpClient c = srv.client();
  std::string admin;
  std::string rec = test::uuid7(1700000000000, 99);
  std::vector<test::Device> devs;
  int batch = 0;

  explicit World(int devices = 4) {
    srv.create_user("root", "admin", kPw);
    srv.create_user("enum", "enumerator", kPw, {{"gracanice", "*", "*", "*"}});
    admin = srv.login("root", kPw);
    for (int i = 0; i < devices; ++i) devs.push_back(srv.enrol(admin, "enum", "tablet-" + std::to_string(i)));
  }
  sync::Edit edit(int dev, std::int64_t n, const sync::VectorClock& ctx, const json& body,
                  std::vector<std::string> changed) {
    return test::make_edit(rec, devs[dev].actor, n, ctx, body.dump(), std::move(changed));
  }
  sync::Edit del(int dev, std::int64_t n, const sync::VectorClock& ctx) {
    sync::Edit e = test::make_edit(rec, devs[dev].actor, n, ctx, "{}", {});
    e.deleted = true;
    return e;
  }
  json push(int dev, const sync::Edit& e) {
    auto r = test::push(c, devs[dev], {"batch-" + std::to_string(++batch), {e}});
    REQUIRE_MESSAGE(r.status == 200, r.body);
    return json::parse(r.body)["results"][0];
  }
  json entries(const std::string& status = "open") {
    auto r = c.request("GET", "/v1/admin/conflicts?status=" + status, {}, bearer(admin));
    REQUIRE(r->status == 200);
    return json::parse(r->body)["entries"];
  }
  json entry(std::int64_t id) {
    auto r = c.request("GET", "/v1/admin/conflicts/" + std::to_string(id), {}, bearer(admin));
    REQUIRE(r->status == 200);
    return json::parse(r->body)["entry"];
  }
  json record() {
    auto r = test::get(c, devs[0], "/v1/records/" + rec);
    REQUIRE_MESSAGE(r.status == 200, r.body);
    return json::parse(r.body);
  }
  client::HttpResult resolve(std::int64_t id, const json& body) {
    auto r = c.request("POST", "/v1/admin/conflicts/" + std::to_string(id) + "/resolve", body.dump(), bearer(admin));
    REQUIRE(r.ok());
    return *r;
  }
  std::string actor(int dev) const { return devs[dev].actor; }
};

// "T<device>:n" of each candidate ("S" for the server, "A" for an admin), with its value (fields) or its
// deletion flag (delete_edit): comparable across servers.
std::set<std::string> candidate_set(const World& w, const json& entry) {
  std::set<std::string> out;
  for (const json& c : entry["candidates"]) {
    const std::string actor = c["dot"]["actor"].get<std::string>();
    std::string who = "S";
    for (std::size_t i = 0; i < w.devs.size(); ++i)
      if (w.devs[i].actor == actor) who = "T" + std::to_string(i);
    std::string s = who + ":" + std::to_string(c["dot"]["n"].get<std::int64_t>());
    if (entry["kind"] == "delete_edit") s += c["deleted"].get<bool>() ? " delete" : " keep";
    else s += " " + (c.value("absent", false) ? std::string("<absent>") : c["value"].dump());
    out.insert(s);
  }
  return out;
}

// What an admin sees of the open inbox: per entry (kind, path), its base and candidates.
std::map<std::string, std::pair<json, std::set<std::string>>> open_inbox(World& w) {
  std::map<std::string, std::pair<json, std::set<std::string>>> out;
  for (const json& e : w.entries())
    out[e["kind"].get<std::string>() + " " + e["path"].get<std::string>()] = {e["ancestor"], candidate_set(w, e)};
  return out;
}

// Every interleaving of the devices' own step sequences (each device's steps keep their order).
void interleavings(const std::vector<std::vector<Step>>& lines, std::vector<Step>& prefix, std::vector<std::size_t>& at,
                   const std::function<void(const std::vector<Step>&)>& visit) {
  bool done = true;
  for (std::size_t l = 0; l < lines.size(); ++l) {
    if (at[l] == lines[l].size()) continue;
    done = false;
    prefix.push_back(lines[l][at[l]++]);
    interleavings(lines, prefix, at, visit);
    --at[l];
    prefix.pop_back();
  }
  if (done) visit(prefix);
}

}  // namespace

TEST_CASE("merge order: an edit that reaches a deletion-pending record joins the delete_edit entry (issue 12.1)") {
  World w(3);
  const json base{{"pct_complete", 60}, {"status", "in_progress"}};
  sync::Edit e0 = w.edit(0, 1, {}, base, {"pct_complete", "status"});
  REQUIRE(w.push(0, e0)["outcome"] == "applied");
  json b1 = base;
  b1["pct_complete"] = 70;
  REQUIRE(w.push(1, w.edit(1, 1, e0.clock(), b1, {"pct_complete"}))["outcome"] == "applied");
  REQUIRE(w.push(0, w.del(0, 2, e0.clock()))["outcome"] == "merged");
  json b2 = base;
  b2["status"] = "suspended";
  CHECK(w.push(2, w.edit(2, 1, e0.clock(), b2, {"status"}))["outcome"] == "merged");

  json list = w.entries();
  REQUIRE(list.size() == 1);
  CHECK(list[0]["kind"] == "delete_edit");
  CHECK(candidate_set(w, list[0]) == std::set<std::string>{"T0:2 delete", "T1:1 keep", "T2:1 keep"});
  json r = w.record();
  CHECK(r["deletion_pending"] == true);
  CHECK(r["live"][0]["body"]["pct_complete"] == 70);
  CHECK(r["live"][0]["body"]["status"] == "suspended");
}

TEST_CASE("merge order: a second concurrent deletion joins the delete_edit entry, whatever came first") {
  // T0 creates; T1 edits; T0 and T2 delete, all from the first version. Every order gives one entry with
  // both deletions and the edit as candidates.
  const json base{{"pct_complete", 60}, {"status", "in_progress"}};
  std::set<std::set<std::string>> outcomes;
  for (int order = 0; order < 6; ++order) {
    World w(3);
    sync::Edit e0 = w.edit(0, 1, {}, base, {"pct_complete", "status"});
    REQUIRE(w.push(0, e0)["outcome"] == "applied");
    json b1 = base;
    b1["pct_complete"] = 70;
    std::vector<Step> steps{{1, w.edit(1, 1, e0.clock(), b1, {"pct_complete"})},
                            {0, w.del(0, 2, e0.clock())},
                            {2, w.del(2, 1, e0.clock())}};
    std::vector<int> idx{0, 1, 2};
    for (int k = 0; k < order; ++k) std::next_permutation(idx.begin(), idx.end());
    for (int i : idx) w.push(steps[i].device, steps[i].edit);
    json list = w.entries();
    INFO("order " << idx[0] << idx[1] << idx[2] << ": " << list.dump());
    REQUIRE(list.size() == 1);
    CHECK(list[0]["kind"] == "delete_edit");
    CHECK(candidate_set(w, list[0]) == std::set<std::string>{"T0:2 delete", "T1:1 keep", "T2:1 delete"});
    CHECK(w.record()["deletion_pending"] == true);
    outcomes.insert(candidate_set(w, list[0]));
  }
  CHECK(outcomes.size() == 1);
}

namespace {

// What must not depend on the order: the open entries (kind, path, base, candidates) and the record's
// flags. Provisional values may differ, so bodies are not compared.
struct Outcome {
  std::map<std::string, std::pair<json, std::set<std::string>>> inbox;
  json conflicted;
  bool deletion_pending = false, deleted = false;
};

std::string show(const Outcome& o) {
  json j{{"conflicted", o.conflicted}, {"deletion_pending", o.deletion_pending}, {"deleted", o.deleted}};
  for (const auto& [k, v] : o.inbox) j["inbox"][k] = {{"base", v.first}, {"candidates", v.second}};
  return j.dump();
}

// Runs every interleaving of the devices' lines on a fresh server each; `lines(w)` builds each device's
// edits (in the order it sent them) after the record's first version `e0` by device 0. Returns the
// outcomes seen (one when the merge is order independent) and checks each with `check`.
std::set<std::string> every_order(int devices, const json& first,
                                  const std::function<std::vector<std::vector<Step>>(World&, const sync::Edit&)>& lines,
                                  const std::function<void(World&, const Outcome&)>& check = {}) {
  // Count the interleavings once, with a throwaway world.
  std::vector<std::vector<int>> orders;
  {
    World w(devices);
    sync::Edit e0 = w.edit(0, 1, {}, first, {});
    auto ls = lines(w, e0);
    std::vector<Step> prefix;
    std::vector<std::size_t> at(ls.size(), 0);
    std::map<int, int> line_of;  // device -> its line (one line per device)
    for (std::size_t l = 0; l < ls.size(); ++l) line_of[ls[l].front().device] = static_cast<int>(l);
    interleavings(ls, prefix, at, [&](const std::vector<Step>& seq) {
      std::vector<int> o;
      for (const Step& s : seq) o.push_back(line_of.at(s.device));
      orders.push_back(o);
    });
  }
  std::set<std::string> seen;
  for (const std::vector<int>& order : orders) {
    World w(devices);
    sync::Edit e0 = w.edit(0, 1, {}, first, {});
    REQUIRE(w.push(0, e0)["outcome"] == "applied");
    auto ls = lines(w, e0);
    std::vector<std::size_t> at(ls.size(), 0);
    std::string trace;
    for (int line : order) {
      const Step& s = ls[line][at[line]++];
      json r = w.push(s.device, s.edit);
      trace += "T" + std::to_string(s.device) + ":" + std::to_string(s.edit.dot.n) + "=" +
               r["outcome"].get<std::string>() + " ";
    }
    Outcome o;
    o.inbox = open_inbox(w);
    json rec = w.record();
    o.conflicted = rec.value("conflicted", json::array());
    o.deletion_pending = rec.value("deletion_pending", false);
    o.deleted = rec.value("deleted", false);
    INFO("order: " << trace << " -> " << show(o));
    if (check) check(w, o);
    seen.insert(show(o));
  }
  return seen;
}

}  // namespace

TEST_CASE("merge order: a device that changes its answer to the other side's settles the field by agreement") {
  // T1 answers "poor" then "good"; T2 answers "good". Whatever the order, nothing stays in conflict.
  const json first{{"road_condition", "fair"}};
  auto seen = every_order(3, first, [](World& w, const sync::Edit& e0) {
    sync::Edit t1a = w.edit(1, 1, e0.clock(), {{"road_condition", "poor"}}, {"road_condition"});
    sync::Edit t1b = w.edit(1, 2, t1a.clock(), {{"road_condition", "good"}}, {"road_condition"});
    sync::Edit t2 = w.edit(2, 1, e0.clock(), {{"road_condition", "good"}}, {"road_condition"});
    return std::vector<std::vector<Step>>{{{1, t1a}, {1, t1b}}, {{2, t2}}};
  }, [](World& w, const Outcome& o) {
    CHECK(o.inbox.empty());
    CHECK(o.conflicted == json::array());
    CHECK(w.record()["live"][0]["body"]["road_condition"] == "good");
    // Where the disagreement existed for a while, its entry was closed by agreement.
    const json resolved = w.entries("resolved");
    INFO(resolved.dump());
    for (const json& e : resolved) {
      const json res = e.value("resolution", json::object());
      CHECK(res.value("closed_by", "") == "agreement");
      CHECK(res.value("value", json()) == "good");
    }
  });
  CHECK(seen.size() == 1);
}

TEST_CASE("merge order: one candidate per device line, and the base is the candidates' common ancestor") {
  // T1 answers "poor" then "bad"; T2 answers "good": one entry, T1's later answer only, base "fair".
  const json first{{"road_condition", "fair"}};
  auto seen = every_order(3, first, [](World& w, const sync::Edit& e0) {
    sync::Edit t1a = w.edit(1, 1, e0.clock(), {{"road_condition", "poor"}}, {"road_condition"});
    sync::Edit t1b = w.edit(1, 2, t1a.clock(), {{"road_condition", "bad"}}, {"road_condition"});
    sync::Edit t2 = w.edit(2, 1, e0.clock(), {{"road_condition", "good"}}, {"road_condition"});
    return std::vector<std::vector<Step>>{{{1, t1a}, {1, t1b}}, {{2, t2}}};
  }, [](World&, const Outcome& o) {
    REQUIRE(o.inbox.count("field road_condition") == 1);
    CHECK(o.inbox.at("field road_condition").first == "fair");
    CHECK(o.inbox.at("field road_condition").second == std::set<std::string>{"T1:2 \"bad\"", "T2:1 \"good\""});
    CHECK(o.conflicted == json::array({"road_condition"}));
  });
  CHECK(seen.size() == 1);
}

TEST_CASE("merge order: a device line that deletes after editing counts once, agreeing deletions delete") {
  // T1 edits then deletes; T0 deletes: every side deletes in the end, whatever the order.
  const json first{{"pct_complete", 60}, {"status", "in_progress"}};
  auto seen = every_order(2, first, [](World& w, const sync::Edit& e0) {
    sync::Edit t1a = w.edit(1, 1, e0.clock(), {{"pct_complete", 70}, {"status", "in_progress"}}, {"pct_complete"});
    sync::Edit t1b = w.del(1, 2, t1a.clock());
    sync::Edit t0 = w.del(0, 2, e0.clock());
    return std::vector<std::vector<Step>>{{{1, t1a}, {1, t1b}}, {{0, t0}}};
  }, [](World&, const Outcome& o) {
    CHECK(o.inbox.empty());
    CHECK(o.deleted);
    CHECK_FALSE(o.deletion_pending);
  });
  CHECK(seen.size() == 1);
}

TEST_CASE("merge order: edits, a second save and deletions give the same inbox in every interleaving") {
  // T0 deletes; T1 edits two fields in two saves; T2 edits one of them and then another field; T3 deletes.
  const json first{{"pct_complete", 60}, {"status", "in_progress"}, {"jc_meetings", 1}};
  auto seen = every_order(4, first, [](World& w, const sync::Edit& e0) {
    sync::Edit t1a = w.edit(1, 1, e0.clock(), {{"pct_complete", 70}, {"status", "in_progress"}, {"jc_meetings", 1}},
                            {"pct_complete"});
    sync::Edit t1b = w.edit(1, 2, t1a.clock(), {{"pct_complete", 75}, {"status", "in_progress"}, {"jc_meetings", 1}},
                            {"pct_complete"});
    sync::Edit t2a = w.edit(2, 1, e0.clock(), {{"pct_complete", 80}, {"status", "in_progress"}, {"jc_meetings", 1}},
                            {"pct_complete"});
    sync::Edit t2b = w.edit(2, 2, t2a.clock(), {{"pct_complete", 80}, {"status", "suspended"}, {"jc_meetings", 1}},
                            {"status"});
    return std::vector<std::vector<Step>>{{{1, t1a}, {1, t1b}}, {{2, t2a}, {2, t2b}}, {{0, w.del(0, 2, e0.clock())}}};
  }, [](World&, const Outcome& o) {
    REQUIRE(o.inbox.count("delete_edit ") == 1);
    CHECK(o.inbox.at("delete_edit ").second == std::set<std::string>{"T0:2 delete", "T1:2 keep", "T2:2 keep"});
    REQUIRE(o.inbox.count("field pct_complete") == 1);
    CHECK(o.inbox.at("field pct_complete").first == 60);
    CHECK(o.inbox.at("field pct_complete").second == std::set<std::string>{"T1:2 75", "T2:1 80"});
    CHECK(o.deletion_pending);
  });
  CHECK(seen.size() == 1);
}

TEST_CASE("merge order: a resolution racing a device edit of the same field keeps only the undecided value") {
  // Entry on pct_complete {75 by T0, 70 by T1}; the admin looks, then T2 (from the first version) sets 80.
  for (const bool tablet_first : {true, false}) {
    CAPTURE(tablet_first);
    World w(3);
    const json first{{"pct_complete", 60}, {"status", "in_progress"}};
    sync::Edit e0 = w.edit(0, 1, {}, first, {});
    REQUIRE(w.push(0, e0)["outcome"] == "applied");
    w.push(0, w.edit(0, 2, e0.clock(), {{"pct_complete", 75}, {"status", "in_progress"}}, {"pct_complete"}));
    w.push(1, w.edit(1, 1, e0.clock(), {{"pct_complete", 70}, {"status", "in_progress"}}, {"pct_complete"}));
    json list = w.entries();
    REQUIRE(list.size() == 1);
    const std::int64_t id = list[0]["id"];
    const json seen = w.entry(id)["record_state"]["live"][0]["clock"];
    sync::Edit t2 = w.edit(2, 1, e0.clock(), {{"pct_complete", 80}, {"status", "in_progress"}}, {"pct_complete"});
    if (tablet_first) w.push(2, t2);
    auto res = w.resolve(id, {{"seen", seen}, {"value", 72}});
    REQUIRE_MESSAGE(res.status == 200, res.body);
    if (!tablet_first) w.push(2, t2);
    list = w.entries();
    INFO(list.dump());
    REQUIRE(list.size() == 1);
    std::set<json> values;
    for (const json& c : list[0]["candidates"]) values.insert(c["value"]);
    CHECK(values == std::set<json>{72, 80});  // 75 and 70 were decided against: they never come back
    CHECK(w.record()["conflicted"] == json::array({"pct_complete"}));
  }
}

TEST_CASE("merge order: resolving a field while a tablet changed another one closes the entry") {
  World w(3);
  const json first{{"pct_complete", 60}, {"status", "in_progress"}};
  sync::Edit e0 = w.edit(0, 1, {}, first, {});
  REQUIRE(w.push(0, e0)["outcome"] == "applied");
  w.push(0, w.edit(0, 2, e0.clock(), {{"pct_complete", 75}, {"status", "in_progress"}}, {"pct_complete"}));
  w.push(1, w.edit(1, 1, e0.clock(), {{"pct_complete", 70}, {"status", "in_progress"}}, {"pct_complete"}));
  json list = w.entries();
  REQUIRE(list.size() == 1);
  const std::int64_t id = list[0]["id"];
  const json seen = w.entry(id)["record_state"]["live"][0]["clock"];
  // T2, from the first version, changes the status only; it arrives before the resolution.
  CHECK(w.push(2, w.edit(2, 1, e0.clock(), {{"pct_complete", 60}, {"status", "suspended"}}, {"status"}))["outcome"] ==
        "merged");
  auto res = w.resolve(id, {{"seen", seen}, {"value", 72}});
  REQUIRE_MESSAGE(res.status == 200, res.body);
  CHECK(json::parse(res.body)["closed"] == true);
  CHECK(w.entries().empty());
  json rec = w.record();
  CHECK(rec["conflicted"] == json::array());
  CHECK(rec["live"][0]["body"]["pct_complete"] == 72);
  CHECK(rec["live"][0]["body"]["status"] == "suspended");
}

TEST_CASE("merge order: an entry settled by agreement keeps only the agreeing candidates") {
  // The entry's candidates when it closes are the narrowed ones: a device line's later answer replaced its
  // earlier one, so an admin never reads a keep and a delete (or "poor" and "good") under "agreement".
  // `concurrent`: the device's second save comes from its own first one (a merge); otherwise from the
  // merged version it pulled (a fast-forward).
  SUBCASE("delete_edit") {
    for (const bool concurrent : {true, false}) {
      CAPTURE(concurrent);
      World w(2);
      const json base{{"pct_complete", 60}, {"status", "in_progress"}};
      sync::Edit e0 = w.edit(0, 1, {}, base, {"pct_complete", "status"});
      REQUIRE(w.push(0, e0)["outcome"] == "applied");
      sync::Edit t1 = w.edit(1, 1, e0.clock(), {{"pct_complete", 70}, {"status", "in_progress"}}, {"pct_complete"});
      REQUIRE(w.push(1, t1)["outcome"] == "applied");
      REQUIRE(w.push(0, w.del(0, 2, e0.clock()))["outcome"] == "merged");
      json open = w.entries();
      REQUIRE(open.size() == 1);
      auto live = sync::decode_clock(w.record()["live"][0]["clock"].dump());
      REQUIRE(live.ok());
      w.push(1, w.del(1, 2, concurrent ? t1.clock() : *live));
      CHECK(w.entries().empty());
      CHECK(w.record()["deleted"] == true);
      const json e = w.entry(open[0]["id"]);
      CHECK(e["status"] == "resolved");
      CHECK(e["resolution"]["closed_by"] == "agreement");
      CHECK(e["resolution"]["action"] == "confirm_delete");
      const std::set<std::string> agreed{"T0:2 delete", "T1:2 delete"};
      CHECK(candidate_set(w, e) == agreed);
      CHECK(candidate_set(w, {{"kind", "delete_edit"}, {"candidates", e["resolution"]["candidates"]}}) == agreed);
    }
  }
  SUBCASE("field") {
    for (const bool concurrent : {true, false}) {
      CAPTURE(concurrent);
      World w(3);
      const json first{{"road_condition", "fair"}};
      sync::Edit e0 = w.edit(0, 1, {}, first, {});
      REQUIRE(w.push(0, e0)["outcome"] == "applied");
      sync::Edit t1 = w.edit(1, 1, e0.clock(), {{"road_condition", "poor"}}, {"road_condition"});
      REQUIRE(w.push(1, t1)["outcome"] == "applied");
      REQUIRE(w.push(2, w.edit(2, 1, e0.clock(), {{"road_condition", "good"}}, {"road_condition"}))["outcome"] ==
              "merged");
      json open = w.entries();
      REQUIRE(open.size() == 1);
      auto live = sync::decode_clock(w.record()["live"][0]["clock"].dump());
      REQUIRE(live.ok());
      w.push(1, w.edit(1, 2, concurrent ? t1.clock() : *live, {{"road_condition", "good"}}, {"road_condition"}));
      CHECK(w.entries().empty());
      CHECK(w.record()["conflicted"] == json::array());
      CHECK(w.record()["live"][0]["body"]["road_condition"] == "good");
      const json e = w.entry(open[0]["id"]);
      CHECK(e["status"] == "resolved");
      CHECK(e["resolution"]["closed_by"] == "agreement");
      CHECK(e["resolution"]["value"] == "good");
      const std::set<std::string> agreed{"T1:2 \"good\"", "T2:1 \"good\""};
      CHECK(candidate_set(w, e) == agreed);
      CHECK(candidate_set(w, {{"kind", "field"}, {"candidates", e["resolution"]["candidates"]}}) == agreed);
    }
  }
}

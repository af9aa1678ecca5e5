// The three-way field merge (DESIGN §4): one test per rule and the conflicts.md scenarios a pure merge can
// reach (1, 2, 3, 5). Planning and bad input: merge_plan_test; the seeded property test: merge_property_test.
#include "sync/merge.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <map>

#include <nlohmann/json.hpp>

#include "tests/support/edits.hpp"

using namespace akt::sync;
using akt::test::uuid_n;
using json = nlohmann::json;

namespace {

const std::string S = uuid_n(0x5), T1 = uuid_n(0x71), T2 = uuid_n(0x72), T3 = uuid_n(0x73),
                  T4 = uuid_n(0x74), T5 = uuid_n(0x75);

VectorClock clock_of(std::initializer_list<std::pair<std::string, std::int64_t>> entries) {
  VectorClock c;
  for (const auto& [a, n] : entries) c.advance(a, n);
  return c;
}

// A version made by an edit of `actor` with counter n on top of `ctx`.
Version ver(const std::string& actor, std::int64_t n, const VectorClock& ctx, std::vector<std::string> changed,
            const json& body, bool deleted = false) {
  Version v;
  v.dot = Dot{actor, n};
  v.clock = edit_clock(ctx, v.dot);
  v.changed = std::move(changed);
  v.body = deleted ? "{}" : body.dump();
  v.deleted = deleted;
  return v;
}

// Plans and merges like the store will: every version of the record, the live siblings, the
// provisional body and the server's next counter.
MergeResult run(const std::vector<Version>& all, const std::vector<Dot>& siblings, const std::string& provisional,
                const MergeSchema& schema = {}, std::int64_t counter = 100) {
  std::vector<VersionRef> refs;
  std::map<Dot, const Version*> by_dot;
  for (const Version& v : all) {
    refs.push_back({v.dot, v.clock});
    by_dot[v.dot] = &v;
  }
  auto plan = plan_merge(refs, siblings);
  REQUIRE(plan.ok());
  MergeInput in;
  if (plan->ancestor) in.ancestor = *by_dot.at(*plan->ancestor);
  for (std::size_t i = 0; i < plan->siblings.size(); ++i) {
    MergeSide side{*by_dot.at(plan->siblings[i]), {}};
    for (const Dot& d : plan->histories[i]) side.history.push_back(*by_dot.at(d));
    in.sides.push_back(std::move(side));
  }
  in.provisional = provisional;
  in.server_actor = S;
  in.server_counter = counter;
  auto r = merge(in, schema);
  REQUIRE(r.ok());
  return *r;
}

json body_of(const MergeResult& r) { return json::parse(r.body); }
std::optional<std::string> text(const json& j) { return j.dump(); }

MergeSchema card_schema() {
  MergeSchema s;
  s.policies["mun_involvement"] = FieldPolicy::kSetUnion;
  s.repeats["visit"] = RepeatGroup{"visit_id", {{"v_issues", FieldPolicy::kSetUnion}}};
  return s;
}

json visit(const std::string& id, int pct) { return {{"visit_id", id}, {"v_pct_observed", pct}}; }

}  // namespace

TEST_CASE("merge: rules per field") {
  Version a = ver(S, 1, {}, {}, {{"x", 1}, {"y", 1}, {"z", 1}});
  SUBCASE("changed on one side only -> taken; untouched -> kept; clock and parents") {
    Version e = ver(T1, 1, a.clock, {"x"}, {{"x", 2}, {"y", 1}, {"z", 1}});
    Version f = ver(T2, 1, a.clock, {"y"}, {{"x", 1}, {"y", 3}, {"z", 1}});
    MergeResult r = run({a, e, f}, {f.dot, e.dot}, e.body, {}, 7);
    CHECK(body_of(r) == json{{"x", 2}, {"y", 3}, {"z", 1}});
    CHECK(r.conflicts.empty());
    CHECK(r.clock == clock_of({{S, 7}, {T1, 1}, {T2, 1}}));
    CHECK(r.dot == Dot{S, 7});
    CHECK(r.parents == std::vector<Dot>{e.dot, f.dot});
    CHECK(r.changed.empty());
    CHECK(!r.deleted);
    CHECK(!r.deletion_pending());
  }
  SUBCASE("changed on several sides to the same value -> taken, no conflict") {
    Version e = ver(T1, 1, a.clock, {"x"}, {{"x", 5}, {"y", 1}, {"z", 1}});
    Version f = ver(T2, 1, a.clock, {"x"}, {{"x", 5}, {"y", 1}, {"z", 1}});
    MergeResult r = run({a, e, f}, {e.dot, f.dot}, e.body);
    CHECK(body_of(r)["x"] == 5);
    CHECK(r.conflicts.empty());
  }
  SUBCASE("different values -> conflict, provisional kept, every candidate listed") {
    Version e = ver(T1, 1, a.clock, {"x"}, {{"x", 2}, {"y", 1}, {"z", 1}});
    Version f = ver(T2, 1, a.clock, {"x"}, {{"x", 3}, {"y", 1}, {"z", 1}});
    MergeResult r = run({a, e, f}, {e.dot, f.dot}, f.body);
    CHECK(body_of(r)["x"] == 3);
    REQUIRE(r.conflicts.size() == 1);
    CHECK(r.conflicts[0].path == "x");
    CHECK(r.conflicts[0].ancestor == "1");
    CHECK(r.conflicts[0].candidates ==
          std::vector<Candidate>{{"2", e.dot, {e.dot}}, {"3", f.dot, {f.dot}}});
  }
  SUBCASE("a removal is a value: removed vs changed conflicts") {
    Version e = ver(T1, 1, a.clock, {"x"}, {{"y", 1}, {"z", 1}});
    Version f = ver(T2, 1, a.clock, {"x"}, {{"x", 3}, {"y", 1}, {"z", 1}});
    MergeResult r = run({a, e, f}, {e.dot, f.dot}, e.body);
    CHECK(!body_of(r).contains("x"));
    REQUIRE(r.conflicts.size() == 1);
    CHECK(r.conflicts[0].candidates[0].value == std::nullopt);
  }
  SUBCASE("changed and changed back counts as changed") {
    Version e1 = ver(T1, 1, a.clock, {"x"}, {{"x", 2}, {"y", 1}, {"z", 1}});
    Version e2 = ver(T1, 2, e1.clock, {"x"}, {{"x", 1}, {"y", 1}, {"z", 1}});
    Version f = ver(T2, 1, a.clock, {"x"}, {{"x", 3}, {"y", 1}, {"z", 1}});
    MergeResult r = run({a, e1, e2, f}, {e2.dot, f.dot}, e2.body);
    REQUIRE(r.conflicts.size() == 1);
    CHECK(r.conflicts[0].candidates == std::vector<Candidate>{{"1", e2.dot, {e2.dot}}, {"3", f.dot, {f.dot}}});
    CHECK(body_of(r)["x"] == 1);
  }
  SUBCASE("a difference not listed in `changed` is not a change") {
    Version e = ver(T1, 1, a.clock, {"y"}, {{"x", 9}, {"y", 2}, {"z", 1}});
    Version f = ver(T2, 1, a.clock, {"z"}, {{"x", 1}, {"y", 1}, {"z", 2}});
    MergeResult r = run({a, e, f}, {e.dot, f.dot}, e.body);
    CHECK(body_of(r) == json{{"x", 1}, {"y", 2}, {"z", 2}});
  }
  SUBCASE("no ancestor: equal values merge, every differing field conflicts") {
    Version e = ver(T1, 1, {}, {"x", "y"}, {{"x", 1}, {"y", 2}});
    Version f = ver(T2, 1, {}, {"x", "y", "z"}, {{"x", 1}, {"y", 3}, {"z", 4}});
    MergeResult r = run({e, f}, {e.dot, f.dot}, e.body);
    CHECK(body_of(r) == json{{"x", 1}, {"y", 2}});
    REQUIRE(r.conflicts.size() == 2);
    CHECK(r.conflicts[0].path == "y");
    CHECK(r.conflicts[0].ancestor == std::nullopt);
    CHECK(r.conflicts[1].path == "z");
    CHECK(r.conflicts[1].candidates == std::vector<Candidate>{{std::nullopt, e.dot, {e.dot}}, {"4", f.dot, {f.dot}}});
  }
}

TEST_CASE("merge: an earlier merge offers its candidates again, a resolution closes them") {
  Version a = ver(S, 5, {}, {}, {{"pct", 60}});
  Version e = ver(T1, 1, a.clock, {"pct"}, {{"pct", 75}});
  Version f = ver(T2, 1, a.clock, {"pct"}, {{"pct", 70}});
  Version m = ver(S, 6, e.clock.join(f.clock), {}, {{"pct", 75}});  // provisional 75, pct conflicted
  Version g = ver(T3, 1, a.clock, {"pct"}, {{"pct", 80}});
  MergeResult r = run({a, e, f, m, g}, {m.dot, g.dot}, m.body);
  REQUIRE(r.conflicts.size() == 1);
  CHECK(r.conflicts[0].candidates == std::vector<Candidate>{
                                         {"75", e.dot, {m.dot}}, {"70", f.dot, {m.dot}}, {"80", g.dot, {g.dot}}});
  CHECK(body_of(r)["pct"] == 75);

  Version res = ver(S, 7, m.clock, {"pct"}, {{"pct", 72}});  // an admin's resolution
  MergeResult r2 = run({a, e, f, m, res, g}, {res.dot, g.dot}, res.body);
  REQUIRE(r2.conflicts.size() == 1);
  CHECK(r2.conflicts[0].candidates == std::vector<Candidate>{{"72", res.dot, {res.dot}}, {"80", g.dot, {g.dot}}});
  Version h = ver(T3, 1, a.clock, {"other"}, {{"pct", 60}, {"other", 1}});
  MergeResult r3 = run({a, e, f, m, res, h}, {res.dot, h.dot}, res.body);
  CHECK(r3.conflicts.empty());
  CHECK(body_of(r3) == json{{"pct", 72}, {"other", 1}});
}

TEST_CASE("merge: set_union combines additions and removals relative to the ancestor") {
  MergeSchema schema;
  schema.policies["tags"] = FieldPolicy::kSetUnion;
  Version a = ver(S, 1, {}, {}, {{"tags", {"a"}}});
  auto side = [&](const std::string& actor, json tags) { return ver(actor, 1, a.clock, {"tags"}, {{"tags", tags}}); };
  SUBCASE("{a} + {a,b} + {a,c} -> {a,b,c}") {
    Version e = side(T1, {"a", "b"}), f = side(T2, {"a", "c"});
    MergeResult r = run({a, e, f}, {e.dot, f.dot}, e.body, schema);
    CHECK(body_of(r)["tags"] == json{"a", "b", "c"});
    CHECK(r.conflicts.empty());
    CHECK(r.changed == std::vector<std::string>{"tags"});
  }
  SUBCASE("a removal on one side wins over a side that kept the code") {
    Version e = side(T1, json::array()), f = side(T2, {"a", "c"});
    MergeResult r = run({a, e, f}, {f.dot, e.dot}, f.body, schema);
    CHECK(body_of(r)["tags"] == json{"c"});
    CHECK(r.conflicts.empty());
  }
  SUBCASE("one side only: its value verbatim, not made by the merge") {
    Version e = side(T1, {"c", "a"});
    Version f = ver(T2, 1, a.clock, {"x"}, {{"tags", {"a"}}, {"x", 1}});
    MergeResult r = run({a, e, f}, {e.dot, f.dot}, e.body, schema);
    CHECK(body_of(r)["tags"] == json{"c", "a"});
    CHECK(r.changed.empty());
  }
  SUBCASE("not an array: the default rule") {
    Version e = side(T1, "b"), f = side(T2, {"a", "c"});
    MergeResult r = run({a, e, f}, {e.dot, f.dot}, e.body, schema);
    CHECK(r.conflicts.size() == 1);
  }
}

TEST_CASE("merge: a computed field never conflicts, it keeps the provisional value for the caller to recompute") {
  MergeSchema schema;
  schema.policies["total"] = FieldPolicy::kComputed;
  schema.repeats["visit"] = RepeatGroup{"visit_id", {{"v_sum", FieldPolicy::kComputed}}};
  Version a = ver(S, 1, {}, {}, {{"x", 1}, {"y", 1}, {"total", 2}, {"visit", {{{"visit_id", "V"}, {"v_sum", 0}}}}});
  Version e = ver(T1, 1, a.clock, {"x", "total", "visit[V].v_sum"},
                  {{"x", 5}, {"y", 1}, {"total", 6}, {"visit", {{{"visit_id", "V"}, {"v_sum", 1}}}}});
  Version f = ver(T2, 1, a.clock, {"y", "total", "visit[V].v_sum"},
                  {{"x", 1}, {"y", 7}, {"total", 8}, {"visit", {{{"visit_id", "V"}, {"v_sum", 2}}}}});
  for (const auto& [first, second] : {std::pair{e, f}, std::pair{f, e}}) {
    MergeResult r = run({a, e, f}, {first.dot, second.dot}, first.body, schema);
    CHECK(r.conflicts.empty());
    CHECK(body_of(r)["x"] == 5);
    CHECK(body_of(r)["y"] == 7);
    CHECK(body_of(r)["total"] == json::parse(first.body)["total"]);  // provisional, until recomputed
    CHECK(body_of(r)["visit"][0]["v_sum"] == json::parse(first.body)["visit"][0]["v_sum"]);
  }
  // Without the policy the same histories conflict on the total: the policy is what prevents it.
  MergeResult plain = run({a, e, f}, {e.dot, f.dot}, e.body);
  CHECK(plain.conflicts.size() == 2);
}

TEST_CASE("merge: repeat groups merge per item id") {
  MergeSchema schema = card_schema();
  Version a = ver(S, 1, {}, {}, {{"visit", {visit("V-1", 10), visit("V-2", 20)}}});
  json base = json::parse(a.body);
  auto with = [&](std::function<void(json&)> f) {
    json b = base;
    f(b["visit"]);
    return b;
  };
  SUBCASE("different fields of one item, items added on both sides") {
    Version e = ver(T1, 1, a.clock, {"visit[V-1].v_pct_observed", "visit[V-a]"}, with([](json& v) {
                      v[0]["v_pct_observed"] = 15;
                      v.push_back(visit("V-a", 1));
                    }));
    Version f = ver(T2, 1, a.clock, {"visit[V-1].note", "visit[V-b].visit_id", "visit[V-b].v_pct_observed"},
                    with([](json& v) {
                      v[0]["note"] = "ok";
                      v.push_back(visit("V-b", 2));
                    }));
    MergeResult r = run({a, e, f}, {e.dot, f.dot}, e.body, schema);
    json v1 = visit("V-1", 15);
    v1["note"] = "ok";
    CHECK(body_of(r)["visit"] == json{v1, visit("V-2", 20), visit("V-a", 1), visit("V-b", 2)});
    CHECK(r.conflicts.empty());
  }
  SUBCASE("one item field changed on both sides -> a conflict on its path") {
    Version e = ver(T1, 1, a.clock, {"visit[V-2].v_pct_observed"}, with([](json& v) { v[1]["v_pct_observed"] = 25; }));
    Version f = ver(T2, 1, a.clock, {"visit[V-2].v_pct_observed"}, with([](json& v) { v[1]["v_pct_observed"] = 30; }));
    MergeResult r = run({a, e, f}, {e.dot, f.dot}, f.body, schema);
    REQUIRE(r.conflicts.size() == 1);
    CHECK(r.conflicts[0].path == "visit[V-2].v_pct_observed");
    CHECK(body_of(r)["visit"][1]["v_pct_observed"] == 30);
  }
  SUBCASE("removed on one side: gone; removed vs edited: one item conflict, provisional item kept") {
    Version e = ver(T1, 1, a.clock, {"visit[V-1]"}, with([](json& v) { v.erase(0); }));
    Version f = ver(T2, 1, a.clock, {"x"}, with([](json&) {}));
    // json::array, not json{x}: with one element, json{x} is x itself with clang and [x] with GCC.
    CHECK(body_of(run({a, e, f}, {e.dot, f.dot}, e.body, schema))["visit"] == json::array({visit("V-2", 20)}));
    Version g = ver(T2, 1, a.clock, {"visit[V-1].v_pct_observed"}, with([](json& v) { v[0]["v_pct_observed"] = 11; }));
    MergeResult r = run({a, e, g}, {e.dot, g.dot}, g.body, schema);
    REQUIRE(r.conflicts.size() == 1);
    CHECK(r.conflicts[0].path == "visit[V-1]");
    CHECK(r.conflicts[0].candidates[0].value == std::nullopt);
    CHECK(r.conflicts[0].candidates[1].value == text(visit("V-1", 11)));
    CHECK(body_of(r)["visit"] == json{visit("V-1", 11), visit("V-2", 20)});
  }
}

TEST_CASE("merge: merged repeat items are ordered by item id, whatever the ancestor's order") {
  MergeSchema schema = card_schema();
  Version a = ver(S, 1, {}, {}, {{"visit", {visit("V-2", 20), visit("V-1", 10)}}});
  json e_body = json::parse(a.body), f_body = e_body;
  e_body["visit"].push_back(visit("V-0", 1));
  f_body["visit"][0]["v_pct_observed"] = 25;
  Version e = ver(T1, 1, a.clock, {"visit[V-0]"}, e_body);
  Version f = ver(T2, 1, a.clock, {"visit[V-2].v_pct_observed"}, f_body);
  MergeResult r = run({a, e, f}, {e.dot, f.dot}, e.body, schema);
  CHECK(body_of(r)["visit"] == json{visit("V-0", 1), visit("V-1", 10), visit("V-2", 25)});
  CHECK(run({a, e, f}, {e.dot, f.dot}, f.body, schema).body == r.body);
}

TEST_CASE("merge: one candidate per device line, an open entry's candidates join, agreement settles") {
  Version a = ver(T3, 1, {}, {"q"}, {{"q", "fair"}});
  Version p1 = ver(T1, 1, a.clock, {"q"}, {{"q", "poor"}});
  Version p2 = ver(T1, 2, p1.clock, {"q"}, {{"q", "good"}});
  Version g = ver(T2, 1, a.clock, {"q"}, {{"q", "good"}});
  SUBCASE("narrow_candidates keeps a line's latest only, never a server's line") {
    std::vector<Candidate> c{{text("poor"), p1.dot, {p1.dot}}, {text("good"), p2.dot, {p2.dot}},
                             {text("good"), g.dot, {g.dot}}, {text("x"), Dot{S, 3}, {}}, {text("y"), Dot{S, 4}, {}}};
    narrow_candidates(c, {}, S, {});
    REQUIRE(c.size() == 4);
    CHECK(c[0].dot == Dot{S, 3});
    CHECK(c[1].dot == Dot{S, 4});
    CHECK(c[2].dot == p2.dot);
    CHECK(c[3].dot == g.dot);
  }
  SUBCASE("a decider's candidate replaces what its author saw") {
    Version r = ver(T4, 1, p1.clock.join(g.clock), {"q"}, {{"q", "ok"}});
    std::vector<Candidate> c{{text("poor"), p1.dot, {}}, {text("good"), g.dot, {}}, {text("ok"), r.dot, {}},
                             {text("late"), Dot{T5, 1}, {}}};
    narrow_candidates(c, {{p1.dot, p1.clock}, {g.dot, g.clock}, {r.dot, r.clock}, {Dot{T5, 1}, ver(T5, 1, a.clock, {}, {}).clock}},
                      S, {T4});
    REQUIRE(c.size() == 2);
    CHECK(c[0].dot == r.dot);
    CHECK(c[1].dot == Dot{T5, 1});
  }
  SUBCASE("the open entry {poor, good}: the line's later answer agrees, the path is settled") {
    // The merge of the record's merged version (T1:1 and T2:1) with T1:2 made from T1:1 only.
    std::vector<VersionRef> refs;
    MergeResult m1 = run({a, p1, g}, {p1.dot, g.dot}, p1.body, {}, 10);
    REQUIRE(m1.conflicts.size() == 1);
    Version mv = ver(S, 10, {}, {}, json::parse(m1.body));
    mv.clock = m1.clock;
    MergeInput in;
    in.ancestor = p1;
    in.sides = {MergeSide{mv, {g, mv}}, MergeSide{p2, {p2}}};
    in.provisional = mv.body;
    in.server_actor = S;
    in.server_counter = 11;
    in.open["q"] = m1.conflicts[0].candidates;
    in.clocks = {{a.dot, a.clock}, {p1.dot, p1.clock}, {p2.dot, p2.clock}, {g.dot, g.clock}, {mv.dot, mv.clock}};
    auto r = merge(in, {});
    REQUIRE(r.ok());
    CHECK(r->conflicts.empty());
    CHECK(r->settled == std::vector<std::string>{"q"});
    CHECK(body_of(*r)["q"] == "good");
  }
}

TEST_CASE("scenario 1: two enumerators edit the same project card offline") {
  const MergeSchema schema = card_schema();
  json v5_body = {{"status", "in_progress"}, {"pct_complete", 60}, {"ben_serb", 40}, {"ben_total", 95},
                  {"jc_meetings", 4}, {"mun_involvement", {"cofinancing"}},
                  {"visit", {visit("V-1", 20), visit("V-2", 40), visit("V-3", 60)}}};
  Version v5 = ver(S, 5, clock_of({{S, 4}}), {}, v5_body);
  json t1 = v5_body;
  json va = visit("V-a", 75);
  va["v_photo_1"] = "sha256-1";
  va["v_photo_2"] = "sha256-2";
  t1["visit"].push_back(va);
  t1["pct_complete"] = 75;
  t1["mun_involvement"] = {"cofinancing", "technical_supervision"};
  Version e1 = ver(T1, 1, v5.clock, {"visit[V-a]", "pct_complete", "mun_involvement"}, t1);
  json t2 = v5_body;
  t2["visit"].push_back(visit("V-b", 70));
  t2["pct_complete"] = 70;
  t2["ben_serb"] = 45;
  t2["jc_meetings"] = 5;
  Version e2 = ver(T2, 1, v5.clock,
                   {"visit[V-b].visit_id", "visit[V-b].v_pct_observed", "pct_complete", "ben_serb", "jc_meetings"}, t2);

  MergeResult t1_first = run({v5, e1, e2}, {e1.dot, e2.dot}, e1.body, schema, 6);
  MergeResult t2_first = run({v5, e2, e1}, {e2.dot, e1.dot}, e2.body, schema, 6);
  json expected = v5_body;
  expected["visit"] = {visit("V-1", 20), visit("V-2", 40), visit("V-3", 60), va, visit("V-b", 70)};
  expected["mun_involvement"] = {"cofinancing", "technical_supervision"};
  expected["ben_serb"] = 45;
  expected["jc_meetings"] = 5;
  expected["pct_complete"] = 75;  // provisional: T1's value was on the server first
  CHECK(body_of(t1_first) == expected);
  expected["pct_complete"] = 70;
  CHECK(body_of(t2_first) == expected);
  CHECK(t1_first.clock == clock_of({{S, 6}, {T1, 1}, {T2, 1}}));
  REQUIRE(t1_first.conflicts.size() == 1);
  CHECK(t1_first.conflicts == t2_first.conflicts);
  CHECK(t1_first.conflicts[0].path == "pct_complete");
  CHECK(t1_first.conflicts[0].ancestor == "60");
  CHECK(t1_first.conflicts[0].candidates == std::vector<Candidate>{{"75", e1.dot, {e1.dot}}, {"70", e2.dot, {e2.dot}}});

  SUBCASE("both add municipal involvement: set union") {
    t2["mun_involvement"] = {"cofinancing", "permits"};
    Version e2b = ver(T2, 1, v5.clock, {"mun_involvement"}, t2);
    MergeResult r = run({v5, e1, e2b}, {e1.dot, e2b.dot}, e1.body, schema, 6);
    CHECK(body_of(r)["mun_involvement"] == json{"cofinancing", "permits", "technical_supervision"});
  }
}

TEST_CASE("scenario 2: supervisor correction vs photos merges without a conflict") {
  json v3_body = {{"ben_roma", 0}, {"ben_method", "committee_estimate"}, {"works_quality", "acceptable"},
                  {"visit", {visit("V-1", 50)}}};
  Version v3 = ver(T3, 1, clock_of({{S, 2}}), {}, v3_body);
  json sup = v3_body;
  sup["ben_roma"] = 12;
  sup["ben_method"] = "municipal_records";
  Version v4 = ver(S, 3, v3.clock, {"ben_roma", "ben_method"}, sup);
  json t3 = v3_body;
  json vc = visit("V-c", 80);
  for (int i = 1; i <= 3; ++i) {
    vc["v_photo_" + std::to_string(i)] = "sha256-" + std::to_string(i);
    vc["v_photo_" + std::to_string(i) + "_caption"] = "caption " + std::to_string(i);
  }
  t3["visit"].push_back(vc);
  t3["works_quality"] = "good";
  Version e = ver(T3, 2, v3.clock, {"visit[V-c]", "works_quality"}, t3);
  MergeResult r = run({v3, v4, e}, {v4.dot, e.dot}, v4.body, card_schema(), 4);
  CHECK(r.conflicts.empty());
  CHECK(r.clock == clock_of({{S, 4}, {T3, 2}}));
  json expected = sup;
  expected["visit"].push_back(vc);
  expected["works_quality"] = "good";
  CHECK(body_of(r) == expected);

  SUBCASE("variant: both touched ben_roma -> one field conflict, no supervisor wins") {
    t3["ben_roma"] = 5;
    Version e_b = ver(T3, 2, v3.clock, {"visit[V-c]", "works_quality", "ben_roma"}, t3);
    MergeResult rb = run({v3, v4, e_b}, {v4.dot, e_b.dot}, v4.body, card_schema(), 4);
    REQUIRE(rb.conflicts.size() == 1);
    CHECK(rb.conflicts[0].path == "ben_roma");
    CHECK(rb.conflicts[0].candidates == std::vector<Candidate>{{"12", v4.dot, {v4.dot}}, {"5", e_b.dot, {e_b.dot}}});
  }
}

TEST_CASE("scenario 3: delete vs edit keeps the record and the edit, deletion pending") {
  Version v1 = ver(T4, 1, {}, {"emp_now_ft"}, {{"emp_now_ft", 3}, {"emp_now_pt", 1}});
  Version tomb = ver(T4, 2, v1.clock, {}, {}, true);
  Version e = ver(T5, 1, v1.clock, {"emp_now_ft"}, {{"emp_now_ft", 4}, {"emp_now_pt", 1}});
  MergeResult a = run({v1, tomb, e}, {tomb.dot, e.dot}, tomb.body);
  MergeResult b = run({v1, e, tomb}, {e.dot, tomb.dot}, e.body);
  for (const MergeResult* r : {&a, &b}) {
    CHECK(body_of(*r) == json{{"emp_now_ft", 4}, {"emp_now_pt", 1}});
    CHECK(!r->deleted);
    REQUIRE(r->deletion_pending());
    REQUIRE(r->delete_edit->candidates.size() == 2);
    CHECK(r->delete_edit->candidates[0].dot == tomb.dot);
    CHECK(r->delete_edit->candidates[0].value == "true");
    CHECK(r->delete_edit->candidates[1].dot == e.dot);
    CHECK(r->delete_edit->candidates[1].value == "false");
    CHECK(r->conflicts.empty());
  }
  CHECK(a == b);
  SUBCASE("two concurrent tombstones: a clean delete") {
    Version tomb2 = ver(T5, 1, v1.clock, {}, {}, true);
    MergeResult r = run({v1, tomb, tomb2}, {tomb.dot, tomb2.dot}, tomb.body);
    CHECK(r.deleted);
    CHECK(!r.deletion_pending());
    CHECK(r.body == "{}");
  }
}

TEST_CASE("scenario 5: duplicates are idempotent") {
  Version a = ver(S, 1, {}, {}, {{"x", 1}, {"y", 1}});
  Version e = ver(T1, 1, a.clock, {"x"}, {{"x", 2}, {"y", 1}});
  Version f = ver(T2, 1, a.clock, {"y"}, {{"x", 1}, {"y", 2}});
  MergeInput in{{MergeSide{e, {e}}, MergeSide{f, {f}}}, a, e.body, S, 2, {}, {}, {}};
  auto once = merge(in, {});
  REQUIRE(once.ok());
  in.sides.push_back(MergeSide{e, {e}});  // the same sibling delivered twice
  auto twice = merge(in, {});
  REQUIRE(twice.ok());
  CHECK(*once == *twice);
  CHECK(*merge(in, {}) == *twice);
  SUBCASE("identical siblings' content merges to that content") {
    Version g = ver(T2, 1, a.clock, {"x"}, {{"x", 2}, {"y", 1}});
    auto r = merge(MergeInput{{MergeSide{e, {}}, MergeSide{g, {}}}, a, e.body, S, 2, {}, {}, {}}, {});
    REQUIRE(r.ok());
    CHECK(json::parse(r->body) == json::parse(e.body));
    CHECK(r->conflicts.empty());
  }
}

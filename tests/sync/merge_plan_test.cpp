// plan_merge and meet (choosing the ancestor and the side histories), and merge's refusals of bad input:
// a Status, never an exception. The merge rules and scenarios are in merge_test.cpp.
#include "sync/merge.hpp"

#include <doctest/doctest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "tests/support/edits.hpp"

using namespace akt::sync;
using akt::test::uuid_n;
using json = nlohmann::json;

namespace {

const std::string S = uuid_n(0x5), T1 = uuid_n(0x71), T2 = uuid_n(0x72), T3 = uuid_n(0x73), T5 = uuid_n(0x75);

VectorClock clock_of(std::initializer_list<std::pair<std::string, std::int64_t>> entries) {
  VectorClock c;
  for (const auto& [a, n] : entries) c.advance(a, n);
  return c;
}

Version ver(const std::string& actor, std::int64_t n, const VectorClock& ctx, std::vector<std::string> changed,
            const json& body) {
  Version v;
  v.dot = Dot{actor, n};
  v.clock = edit_clock(ctx, v.dot);
  v.changed = std::move(changed);
  v.body = body.dump();
  return v;
}

}  // namespace

TEST_CASE("meet: pointwise minimum") {
  CHECK(meet(clock_of({{T1, 3}, {T2, 1}}), clock_of({{T1, 2}, {S, 4}})) == clock_of({{T1, 2}}));
  CHECK(meet(std::vector<VectorClock>{}).empty());
  CHECK(meet({clock_of({{S, 5}, {T1, 1}}), clock_of({{S, 5}, {T2, 1}}), clock_of({{S, 4}, {T2, 2}})}) ==
        clock_of({{S, 4}}));
}

TEST_CASE("plan_merge: ancestor and side histories") {
  Version a = ver(S, 1, {}, {"x"}, {{"x", 1}});
  Version e1 = ver(T1, 1, a.clock, {"x"}, {{"x", 2}});
  Version e2 = ver(T1, 2, e1.clock, {"x"}, {{"x", 3}});
  Version f1 = ver(T2, 1, a.clock, {"y"}, {{"x", 1}, {"y", 1}});
  std::vector<VersionRef> refs{{a.dot, a.clock}, {e1.dot, e1.clock}, {e2.dot, e2.clock}, {f1.dot, f1.clock}};
  auto plan = plan_merge(refs, {f1.dot, e2.dot, f1.dot});
  REQUIRE(plan.ok());
  CHECK(plan->siblings == std::vector<Dot>{e2.dot, f1.dot});
  CHECK(plan->ancestor == a.dot);
  CHECK(plan->histories[0] == std::vector<Dot>{e1.dot, e2.dot});
  CHECK(plan->histories[1] == std::vector<Dot>{f1.dot});

  SUBCASE("criss-cross: the greatest maximal dot; the other maximum is in both histories") {
    Version b = ver(T3, 1, {}, {"z"}, {{"z", 1}});
    Version m1 = ver(T1, 5, a.clock.join(b.clock), {"x"}, {});
    Version m2 = ver(T2, 5, a.clock.join(b.clock), {"y"}, {});
    auto p = plan_merge({{a.dot, a.clock}, {b.dot, b.clock}, {m1.dot, m1.clock}, {m2.dot, m2.clock}},
                        {m1.dot, m2.dot});
    REQUIRE(p.ok());
    CHECK(p->ancestor == std::max(a.dot, b.dot));
    const Dot other = std::min(a.dot, b.dot);
    CHECK(std::count(p->histories[0].begin(), p->histories[0].end(), other) == 1);
    CHECK(std::count(p->histories[1].begin(), p->histories[1].end(), other) == 1);
  }
  SUBCASE("no common version: no ancestor") {
    auto p = plan_merge({{e1.dot, clock_of({{T1, 1}})}, {f1.dot, clock_of({{T2, 1}})}}, {e1.dot, f1.dot});
    REQUIRE(p.ok());
    CHECK(!p->ancestor);
  }
  CHECK(!plan_merge(refs, {}).ok());
  CHECK(!plan_merge(refs, {Dot{T5, 9}}).ok());
}


TEST_CASE("merge: bad input is a Status, never an exception") {
  Version a = ver(S, 1, {}, {}, {{"x", 1}});
  Version e = ver(T1, 1, a.clock, {"x"}, {{"x", 2}});
  Version f = ver(T2, 1, a.clock, {"x"}, {{"x", 3}});
  CHECK(merge(MergeInput{{}, a, "{}", S, 2, {}, {}, {}}, {}).status().code() == akt::Status::Code::kInvalidArgument);
  CHECK(!merge(MergeInput{{{e, {}}, {f, {}}}, a, "{}", "", 2, {}, {}, {}}, {}).ok());
  CHECK(!merge(MergeInput{{{e, {}}, {f, {}}}, a, "{}", S, 0, {}, {}, {}}, {}).ok());
  CHECK(!merge(MergeInput{{{e, {}}, {f, {}}}, a, "{}", T1, 1, {}, {}, {}}, {}).ok());  // dot already covered
  Version bad = f;
  bad.body = "{\"x\":";
  CHECK(merge(MergeInput{{{e, {}}, {bad, {}}}, a, "{}", S, 2, {}, {}, {}}, {}).status().code() ==
        akt::Status::Code::kCorruption);
  CHECK(!merge(MergeInput{{{e, {}}, {f, {}}}, a, "[1]", S, 2, {}, {}, {}}, {}).ok());
  Version clash = e;
  clash.body = R"({"x":7})";
  CHECK(!merge(MergeInput{{{e, {}}, {clash, {}}, {f, {}}}, a, "{}", S, 2, {}, {}, {}}, {}).ok());
}

// Every case of DESIGN §3 steps 1-3, and a property: the decision never drops a live version that is
// not dominated by the edit.
#include "sync/push_decision.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <random>

#include "tests/support/edits.hpp"

using namespace akt::sync;
using akt::test::uuid_n;

namespace {

const std::string A = uuid_n(0xA), B = uuid_n(0xB), C = uuid_n(0xC);

VectorClock clock_of(std::initializer_list<std::pair<std::string, std::int64_t>> entries) {
  VectorClock c;
  for (const auto& [a, n] : entries) c.advance(a, n);
  return c;
}

LiveRef live(const std::string& actor, std::int64_t n, VectorClock ctx) {
  return LiveRef{Dot{actor, n}, edit_clock(ctx, Dot{actor, n})};
}

}  // namespace

TEST_CASE("decide: a new record is applied") {
  Decision d = decide_push(DotStatus::kNew, {}, Dot{A, 1}, {});
  CHECK(d.outcome == Outcome::kApplied);
  CHECK(d.retire.empty());
}

TEST_CASE("decide: fast-forward retires the version the user saw") {
  LiveRef v1 = live(A, 1, {});
  Decision d = decide_push(DotStatus::kNew, {v1}, Dot{B, 1}, v1.clock);
  CHECK(d.outcome == Outcome::kApplied);
  REQUIRE(d.retire.size() == 1);
  CHECK(d.retire[0] == v1.dot);
}

TEST_CASE("decide: duplicate and dot reuse") {
  CHECK(decide_push(DotStatus::kAppliedSameContent, {}, Dot{A, 1}, {}).outcome == Outcome::kDuplicate);
  Decision d = decide_push(DotStatus::kAppliedOtherContent, {}, Dot{A, 1}, {});
  CHECK(d.outcome == Outcome::kRejected);
  CHECK(d.reject_code == "dot_reuse");
}

TEST_CASE("decide: an edit a live version already covers is superseded") {
  LiveRef v2 = live(A, 2, clock_of({{A, 1}}));
  Decision d = decide_push(DotStatus::kNew, {v2}, Dot{A, 1}, {});
  CHECK(d.outcome == Outcome::kSuperseded);
  CHECK(d.retire.empty());
}

TEST_CASE("decide: concurrent edits become siblings") {
  LiveRef base = live(A, 1, {});
  LiveRef t1 = live(B, 1, base.clock);
  // T2 edited the same base without seeing T1's edit.
  Decision d = decide_push(DotStatus::kNew, {t1}, Dot{C, 1}, base.clock);
  CHECK(d.outcome == Outcome::kConcurrent);
  CHECK(d.retire.empty());
}

TEST_CASE("decide: three-way concurrency, and an edit that saw two siblings retires both") {
  LiveRef base = live(A, 1, {});
  LiveRef s1 = live(B, 1, base.clock), s2 = live(C, 1, base.clock);
  Decision d3 = decide_push(DotStatus::kNew, {s1, s2}, Dot{A, 2}, base.clock);
  CHECK(d3.outcome == Outcome::kConcurrent);
  CHECK(d3.retire.empty());
  Decision all = decide_push(DotStatus::kNew, {s1, s2}, Dot{A, 2}, s1.clock.join(s2.clock));
  CHECK(all.outcome == Outcome::kApplied);
  CHECK(all.retire.size() == 2);
  // Seeing one of two siblings retires that one only.
  Decision one = decide_push(DotStatus::kNew, {s1, s2}, Dot{B, 2}, s1.clock);
  CHECK(one.outcome == Outcome::kConcurrent);
  REQUIRE(one.retire.size() == 1);
  CHECK(one.retire[0] == s1.dot);
}

TEST_CASE("decide: an edit that forgot the device's own earlier edit is refused, not retiring it") {
  LiveRef mine = live(A, 1, {});
  // Context empty, yet the dot A:2 would dominate A:1: the user never saw A:1's state.
  Decision d = decide_push(DotStatus::kNew, {mine}, Dot{A, 2}, {});
  CHECK(d.outcome == Outcome::kRejected);
  CHECK(d.reject_code == "stale_context");
}

TEST_CASE("decide: a context containing the edit's own dot is invalid") {
  Decision d = decide_push(DotStatus::kNew, {}, Dot{A, 3}, clock_of({{A, 3}}));
  CHECK(d.outcome == Outcome::kRejected);
  CHECK(d.reject_code == "invalid_context");
}

TEST_CASE("decide: property: no live version is dropped unless the edit dominates it") {
  std::uint64_t seed = std::random_device{}();
  if (const char* env = std::getenv("AKT_SEED")) seed = std::strtoull(env, nullptr, 10);
  MESSAGE("push decision property seed = " << seed << " (AKT_SEED=" << seed << " replays it)");
  INFO("seed = " << seed);
  std::mt19937_64 rng(seed);
  const std::string actors[] = {A, B, C, uuid_n(0xD)};
  for (int round = 0; round < 500; ++round) {
    // Build a random history by applying random edits through decide_push itself, tracking live.
    std::vector<LiveRef> lives;
    std::vector<LiveRef> all;
    std::int64_t counters[4] = {0, 0, 0, 0};
    for (int step = 0; step < 30; ++step) {
      std::size_t a = rng() % 4;
      VectorClock ctx;
      // The context is the clock of a random known version (or empty), joined with the device's own
      // latest edit, as a well-behaved device does.
      if (!all.empty() && rng() % 4 != 0) ctx = all[rng() % all.size()].clock;
      for (const LiveRef& v : all)
        if (v.dot.actor == actors[a]) ctx = ctx.join(v.clock);
      Dot dot{actors[a], ++counters[a]};
      Decision d = decide_push(DotStatus::kNew, lives, dot, ctx);
      VectorClock clock = edit_clock(ctx, dot);
      REQUIRE(d.outcome != Outcome::kRejected);
      for (const LiveRef& s : lives) {
        bool retired = std::find(d.retire.begin(), d.retire.end(), s.dot) != d.retire.end();
        // Retired exactly when dominated.
        CHECK(retired == (s.clock.compare(clock) == Order::kBefore));
      }
      LiveRef ref{dot, clock};
      all.push_back(ref);
      if (d.outcome == Outcome::kSuperseded) continue;
      std::erase_if(lives, [&](const LiveRef& s) {
        return std::find(d.retire.begin(), d.retire.end(), s.dot) != d.retire.end();
      });
      lives.push_back(ref);
      CHECK((d.outcome == Outcome::kApplied) == (lives.size() == 1));
      // Live versions stay pairwise concurrent.
      for (std::size_t i = 0; i < lives.size(); ++i)
        for (std::size_t j = i + 1; j < lives.size(); ++j)
          CHECK(lives[i].clock.compare(lives[j].clock) == Order::kConcurrent);
    }
  }
}

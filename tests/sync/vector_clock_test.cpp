// Vector clock laws, checked on seeded random clocks (the seed is printed).
#include "sync/vector_clock.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <random>

#include "tests/support/edits.hpp"

using akt::sync::Order;
using akt::sync::VectorClock;

namespace {

VectorClock random_clock(std::mt19937_64& rng) {
  VectorClock c;
  std::uniform_int_distribution<int> actors(0, 4), counter(0, 3);
  int k = actors(rng);
  for (int i = 0; i < k; ++i) c.advance(akt::test::uuid_n(static_cast<std::uint64_t>(actors(rng))), counter(rng));
  return c;
}

}  // namespace

TEST_CASE("vector clock: basic order") {
  VectorClock a, b;
  const std::string x = akt::test::uuid_n(1), y = akt::test::uuid_n(2);
  CHECK(a.compare(b) == Order::kEqual);
  b.advance(x, 1);
  CHECK(a.compare(b) == Order::kBefore);
  CHECK(b.compare(a) == Order::kAfter);
  a.advance(y, 1);
  CHECK(a.compare(b) == Order::kConcurrent);
  VectorClock j = a.join(b);
  CHECK(j.get(x) == 1);
  CHECK(j.get(y) == 1);
  CHECK(a.compare(j) == Order::kBefore);
  a.advance(y, 0);  // zero never stored, never lowers
  CHECK(a.get(y) == 1);
  VectorClock z;
  z.advance(x, 0);
  CHECK(z.empty());
}

TEST_CASE("vector clock: partial-order and join laws over random clocks") {
  std::uint64_t seed = std::random_device{}();
  if (const char* env = std::getenv("AKT_SEED")) seed = std::strtoull(env, nullptr, 10);
  MESSAGE("vector clock laws seed = " << seed << " (AKT_SEED=" << seed << " replays it)");
  INFO("seed = " << seed);
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 3000; ++i) {
    VectorClock a = random_clock(rng), b = random_clock(rng), c = random_clock(rng);
    // Reflexive, antisymmetric, transitive.
    CHECK(a.leq(a));
    if (a.leq(b) && b.leq(a)) CHECK(a == b);
    if (a.leq(b) && b.leq(c)) CHECK(a.leq(c));
    // compare agrees with leq and is antisymmetric in direction.
    Order ab = a.compare(b), ba = b.compare(a);
    CHECK((ab == Order::kBefore) == (ba == Order::kAfter));
    CHECK((ab == Order::kConcurrent) == (ba == Order::kConcurrent));
    CHECK((ab == Order::kEqual) == (a == b));
    // Join: commutative, associative, idempotent, and the least upper bound.
    CHECK(a.join(b) == b.join(a));
    CHECK(a.join(b).join(c) == a.join(b.join(c)));
    CHECK(a.join(a) == a);
    CHECK(a.leq(a.join(b)));
    CHECK(b.leq(a.join(b)));
    if (a.leq(c) && b.leq(c)) CHECK(a.join(b).leq(c));
  }
}

TEST_CASE("vector clock: edit clock contains its dot and its context") {
  VectorClock ctx;
  ctx.advance(akt::test::uuid_n(1), 4);
  akt::sync::Dot d{akt::test::uuid_n(2), 7};
  VectorClock c = akt::sync::edit_clock(ctx, d);
  CHECK(c.contains(d));
  CHECK(ctx.leq(c));
  CHECK(ctx.compare(c) == Order::kBefore);
}

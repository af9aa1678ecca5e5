// The store contract under racing callers: what must happen once happens once, whichever engine and
// however the updates interleave (SQLite serialises writers; PostgreSQL runs them at once and relies on
// each write re-checking its precondition in the same statement, docs/STORE.md §4).
#include "tests/store/contract/engines.hpp"

#include <atomic>
#include <thread>
#include <vector>

#include "tests/support/edits.hpp"

using namespace akt;
using akt::test::read;
using akt::test::write;

namespace {

constexpr int kRacers = 6;

// Runs attempt(i) on kRacers threads at once; returns how many answered OK. Any other answer than
// `refused` fails the test.
template <class F>
int race(F attempt, Status::Code refused) {
  std::atomic<int> ok{0}, other{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kRacers; ++i)
    threads.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      Status st = attempt(i);
      if (st.ok()) ++ok;
      else if (st.code() != refused) ++other;
    });
  go = true;
  for (auto& t : threads) t.join();
  CHECK(other.load() == 0);
  return ok.load();
}

}  // namespace

AKT_CONTRACT_CASE("races: a code is used once, an actor registered once, a draft published once") {
  store::User u;
  u.username = "racer";
  u.role = sync::Role::kEnumerator;
  u.password_hash = "x";
  auto id = write(engine, [&](store::StoreWriter& tx) { return tx.insert_user(u); });
  REQUIRE(id.ok());
  const std::string code(32, 'r');
  store::FormRow form;
  form.form_id = "visit";
  form.version = 1;
  form.title = "t";
  form.definition = "{}";
  REQUIRE(write(engine, [&](store::StoreWriter& tx) {
    AKT_TRY(tx.insert_enrolment(code, *id, "tab", *id, 1, 1000000));
    return tx.put_form_draft(form);
  }).ok());

  CHECK(race([&](int i) {
    return write(engine, [&](store::StoreWriter& tx) {
      return tx.use_enrolment(code, test::uuid_n(static_cast<std::uint64_t>(0x900 + i)), 10);
    }).status();
  }, Status::Code::kNotFound) == 1);

  const std::string actor = test::uuid_n(0x999);
  CHECK(race([&](int i) {
    return write(engine, [&](store::StoreWriter& tx) {
      return tx.register_device(actor, *id, "tab " + std::to_string(i), "1", 10);
    });
  }, Status::Code::kConflict) == 1);

  CHECK(race([&](int i) {
    return write(engine, [&](store::StoreWriter& tx) { return tx.publish_form("visit", 1, 100 + i); });
  }, Status::Code::kConflict) == 1);

  CHECK(race([&](int i) {
    store::User same = u;
    same.username = "taken";
    same.display_name = std::to_string(i);
    return write(engine, [&](store::StoreWriter& tx) { return tx.insert_user(same); }).status();
  }, Status::Code::kConflict) == 1);
}

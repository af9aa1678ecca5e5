// The store contract, transactions: a failed update rolls back its own writes and nothing else, also
// among concurrent updates; the schema is current after open. Run on every engine (engines.hpp).
#include "tests/store/contract/engines.hpp"

#include <thread>
#include <vector>

#include "tests/support/edits.hpp"

using namespace akt;
using akt::test::read;
using akt::test::write;

namespace {

std::size_t audit_count(test::Engine& e) {
  auto rows = read(e, [](store::StoreReader& tx) { return tx.list_audit({}, 0, 100000); });
  REQUIRE(rows.ok());
  return rows->size();
}

}  // namespace

AKT_CONTRACT_CASE("transactions: a failed update rolls back its own writes; the next one commits") {
  Status st = engine.store->update([](store::StoreWriter& tx) {
    AKT_TRY(tx.insert_audit(1, "ana", "first", "", "{}", ""));
    AKT_TRY(tx.put_upload(store::UploadRow{"gone", std::string(64, 'b'), "image/jpeg", 1, 1}, test::uuid_n(0xC)));
    return Status::invalid_argument("changed my mind");
  });
  CHECK(st.code() == Status::Code::kInvalidArgument);
  CHECK(st.message() == "changed my mind");
  CHECK(audit_count(engine) == 0);
  auto uploads = read(engine, [](store::StoreReader& tx) { return tx.list_uploads(); });
  REQUIRE(uploads.ok());
  CHECK(uploads->empty());
  REQUIRE(write(engine, [](store::StoreWriter& tx) { return tx.insert_audit(2, "ana", "second", "", "{}", ""); }).ok());
  CHECK(audit_count(engine) == 1);
}

AKT_CONTRACT_CASE("transactions: among concurrent updates, each failed one rolls back alone") {
  constexpr int kThreads = 6, kEach = 10;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const bool fail = i % 2 == 1;
        Status st = engine.store->update([&](store::StoreWriter& tx) {
          AKT_TRY(tx.insert_audit(t * 100 + i, "u" + std::to_string(t), fail ? "doomed" : "kept", "", "{}", ""));
          return fail ? Status::conflict("rolled back on purpose") : Status();
        });
        if (st.ok() == fail) ++failures[static_cast<std::size_t>(t)];  // an unexpected outcome
      }
    });
  for (auto& th : threads) th.join();
  for (int f : failures) CHECK(f == 0);
  store::AuditFilter doomed;
  doomed.action = "doomed";
  auto rows = read(engine, [&](store::StoreReader& tx) { return tx.list_audit(doomed, 0, 1000); });
  REQUIRE(rows.ok());
  CHECK(rows->empty());
  CHECK(audit_count(engine) == static_cast<std::size_t>(kThreads * kEach / 2));
}

AKT_CONTRACT_CASE("transactions: a query sees one snapshot, not a commit made while it runs") {
  REQUIRE(write(engine, [](store::StoreWriter& tx) { return tx.insert_audit(1, "a", "before", "", "{}", ""); }).ok());
  std::size_t first = 0, second = 0;
  REQUIRE(engine.store->query([&](store::StoreReader& tx) {
    auto a = tx.list_audit({}, 0, 100);
    if (!a.ok()) return a.status();
    first = a->size();
    // Another caller commits meanwhile (on its own connection / in the writer's transaction).
    Status other;
    std::thread([&] {
      other = engine.store->update([](store::StoreWriter& w) { return w.insert_audit(2, "b", "during", "", "{}", ""); });
    }).join();
    if (!other.ok()) return other;
    auto b = tx.list_audit({}, 0, 100);
    if (!b.ok()) return b.status();
    second = b->size();
    return Status();
  }).ok());
  CHECK(first == 1);
  CHECK(second == 1);
  CHECK(audit_count(engine) == 2);
}

AKT_CONTRACT_CASE("transactions: meta values are read, inserted and replaced") {
  auto none = read(engine, [](store::StoreReader& tx) { return tx.meta_value("contract_key"); });
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
  REQUIRE(write(engine, [](store::StoreWriter& tx) { return tx.put_meta("contract_key", "one"); }).ok());
  auto one = read(engine, [](store::StoreReader& tx) { return tx.meta_value("contract_key"); });
  REQUIRE(one.ok());
  CHECK(one->value_or("") == "one");
  REQUIRE(write(engine, [](store::StoreWriter& tx) { return tx.put_meta("contract_key", "two"); }).ok());
  auto two = read(engine, [](store::StoreReader& tx) { return tx.meta_value("contract_key"); });
  REQUIRE(two.ok());
  CHECK(two->value_or("") == "two");
  // The engine's own values are there as before.
  auto epoch = read(engine, [](store::StoreReader& tx) { return tx.meta_value("epoch"); });
  REQUIRE(epoch.ok());
  CHECK(epoch->value_or("") == engine.store->epoch());
}

AKT_CONTRACT_CASE("transactions: the schema is current after open") {
  auto current = read(engine, [](store::StoreReader& tx) { return tx.schema_is_current(); });
  REQUIRE(current.ok());
  CHECK(*current);
}

// The store contract suite's engines (issue #20): each test body is written once, over the seam
// (store_tx.hpp), and AKT_CONTRACT_CASE registers it twice, "sqlite: <name>" on a fresh ServerStore and
// "postgres: <name>" on a fresh database of the test binary's throwaway cluster. Without PostgreSQL the
// postgres cases print "PostgreSQL engine skipped: <why>" and pass (CTest reports them skipped);
// with AKT_REQUIRE_POSTGRES=1 they fail instead.
#pragma once

#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include "schema/store/store_tx.hpp"

namespace akt::test {

enum class EngineKind { kSqlite, kPostgres };

struct Engine {
  EngineKind kind = EngineKind::kSqlite;
  std::shared_ptr<void> keep;  // what the store needs kept alive (its folder)
  std::unique_ptr<store::SyncStore> store;
  std::string url;  // postgres: the libpq URL of the case's database
  // Stores a rejected edit the way a push does (until the push engine runs on every engine); sets its id.
  std::function<Status(store::QuarantineEntry&)> add_quarantine;
  // A push batch through the engine's own store (ServerStore::push, PgStore::push).
  std::function<Result<store::PushOutput>(const store::PushInput&)> push;
};

// A fresh, empty, migrated store; nullopt when the engine cannot run here (reported as above).
std::optional<Engine> make_engine(EngineKind kind);

// Creates the engine and runs `body` on it; returns quietly when the engine is skipped.
void run_contract(EngineKind kind, void (*body)(Engine&));

inline Status status_of(const Status& s) { return s; }
template <class T>
Status status_of(const Result<T>& r) { return r.status(); }

// Runs f(StoreReader&) in a query and returns what it returned (a Status or a Result), or the query's
// own failure.
template <class F>
auto read(Engine& e, F f) {
  using R = std::invoke_result_t<F, store::StoreReader&>;
  std::optional<R> out;
  Status st = e.store->query([&](store::StoreReader& tx) {
    out.emplace(f(tx));
    return status_of(*out);
  });
  if (!out || (status_of(*out).ok() && !st.ok())) return R(st);
  return std::move(*out);
}

// The same for f(StoreWriter&) in an update; a non-OK answer rolls the update back.
template <class F>
auto write(Engine& e, F f) {
  using R = std::invoke_result_t<F, store::StoreWriter&>;
  std::optional<R> out;
  Status st = e.store->update([&](store::StoreWriter& tx) {
    out.emplace(f(tx));
    return status_of(*out);
  });
  if (!out || (status_of(*out).ok() && !st.ok())) return R(st);
  return std::move(*out);
}

}  // namespace akt::test

#define AKT_CONTRACT_CASE_IMPL(fn, name)                                                                 \
  static void fn(::akt::test::Engine& engine);                                                           \
  TEST_CASE("sqlite: " name) { ::akt::test::run_contract(::akt::test::EngineKind::kSqlite, fn); }       \
  TEST_CASE("postgres: " name) { ::akt::test::run_contract(::akt::test::EngineKind::kPostgres, fn); }   \
  static void fn([[maybe_unused]] ::akt::test::Engine& engine)
// A test body run against every engine; `engine` is a fresh store.
#define AKT_CONTRACT_CASE(name) AKT_CONTRACT_CASE_IMPL(DOCTEST_ANONYMOUS(akt_contract_), name)

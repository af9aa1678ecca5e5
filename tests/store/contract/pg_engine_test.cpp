// What only the PostgreSQL engine has to show: migrations applied once and refused when the database is
// newer, byte-exact binary and text values, and a
// connection killed under the pool replaced on the next call.
#include "schema/store/postgres/pg_conn.hpp"
#include "schema/store/postgres/pg_migrations.hpp"
#include "schema/store/postgres/pg_store.hpp"
#include "tests/store/contract/engines.hpp"
#include "tests/support/edits.hpp"

using namespace akt;
using akt::test::read;
using akt::test::write;

namespace {

std::unique_ptr<store::pg::PgConn> connect(const std::string& url) {
  auto c = store::pg::PgConn::connect(url);
  REQUIRE_MESSAGE(c.ok(), c.status().message());
  return std::move(*c);
}

void migrations_once(test::Engine& e) {
  // Open again on the same database: nothing to apply, the schema is current.
  store::PgStoreOptions o;
  o.url = e.url;
  auto again = store::PgStore::open(o);
  REQUIRE_MESSAGE(again.ok(), again.status().message());
  auto c = connect(e.url);
  auto v = store::pg::schema_version(*c);
  REQUIRE(v.ok());
  CHECK(*v == store::pg::latest_schema_version());
  auto n = c->exec("SELECT count(*) FROM schema_migrations");
  REQUIRE(n.ok());
  CHECK(n->int64(0, 0) == store::pg::latest_schema_version());

  // A database migrated by a newer build is refused, not used.
  REQUIRE(c->exec("INSERT INTO schema_migrations(version) VALUES($1::bigint)",
                  {store::pg::int64(store::pg::latest_schema_version() + 1)}).ok());
  auto newer = store::PgStore::open(o);
  CHECK(newer.status().code() == Status::Code::kCorruption);
  auto current = read(e, [](store::StoreReader& tx) { return tx.schema_is_current(); });
  REQUIRE(current.ok());
  CHECK(!*current);
}

void values_exact(test::Engine& e) {
  // Every byte value in a hash; quotes, backslashes, non-ASCII and SQL in text: stored and read as given.
  std::string hash;
  for (int i = 0; i < 256; ++i) hash.push_back(static_cast<char>(i));
  const std::string name = "O'Brien \\ \"x\"; DROP TABLE users; -- Đakovica Ђаковица";
  store::User u;
  u.username = name;
  u.role = sync::Role::kAdmin;
  u.password_hash = "h";
  auto id = write(e, [&](store::StoreWriter& tx) { return tx.insert_user(u); });
  REQUIRE_MESSAGE(id.ok(), id.status().message());
  REQUIRE(write(e, [&](store::StoreWriter& tx) { return tx.insert_token(hash, "session", *id, "", 1, 2); }).ok());
  auto info = read(e, [&](store::StoreReader& tx) { return tx.lookup_token(hash); });
  REQUIRE(info.ok());
  REQUIRE(info->has_value());
  CHECK((*info)->user.username == name);
  // Text PostgreSQL cannot hold (a NUL byte) is a clean kInvalidArgument, not a crash or a truncation.
  u.username = std::string("nul\0inside", 10);
  auto bad = write(e, [&](store::StoreWriter& tx) { return tx.insert_user(u); });
  CHECK(bad.status().code() == Status::Code::kInvalidArgument);
  auto cut = read(e, [](store::StoreReader& tx) { return tx.find_user("nul"); });
  REQUIRE(cut.ok());
  CHECK(!cut->has_value());  // never stored cut at the NUL
}

void reconnects(test::Engine& e) {
  REQUIRE(write(e, [](store::StoreWriter& tx) { return tx.insert_audit(1, "a", "x", "", "{}", ""); }).ok());
  // Kill every other connection to this database (the pool's idle one among them).
  auto admin = connect(e.url);
  auto killed = admin->exec(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() "
      "AND pid <> pg_backend_pid()");
  REQUIRE(killed.ok());
  CHECK(killed->int64(0, 0) >= 1);
  // The pooled connection is dead; the next calls find that out before doing anything and connect anew:
  // no caller sees the restart.
  Status st = write(e, [](store::StoreWriter& tx) { return tx.insert_audit(2, "a", "y", "", "{}", ""); });
  CHECK_MESSAGE(st.ok(), st.message());
  auto rows = read(e, [](store::StoreReader& tx) { return tx.list_audit({}, 0, 10); });
  REQUIRE(rows.ok());
  CHECK(rows->size() == 2);
}

}  // namespace

TEST_CASE("postgres: migrations are applied once, a newer database is refused") {
  test::run_contract(test::EngineKind::kPostgres, migrations_once);
}
TEST_CASE("postgres: bytes and text are stored exactly, text it cannot hold is refused cleanly") {
  test::run_contract(test::EngineKind::kPostgres, values_exact);
}
TEST_CASE("postgres: a connection killed under the pool is replaced before any caller sees it") {
  test::run_contract(test::EngineKind::kPostgres, reconnects);
}

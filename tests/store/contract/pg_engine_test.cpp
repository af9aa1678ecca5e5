// What only the PostgreSQL engine has to show: migrations applied once and refused when the database is
// newer, byte-exact binary and text values, and a
// connection killed under the pool replaced on the next call.
#include "schema/store/postgres/pg_conn.hpp"
#include "schema/store/postgres/pg_feed.hpp"
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

// The feed's and export's page statements stay on their indexes at a size where a wrong plan shows
// (docs/STORE.md §7): 20,000 records of two forms in 30 municipalities (Kosovo has 38), each with one live version
// and one replaced, analysed as autovacuum would. A page must not read the tables whole (no Seq Scan on
// records or versions) nor sort the page's rows with their bodies by seq (a Sort whose key starts with
// r.seq); an Incremental Sort on a presorted r.seq orders only the versions within one record.
void page_plans(test::Engine& e) {
  auto c = connect(e.url);
  const char* fill =
      "INSERT INTO records(id, form_id, form_version, municipality, community, component, seq, live_count, "
      "deleted, created_at, updated_at) "
      "SELECT ('00000000-0000-7000-8000-' || lpad(to_hex(g), 12, '0'))::uuid, "
      "CASE WHEN g % 2 = 0 THEN 'form_a' ELSE 'form_b' END, 1, "
      "'m' || (g % 30), 'serb', 'so1', g, 1, false, g, g "
      "FROM generate_series(1, 20000) g";
  REQUIRE(c->exec(fill).ok());
  const char* versions =
      "INSERT INTO versions(record_id, actor, n, clock, parents, changed, body, deleted, is_live, form_version, "
      "device_time, server_time, digest, municipality, community, component) "
      "SELECT r.id, '11111111-1111-4111-8111-111111111111'::uuid, 2 * r.seq + k, '{}', '[]', '', "
      "repeat('{\"answer\":\"x\"}', 60), false, k = 1, 1, r.seq, r.seq, '\\x00'::bytea, r.municipality, "
      "r.community, r.component FROM records r, generate_series(0, 1) k";
  REQUIRE(c->exec(versions).ok());
  REQUIRE(c->exec("ANALYZE").ok());
  struct Case {
    store::pg::PagePlan which;
    const char* name;
  };
  for (const Case& k : {Case{store::pg::PagePlan::kWindow, "window"}, Case{store::pg::PagePlan::kRange, "range"},
                        Case{store::pg::PagePlan::kScoped, "scoped"}, Case{store::pg::PagePlan::kExport, "export"}}) {
    // From the start, from the middle and near the head; the default page (500) and a small one.
    for (std::int64_t after : {std::int64_t{0}, std::int64_t{10000}, std::int64_t{19900}}) {
      for (std::int64_t limit : {std::int64_t{500}, std::int64_t{50}}) {
       for (const char* scope : {R"(["m7"])", R"(["m1","m2","m3"])"}) {
        auto plan = store::pg::page_plan(*c, k.which, after, limit, scope, "form_a");
        REQUIRE_MESSAGE(plan.ok(), plan.status().message());
        INFO(std::string(k.name), " after ", after, " limit ", limit, " scope ", std::string(scope), ":\n", *plan);
        CHECK(plan->find("Seq Scan on records") == std::string::npos);
        CHECK(plan->find("Seq Scan on versions") == std::string::npos);
        // A plain Sort node keyed on r.seq sorts whole rows, bodies included, by seq.
        std::size_t at = 0;
        while ((at = plan->find("Sort Key: r.seq", at)) != std::string::npos) {
          const std::size_t node = plan->rfind("Sort", at - 1);  // the node the key belongs to
          const bool incremental = node != std::string::npos && node >= 12 &&
                                   plan->compare(node - 12, 12, "Incremental ") == 0;
          CHECK_MESSAGE(incremental, "a full sort by r.seq");
          at += 1;
        }
       }
      }
    }
  }
}

}  // namespace

TEST_CASE("postgres: the feed's and export's pages stay on their indexes") {
  test::run_contract(test::EngineKind::kPostgres, page_plans);
}
TEST_CASE("postgres: migrations are applied once, a newer database is refused") {
  test::run_contract(test::EngineKind::kPostgres, migrations_once);
}
TEST_CASE("postgres: bytes and text are stored exactly, text it cannot hold is refused cleanly") {
  test::run_contract(test::EngineKind::kPostgres, values_exact);
}
TEST_CASE("postgres: a connection killed under the pool is replaced before any caller sees it") {
  test::run_contract(test::EngineKind::kPostgres, reconnects);
}

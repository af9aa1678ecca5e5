// The engines of the contract suite: a ServerStore in a temporary folder, or a PgStore on a database
// copied from a migrated template in the binary's one throwaway cluster.
#include "tests/store/contract/engines.hpp"

#include <atomic>
#include <cstdio>

#include "schema/store/db.hpp"
#include "schema/store/push_apply.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/temp_dir.hpp"
#ifdef AKT_HAVE_POSTGRES
#include "schema/store/postgres/pg_conn.hpp"
#include "schema/store/postgres/pg_store.hpp"
#endif

namespace akt::test {
namespace {

Engine make_sqlite() {
  auto dir = std::make_shared<TempDir>();
  store::ServerStoreOptions o;
  o.path = dir->file("contract.db");
  o.synchronous_full = false;  // a test store: durability is the durability tests' business
  auto s = store::ServerStore::open(o);
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  store::ServerStore* raw = s->get();
  Engine e;
  e.kind = EngineKind::kSqlite;
  e.keep = dir;
  e.store = std::move(*s);
  e.push = [raw](const store::PushInput& in) { return raw->push(in); };
  e.add_quarantine = [raw](store::QuarantineEntry& q) {
    return raw->write([&q](store::Db& db, std::int64_t&) -> Status {
      AKT_STMT(ins, db,
               "INSERT INTO quarantine(device, batch_id, record_id, actor, n, code, detail, edit, received_at, "
               "fields, args) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
      const std::string device = store::uuid_blob(q.device), record = store::uuid_blob(q.record_id),
                        actor = store::uuid_blob(q.dot.actor);
      ins->bind_blob(1, device.data(), device.size());
      ins->bind(2, q.batch_id);
      ins->bind_blob(3, record.data(), record.size());
      ins->bind_blob(4, actor.data(), actor.size());
      ins->bind(5, q.dot.n);
      ins->bind(6, q.code);
      ins->bind(7, q.detail);
      ins->bind(8, q.edit_json);
      ins->bind(9, q.received_at);
      ins->bind(10, q.fields_json);
      ins->bind(11, q.args_json);
      AKT_TRY(ins->run());
      q.id = db.last_insert_rowid();
      return {};
    });
  };
  return e;
}

#ifdef AKT_HAVE_POSTGRES
std::optional<Engine> make_postgres() {
  std::string why;
  PgCluster* cluster = PgCluster::get(&why);
  if (!cluster) {
    skip_postgres(why);
    return std::nullopt;
  }
  // One database for the run, made once; each case gets a schema of its own (a few DDL statements: much
  // cheaper than a database per case, even copied from a template) and its migrations run there.
  static const Status database_ready = store::pg_create_database(cluster->url("postgres"), "akt_contract", "");
  REQUIRE_MESSAGE(database_ready.ok(), database_ready.message());
  static std::atomic<int> next{0};
  const std::string schema = "contract_" + std::to_string(++next);
  {
    auto admin = store::pg::PgConn::connect(cluster->url("akt_contract"));
    REQUIRE_MESSAGE(admin.ok(), admin.status().message());
    auto quoted = (*admin)->quote_identifier(schema);
    REQUIRE(quoted.ok());
    Status created = (*admin)->exec_script("CREATE SCHEMA " + *quoted);
    REQUIRE_MESSAGE(created.ok(), created.message());
  }
  store::PgStoreOptions o;
  o.url = cluster->url("akt_contract") + " options='-c search_path=" + schema + "'";
  auto s = store::PgStore::open(o);
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  store::PgStore* raw = s->get();
  Engine e;
  e.kind = EngineKind::kPostgres;
  e.url = o.url;
  e.store = std::move(*s);
  e.add_quarantine = [raw](store::QuarantineEntry& q) { return raw->insert_quarantine(q); };
  e.push = [raw](const store::PushInput& in) { return raw->push(in); };
  return e;
}
#endif

}  // namespace

std::optional<Engine> make_engine(EngineKind kind) {
  if (kind == EngineKind::kSqlite) return make_sqlite();
#ifdef AKT_HAVE_POSTGRES
  return make_postgres();
#else
  test::skip_without_engine();
  return std::nullopt;
#endif
}

void run_contract(EngineKind kind, void (*body)(Engine&)) {
  auto e = make_engine(kind);
  if (!e) return;
  body(*e);
}

}  // namespace akt::test

// PgStore: the connection pool and the two transaction shapes (update, query) of the seam on
// PostgreSQL. The operations themselves are in pg_ops.cpp.
#include "schema/store/postgres/pg_store.hpp"

#include <optional>
#include <random>

#include "schema/store/postgres/pg_conn.hpp"
#include "schema/store/postgres/pg_migrations.hpp"
#include "schema/store/postgres/pg_ops.hpp"
#include "schema/store/postgres/pg_push.hpp"
#include "schema/store/store_tx.hpp"

namespace akt::store {

Result<std::unique_ptr<PgStore>> PgStore::open(PgStoreOptions options) {
  std::unique_ptr<PgStore> s(new PgStore(std::move(options)));
  auto conn = s->borrow();
  if (!conn.ok()) return conn.status();
  if (Status st = pg::migrate(**conn); !st.ok()) return st;
  if (Status st = s->load_identity(**conn); !st.ok()) return st;
  s->give_back(std::move(*conn));
  return s;
}

PgStore::PgStore(PgStoreOptions options)
    : options_(std::move(options)),
      rules_(options_.form_rules ? options_.form_rules : std::make_shared<NoFormRules>()) {}

Status PgStore::load_identity(pg::PgConn& conn) {
  // The epoch as SQLite makes it (16 hex digits); the first server to open the database sets it.
  std::random_device rd;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string epoch;
  for (int i = 0; i < 16; ++i) epoch.push_back(kHex[rd() & 0xF]);
  auto made = conn.exec("INSERT INTO meta(key, value) VALUES('epoch', $1) ON CONFLICT DO NOTHING", {pg::text(epoch)});
  if (!made.ok()) return made.status();
  auto r = conn.exec("SELECT key, value FROM meta WHERE key IN ('epoch', 'server_actor')");
  if (!r.ok()) return r.status();
  for (int i = 0; i < r->rows(); ++i) (r->str(i, 0) == "epoch" ? epoch_ : server_actor_) = r->str(i, 1);
  if (epoch_.empty() || server_actor_.empty()) return Status::corruption("meta.epoch or meta.server_actor missing");
  return {};
}

Result<PushOutput> PgStore::push(const PushInput& input) {
  // On the caller's thread, before any connection is taken: hashing and encoding need no database.
  const PreparedBatch prepared = prepare_batch(input, *rules_);
  std::optional<PushOutput> out;
  Status st = in_transaction("BEGIN ISOLATION LEVEL READ COMMITTED", [&](pg::PgConn& c) -> Status {
    auto r = pg::push_batch(c, input, prepared, PushContext{epoch_, server_actor_, *rules_});
    if (!r.ok()) return r.status();
    out = std::move(*r);
    return {};
  });
  if (!st.ok()) return st;
  return std::move(*out);
}
PgStore::~PgStore() = default;

Result<std::unique_ptr<pg::PgConn>> PgStore::borrow() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
  }
  return pg::PgConn::connect(options_.url);
}

void PgStore::give_back(std::unique_ptr<pg::PgConn> conn) {
  // A connection that broke or is left inside a transaction is never handed out again.
  if (!conn->is_idle()) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < options_.max_idle_connections) idle_.push_back(std::move(conn));
}

Status PgStore::in_transaction(const char* begin, const std::function<Status(pg::PgConn&)>& fn) {
  // An idle pooled connection may have died (a PostgreSQL restart, an idle timeout): that shows at
  // BEGIN, before anything ran, so it is dropped and the call goes on with another one (at worst a new
  // one: the pool holds at most max_idle_connections, so this loop ends).
  Result<std::unique_ptr<pg::PgConn>> conn = Status::busy("postgres: no connection");
  Status st;
  for (std::size_t attempt = 0; attempt <= options_.max_idle_connections; ++attempt) {
    conn = borrow();
    if (!conn.ok()) return conn.status();
    st = (*conn)->exec_script(begin);
    if (st.ok() || (*conn)->is_connected()) break;
  }
  pg::PgConn& c = **conn;
  if (st.ok()) st = fn(c);
  if (st.ok()) {
    // A COMMIT that fails (connection lost) leaves the outcome unknown to us: the caller retries, and
    // every write of the seam is idempotent or re-checks its precondition.
    st = c.exec_script("COMMIT");
  } else {
    (void)c.exec_script("ROLLBACK");
  }
  give_back(std::move(*conn));
  return st;
}

Status PgStore::update(const std::function<Status(StoreWriter&)>& fn) {
  return in_transaction("BEGIN ISOLATION LEVEL READ COMMITTED", [&fn](pg::PgConn& c) {
    auto w = pg::make_writer(c);
    return fn(*w);
  });
}

Status PgStore::query(const std::function<Status(StoreReader&)>& fn) {
  return in_transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", [&fn](pg::PgConn& c) {
    auto r = pg::make_reader(c);
    return fn(*r);
  });
}

Status PgStore::insert_quarantine(QuarantineEntry& q) {
  return in_transaction("BEGIN", [&q](pg::PgConn& c) -> Status {
    auto r = c.exec(
        "INSERT INTO quarantine(device, batch_id, record_id, actor, n, code, detail, edit, received_at, fields, "
        "released_at, discarded_at, args) VALUES($1, $2, $3, $4, $5::bigint, $6, $7, $8, $9::bigint, $10, "
        "NULLIF($11::bigint, 0), NULLIF($12::bigint, 0), $13) RETURNING id",
        {pg::text(q.device), pg::text(q.batch_id), pg::text(q.record_id), pg::text(q.dot.actor), pg::int64(q.dot.n),
         pg::text(q.code), pg::text(q.detail), pg::text(q.edit_json), pg::int64(q.received_at),
         pg::text(q.fields_json.empty() ? "[]" : q.fields_json), pg::int64(q.released_at),
         pg::int64(q.discarded_at), pg::text(q.args_json.empty() ? "{}" : q.args_json)});
    if (!r.ok()) return r.status();
    q.id = r->int64(0, 0);
    return {};
  });
}

Status pg_create_database(const std::string& admin_url, const std::string& name, const std::string& template_name) {
  auto conn = pg::PgConn::connect(admin_url);
  if (!conn.ok()) return conn.status();
  // CREATE DATABASE cannot take a bound parameter: the names are quoted as identifiers instead.
  auto db = (*conn)->quote_identifier(name);
  if (!db.ok()) return db.status();
  std::string sql = "CREATE DATABASE " + *db;
  if (!template_name.empty()) {
    auto tpl = (*conn)->quote_identifier(template_name);
    if (!tpl.ok()) return tpl.status();
    sql += " TEMPLATE " + *tpl;
  }
  return (*conn)->exec_script(sql);
}

}  // namespace akt::store

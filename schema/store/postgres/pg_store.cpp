// PgStore: the connection pool and the two transaction shapes (update, query) of the seam on
// PostgreSQL. The operations themselves are in pg_ops.cpp.
#include "schema/store/postgres/pg_store.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <random>

#include "schema/store/postgres/pg_conn.hpp"
#include "schema/store/postgres/pg_feed.hpp"
#include "schema/store/postgres/pg_listen.hpp"
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
  auto head = pg::feed_head(**conn);
  if (!head.ok()) return head.status();
  s->last_seq_.store(*head);
  s->give_back(std::move(*conn));
  if (s->options_.listen) {
    pg::ListenerOptions lo;
    lo.url = s->options_.url;
    PgStore* self = s.get();
    lo.on_head = [self](std::int64_t h) { self->heard_head(h); };
    lo.read_head = [self]() -> Result<std::int64_t> {
      Result<std::int64_t> h = Status::io_error("feed head: not read");
      Status st = self->in_snapshot([&h](pg::PgConn& c) {
        h = pg::feed_head(c);
        return h.status();
      });
      if (!st.ok()) return st;
      return h;
    };
    lo.on_event = s->options_.on_listener_event;
    s->listener_ = std::make_unique<pg::FeedListener>(std::move(lo));
  }
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
  // Pull cursors noted since the last write ride behind this one (as on SQLite): advisory, so a
  // failure loses only a cursor hint.
  (void)flush();
  return std::move(*out);
}

bool PgStore::raise_last_seq(std::int64_t seq) {
  std::int64_t seen = last_seq_.load(std::memory_order_acquire);
  while (seq > seen)
    if (last_seq_.compare_exchange_weak(seen, seq, std::memory_order_acq_rel)) return true;
  return false;
}

void PgStore::heard_head(std::int64_t seq) {
  if (raise_last_seq(seq) && options_.on_commit) options_.on_commit(last_seq());
}

std::int64_t PgStore::refresh_last_seq() {
  Result<std::int64_t> h = Status::io_error("feed head: not read");
  Status st = in_snapshot([&h](pg::PgConn& c) {
    h = pg::feed_head(c);
    return h.status();
  });
  if (st.ok() && h.ok()) heard_head(*h);
  return last_seq();
}

Result<std::optional<std::int64_t>> PgStore::shared_bucket(const std::string& key, double per_minute, double burst,
                                                           bool take) {
  // The database's clock in ms, the same for every server.
#define AKT_PG_NOW_MS "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"
  double tokens = burst;
  Status st = in_transaction("BEGIN ISOLATION LEVEL READ COMMITTED", [&](pg::PgConn& c) -> Status {
    const pg::Param k = pg::text(key), b = pg::text(std::to_string(burst)), rate = pg::text(std::to_string(per_minute));
    if (!take) {
      // A peek: the bucket refilled up to now; no row is a full bucket (nothing is written).
      auto r = c.exec("SELECT LEAST($2::float8, tokens + GREATEST(0, " AKT_PG_NOW_MS " - at_ms) * $3::float8 / 60000.0)::text "
                      "FROM rate_buckets WHERE key = $1",
                      {k, b, rate});
      if (!r.ok()) return r.status();
      if (r->rows() > 0) tokens = std::stod(r->str(0, 0));
      return {};
    }
    // The bucket refilled up to now (a new one full), its row locked to COMMIT: two servers taking the
    // last token of one key take it one after the other.
    auto r = c.exec("INSERT INTO rate_buckets AS t(key, tokens, at_ms) VALUES($1, $2::float8, " AKT_PG_NOW_MS ") "
                    "ON CONFLICT(key) DO UPDATE SET tokens = LEAST($2::float8, t.tokens + GREATEST(0, " AKT_PG_NOW_MS
                    " - t.at_ms) * $3::float8 / 60000.0), at_ms = GREATEST(t.at_ms, " AKT_PG_NOW_MS ") "
                    "RETURNING tokens::text",
                    {k, b, rate});
    if (!r.ok()) return r.status();
    tokens = std::stod(r->str(0, 0));
    if (tokens >= 1.0) {
      auto u = c.exec("UPDATE rate_buckets SET tokens = tokens - 1 WHERE key = $1", {k});
      if (!u.ok()) return u.status();
    }
    // Buckets untouched for a day are full again: the same as no row. Dropped now and then, so that a
    // flood of distinct keys (addresses) does not grow the table for good.
    if (++bucket_writes_ % 1000 == 0) {
      auto d = c.exec("DELETE FROM rate_buckets WHERE at_ms < " AKT_PG_NOW_MS " - 86400000");
      if (!d.ok()) return d.status();
    }
    return {};
  });
#undef AKT_PG_NOW_MS
  if (!st.ok()) return st;
  // As RateLimiter counts it: whole seconds until the next token, at least 1; 0 when there was one.
  if (tokens >= 1.0) return std::optional<std::int64_t>(0);
  return std::optional<std::int64_t>(
      std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil((1.0 - tokens) * 60.0 / per_minute))));
}

int PgStore::listener_backend_pid() const { return listener_ ? listener_->backend_pid() : 0; }

void PgStore::note_pull(const std::string& device, std::int64_t cursor, std::int64_t now_ms) {
  std::lock_guard<std::mutex> lock(pulls_mu_);
  auto& p = pending_pulls_[device];
  p.cursor = std::max(p.cursor, cursor);
  p.at = now_ms;
}

Status PgStore::flush() {
  std::map<std::string, PendingPull> pulls;
  {
    std::lock_guard<std::mutex> lock(pulls_mu_);
    pulls.swap(pending_pulls_);
  }
  if (pulls.empty()) return {};
  return in_transaction("BEGIN ISOLATION LEVEL READ COMMITTED", [&pulls](pg::PgConn& c) -> Status {
    for (const auto& p : pulls) {
      auto r = c.exec(
          "INSERT INTO devices(actor, last_cursor, last_pull) VALUES($1::uuid, $2::bigint, $3::bigint) "
          "ON CONFLICT(actor) DO UPDATE SET last_cursor = GREATEST(devices.last_cursor, excluded.last_cursor), "
          "last_pull = excluded.last_pull",
          {pg::text(p.first), pg::int64(p.second.cursor), pg::int64(p.second.at)});
      if (!r.ok()) return r.status();
    }
    return Status();
  });
}

Status PgStore::in_snapshot(const std::function<Status(pg::PgConn&)>& fn) {
  return in_transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", fn);
}

Result<ChangesPage> PgStore::feed_page(const FeedQuery& query, std::string& out) {
  Result<ChangesPage> page = Status::io_error("feed: not read");
  const std::size_t start = out.size();
  Status st = in_snapshot([&](pg::PgConn& c) {
    out.resize(start);  // a retried read starts the page again
    page = pg::feed_page(c, query, out);
    return page.status();
  });
  if (!st.ok()) return st;
  // A page that ran to the head saw every commit up to it, maybe another server's: no cursor this
  // process hands out may be above its own last_seq (the changes handler checks `since` against it).
  if (!page->more) raise_last_seq(page->next);
  return page;
}

Result<ChangesPage> PgStore::changes(std::int64_t since, std::size_t limit) {
  Result<ChangesPage> page = Status::io_error("changes: not read");
  Status st = in_snapshot([&](pg::PgConn& c) {
    page = pg::changes(c, since, limit);
    return page.status();
  });
  if (!st.ok()) return st;
  return page;
}

Result<std::optional<std::string>> PgStore::batch_answer(const std::string& device, const std::string& batch_id) {
  Result<std::optional<std::string>> answer = Status::io_error("batch answer: not read");
  Status st = in_snapshot([&](pg::PgConn& c) {
    answer = pg::batch_answer(c, device, batch_id);
    return answer.status();
  });
  if (!st.ok()) return st;
  return answer;
}

Result<ExportPage> PgStore::export_page(const std::string& form_id, std::int64_t since, std::int64_t until,
                                        std::size_t limit, std::vector<ExportRow>& rows) {
  Result<ExportPage> page = Status::io_error("export: not read");
  Status st = in_snapshot([&](pg::PgConn& c) {
    page = pg::export_page(c, form_id, since, until, limit, rows);
    return page.status();
  });
  if (!st.ok()) return st;
  return page;
}

Result<std::optional<sync::RecordState>> PgStore::record(const std::string& record_id) {
  Result<std::optional<sync::RecordState>> rec = Status::io_error("record: not read");
  Status st = in_snapshot([&](pg::PgConn& c) {
    rec = pg::record(c, record_id);
    return rec.status();
  });
  if (!st.ok()) return st;
  return rec;
}

Result<std::vector<QuarantineEntry>> PgStore::quarantine(std::int64_t before_id, std::size_t limit) {
  Result<std::vector<QuarantineEntry>> rows = Status::io_error("quarantine: not read");
  Status st = in_snapshot([&](pg::PgConn& c) {
    rows = pg::quarantine(c, before_id, limit);
    return rows.status();
  });
  if (!st.ok()) return st;
  return rows;
}
PgStore::~PgStore() {
  if (listener_) listener_->stop();  // its thread reads through this store's pool
}

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
  c.stamped_head = 0;
  if (st.ok()) st = fn(c);
  if (st.ok()) {
    // A COMMIT that fails (connection lost) leaves the outcome unknown to us: the caller retries, and
    // every write of the seam is idempotent or re-checks its precondition. A transaction that moved the
    // feed tells the other servers (docs/STORE.md §10): its NOTIFY, sent in the same round trip as
    // COMMIT, is delivered only if COMMIT succeeds, after it, in commit order; the payload is the head it
    // stamped, an integer of ours. A failing NOTIFY fails the COMMIT's script: rolled back below.
    st = c.stamped_head > 0 ? c.exec_script(std::string("SELECT pg_notify('") + pg::kFeedChannel + "', '" +
                                            std::to_string(c.stamped_head) + "'); COMMIT")
                            : c.exec_script("COMMIT");
  } else {
    (void)c.exec_script("ROLLBACK");
  }
  const std::int64_t stamped = st.ok() ? c.stamped_head : 0;
  give_back(std::move(*conn));
  // The feed moved: readers may now see up to `stamped` (committed, and visible before the feed lock
  // was released: STORE.md §7). Wake the long polls of this process.
  if (stamped > 0) {
    raise_last_seq(stamped);
    if (options_.on_commit) options_.on_commit(last_seq());
  }
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

// The change feed's page (PROTOCOL §5) on SQLite: the candidate rows read from SQLite, written into the
// answer by feed_page.hpp (its design notes), straight from the stored text. The statements read rows
// already in feed order (records_by_seq, versions_live_by_record): no sort, a body is copied once (a
// store test reads feed_query_plan).
#include "schema/store/feed_query.hpp"

#include "schema/store/accounts_store.hpp"
#include "schema/store/blob_store.hpp"
#include "schema/store/db.hpp"
#include "schema/store/feed_page.hpp"
#include "schema/store/push_apply.hpp"
#include "schema/store/stored_answer.hpp"
#include "sync/feed_text.hpp"
#include "sync/json_text.hpp"

namespace akt::store {
namespace {

#define AKT_FEED_COLUMNS                                                                                         \
  "r.id, r.form_id, r.form_version, r.municipality, r.community, r.component, r.seq, r.deleted, r.live_count, " \
  "v.actor, v.n, v.clock, v.parents, v.changed, v.body, v.deleted, v.form_version, v.device_time, "            \
  "v.server_time, r.conflicted, r.deletion_pending, r.pending_upload, lower(hex(v.digest)), r.updated_at"

// How many of the ?2 records after ?1 there are, and the last one's seq: the window's range (note 4).
constexpr const char* kWindowSql =
    "SELECT count(*), coalesce(max(seq), ?1) FROM (SELECT seq FROM records WHERE seq > ?1 ORDER BY seq LIMIT ?2)";

// Every record with ?1 < seq <= ?2, in feed order, each with its live versions by actor then counter.
constexpr const char* kRangeSql =
    "SELECT " AKT_FEED_COLUMNS
    " FROM records r INDEXED BY records_by_seq "
    "JOIN versions v INDEXED BY versions_live_by_record ON v.record_id = r.id AND v.is_live = 1 "
    "WHERE r.seq > ?1 AND r.seq <= ?2 ORDER BY r.seq, v.actor, v.n";

// The records after ?1 now in one of the municipalities ?3 (a JSON array), or once in one of them and now
// elsewhere; the first ?2 of them in feed order. INDEXED BY: with ORDER BY seq and a LIMIT, the planner
// would otherwise walk records_by_seq through every other municipality's records. Only the candidates'
// seqs are sorted (integers, from covering indexes); the rows with bodies come out of records_by_seq
// (one look-up per candidate seq, in seq order) and versions_live_by_record already in feed order.
constexpr const char* kByMunicipalitySql =
    "SELECT " AKT_FEED_COLUMNS
    " FROM records r INDEXED BY records_by_seq "
    "JOIN versions v INDEXED BY versions_live_by_record ON v.record_id = r.id AND v.is_live = 1 "
    "WHERE r.seq IN (SELECT seq FROM (SELECT seq FROM records INDEXED BY records_by_municipality "
    "WHERE municipality IN (SELECT value FROM json_each(?3)) "
    "AND seq > ?1 UNION ALL SELECT m.seq FROM records m WHERE m.id IN (SELECT record_id FROM record_scopes "
    "WHERE municipality IN (SELECT value FROM json_each(?3))) AND m.seq > ?1 AND m.municipality NOT IN "
    "(SELECT value FROM json_each(?3))) ORDER BY seq LIMIT ?2) "
    "ORDER BY r.seq, v.actor, v.n";

#undef AKT_FEED_COLUMNS

Result<std::int64_t> feed_head(Db& db) {
  AKT_STMT(s, db, "SELECT coalesce(max(seq), 0) FROM records");
  auto row = s->step();
  if (!row.ok()) return row.status();
  return *row ? s->int64(0) : 0;
}


// A feed row of a statement (feed_page.hpp's Row): ids are 16-byte blobs.
struct SqliteRow {
  Stmt& s;
  std::string_view key(int col) const { return s.blob(col); }
  std::string uuid(int col) const { return blob_uuid(s.blob(col)); }
  std::string_view text(int col) const { return s.text(col); }
  std::int64_t int64(int col) const { return s.int64(col); }
};

// feed_page.hpp's Source over one read transaction.
struct SqliteSource {
  Db& db;
  Result<std::pair<std::int64_t, std::int64_t>> window(std::int64_t after, std::int64_t n) {
    AKT_STMT(w, db, kWindowSql);
    w->bind(1, after);
    w->bind(2, n);
    auto row = w->step();
    if (!row.ok()) return row.status();
    return std::make_pair(w->int64(0), w->int64(1));
  }
  template <class F>
  Status each(Stmt& s, F& on_row) {
    for (;;) {
      auto row = s.step();
      if (!row.ok()) return row.status();
      if (!*row || !on_row(SqliteRow{s})) return {};
    }
  }
  template <class F>
  Status range_rows(std::int64_t after, std::int64_t last, F& on_row) {
    AKT_STMT(s, db, kRangeSql);
    s->bind(1, after);
    s->bind(2, last);
    return each(*s, on_row);
  }
  template <class F>
  Status scoped_rows(std::int64_t after, std::int64_t n, const std::string& municipalities, F& on_row) {
    AKT_STMT(s, db, kByMunicipalitySql);
    s->bind(1, after);
    s->bind(2, n);
    s->bind(3, municipalities);
    return each(*s, on_row);
  }
  Result<bool> was_in_scope(const std::string& id, const std::vector<sync::Assignment>& scope,
                            const std::string& form) {
    return record_was_in_scope(db, id, scope, form);
  }
  Result<std::int64_t> head() { return feed_head(db); }
  // The counters of `actor`'s edits ever quarantined (PROTOCOL §10.6): one read per page.
  Result<std::set<std::int64_t>> quarantined_dots(const std::string& actor) {
    AKT_STMT(s, db, "SELECT n FROM quarantine WHERE actor = ?1");
    const std::string blob = uuid_blob(actor);
    s->bind_blob(1, blob.data(), blob.size());
    std::set<std::int64_t> out;
    for (;;) {
      auto row = s->step();
      if (!row.ok()) return row.status();
      if (!*row) return out;
      out.insert(s->int64(0));
    }
  }
};

}  // namespace

Result<ChangesPage> feed_json(ServerStore& store, const FeedQuery& q, std::string& out) {
  Result<ChangesPage> page = Status::io_error("feed: not read");
  Status st = store.read([&](Db& db) -> Status {
    SqliteSource src{db};
    page = feed::write_page(src, q, out);
    return page.status();
  });
  if (!st.ok()) return st;
  return page;
}

Result<ChangesPage> ServerStore::feed_page(const FeedQuery& query, std::string& out) {
  return feed_json(*this, query, out);
}

Result<std::optional<std::string>> ServerStore::batch_answer(const std::string& device,
                                                             const std::string& batch_id) {
  return store::batch_answer(*this, device, batch_id);
}

Result<std::string> feed_query_plan(Db& db, bool scoped) {
  // Statements are cached by address: one string per form.
  static const std::string range_sql = std::string("EXPLAIN QUERY PLAN ") + kRangeSql;
  static const std::string scoped_sql = std::string("EXPLAIN QUERY PLAN ") + kByMunicipalitySql;
  AKT_STMT(s, db, (scoped ? scoped_sql : range_sql).c_str());
  std::string plan;
  std::vector<std::pair<std::int64_t, int>> depth;  // (plan node id, its depth)
  for (;;) {
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return plan;
    const std::int64_t id = s->int64(0), parent = s->int64(1);
    int d = 0;
    for (const auto& e : depth)
      if (e.first == parent) d = e.second + 1;
    depth.emplace_back(id, d);
    plan += std::string(2 * static_cast<std::size_t>(d), ' ') + std::string(s->text(3)) + "\n";
  }
}

Result<std::optional<std::string>> batch_answer(ServerStore& store, const std::string& device,
                                                const std::string& batch_id) {
  const std::string device_blob = uuid_blob(device);
  std::optional<std::string> answer;
  if (device_blob.empty()) return answer;
  Status st = store.read([&](Db& db) -> Status {
    AKT_STMT(s, db, "SELECT response FROM batches WHERE device = ?1 AND batch_id = ?2");
    s->bind_blob(1, device_blob.data(), device_blob.size());
    s->bind(2, batch_id);
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return {};
    auto stored = stored_answer_of(*s, 0);  // either stored form (stored_answer.hpp)
    if (!stored.ok()) return stored.status();
    answer = std::move(*stored);
    return {};
  });
  if (!st.ok()) return st;
  return answer;
}

}  // namespace akt::store

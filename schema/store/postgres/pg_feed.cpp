// The feed's reads on PostgreSQL (pg_feed.hpp). The statements mirror SQLite's (feed_query.cpp,
// export_query.cpp, server_store.cpp) column for column and row for row: live versions ordered by
// (actor, n) within a record (uuid order is byte order, as SQLite's 16-byte blobs), records by seq.
// Records carrying a provisional (negative) seq belong to a transaction not yet committed: no snapshot
// of a reader sees them (docs/STORE.md §7), and every cursor is >= 0 anyway.
#include "schema/store/postgres/pg_feed.hpp"

#include <cstdint>
#include <set>
#include <utility>

#include "schema/store/feed_page.hpp"
#include "schema/store/postgres/pg_catalog.hpp"
#include "sync/uuid.hpp"
#include "sync/stored_changed.hpp"
#include "sync/wire_json.hpp"

namespace akt::store::pg {
namespace {

// feed_page.hpp's columns (feed::Col), ids as canonical text.
#define AKT_PG_FEED_COLUMNS                                                                                     \
  "r.id::text, r.form_id, r.form_version, r.municipality, r.community, r.component, r.seq, r.deleted, "      \
  "r.live_count, v.actor::text, v.n, v.clock, v.parents, v.changed, v.body, v.deleted, v.form_version, "     \
  "v.device_time, v.server_time, r.conflicted, r.deletion_pending, r.pending_upload, encode(v.digest, 'hex'), " \
  "r.updated_at"

const std::string kWindowSql =
    "SELECT count(*), coalesce(max(seq), $1::bigint) FROM "
    "(SELECT seq FROM records WHERE seq > $1::bigint ORDER BY seq LIMIT $2::bigint) w";

const std::string kRangeSql =
    "SELECT " AKT_PG_FEED_COLUMNS
    " FROM records r JOIN versions v ON v.record_id = r.id AND v.is_live "
    "WHERE r.seq > $1::bigint AND r.seq <= $2::bigint ORDER BY r.seq, v.actor, v.n";

// The first $2 records after $1 now in one of the municipalities $3 (a JSON array), or once in one of
// them and now elsewhere (they may owe the caller an out-of-scope marker): SQLite's kByMunicipalitySql.
// The candidates (record rows, no bodies) are found by the municipality index, sorted and cut first, then
// joined with their versions in that order. `seq IN (...)` and `municipality IN (SELECT ...)` made
// PostgreSQL guess that every record matched, read records whole and sort the page with its bodies
// (the plan test in pg_engine_test.cpp).
const std::string kByMunicipalitySql =
    "SELECT " AKT_PG_FEED_COLUMNS
    " FROM (SELECT * FROM (SELECT * FROM records "
    "WHERE municipality = ANY(ARRAY(SELECT json_array_elements_text($3::json))) AND seq > $1::bigint "
    "UNION ALL SELECT m.* FROM records m WHERE m.id IN (SELECT record_id FROM record_scopes "
    "WHERE municipality = ANY(ARRAY(SELECT json_array_elements_text($3::json)))) AND m.seq > $1::bigint "
    "AND m.municipality NOT IN (SELECT json_array_elements_text($3::json))) c ORDER BY seq LIMIT $2::bigint) r "
    "JOIN versions v ON v.record_id = r.id AND v.is_live "
    "ORDER BY r.seq, v.actor, v.n";

const std::string kChangesSql =
    "SELECT " AKT_PG_FEED_COLUMNS
    " FROM (SELECT * FROM records WHERE seq > $1::bigint ORDER BY seq LIMIT $2::bigint) r "
    "JOIN versions v ON v.record_id = r.id AND v.is_live ORDER BY r.seq, v.actor, v.n";

const std::string kRecordSql =
    "SELECT " AKT_PG_FEED_COLUMNS
    " FROM records r JOIN versions v ON v.record_id = r.id AND v.is_live WHERE r.id = $1::uuid "
    "ORDER BY v.actor, v.n";

#undef AKT_PG_FEED_COLUMNS

// The export's columns (export_query.cpp's kExportSql).
const std::string kExportSql =
    "SELECT r.id::text, r.form_version, r.municipality, r.community, r.component, r.seq, r.deleted, "
    "r.live_count, r.conflicted, r.deletion_pending, v.body, v.server_time "
    "FROM (SELECT * FROM records WHERE seq > $1::bigint AND seq <= $2::bigint AND form_id = $3 "
    "ORDER BY seq LIMIT $4::bigint) r JOIN versions v ON v.record_id = r.id AND v.is_live "
    "ORDER BY r.seq, v.actor, v.n";

// A feed row (feed_page.hpp's Row): ids are canonical text already.
struct PgRow {
  const PgResult& r;
  int i;
  std::string_view key(int col) const { return r.view(i, col); }
  std::string uuid(int col) const { return r.str(i, col); }
  std::string_view text(int col) const { return r.view(i, col); }
  std::int64_t int64(int col) const { return r.int64(i, col); }
};

// feed_page.hpp's Source over the caller's snapshot.
struct PgSource {
  PgConn& c;
  Result<std::pair<std::int64_t, std::int64_t>> window(std::int64_t after, std::int64_t n) {
    auto r = c.exec(kWindowSql, {int64(after), int64(n)});
    if (!r.ok()) return r.status();
    return std::make_pair(r->int64(0, 0), r->int64(0, 1));
  }
  template <class F>
  static Status each(Result<PgResult> r, F& on_row) {
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->rows(); ++i)
      if (!on_row(PgRow{*r, i})) break;
    return {};
  }
  template <class F>
  Status range_rows(std::int64_t after, std::int64_t last, F& on_row) {
    return each(c.exec(kRangeSql, {int64(after), int64(last)}), on_row);
  }
  template <class F>
  Status scoped_rows(std::int64_t after, std::int64_t n, const std::string& municipalities, F& on_row) {
    return each(c.exec(kByMunicipalitySql, {int64(after), int64(n), text(municipalities)}), on_row);
  }
  Result<bool> was_in_scope(const std::string& id, const std::vector<sync::Assignment>& scope,
                            const std::string& form) {
    auto r = c.exec("SELECT municipality, community, component FROM record_scopes WHERE record_id = $1::uuid",
                    {text(id)});
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->rows(); ++i)
      if (sync::in_scope(scope, {r->str(i, 0), r->str(i, 1), r->str(i, 2)}, form)) return true;
    return false;
  }
  Result<std::int64_t> head() {
    auto r = c.exec("SELECT coalesce(max(seq), 0)::bigint FROM records");
    if (!r.ok()) return r.status();
    return r->int64(0, 0);
  }
  // The counters of `actor`'s edits ever quarantined (PROTOCOL §10.6): one read per page.
  Result<std::set<std::int64_t>> quarantined_dots(const std::string& actor) {
    auto r = c.exec("SELECT n FROM quarantine WHERE actor = $1::uuid", {text(actor)});
    if (!r.ok()) return r.status();
    std::set<std::int64_t> out;
    for (int i = 0; i < r->rows(); ++i) out.insert(r->int64(i, 0));
    return out;
  }
};

// Rows of the feed's columns (ordered by record) into decoded record states, as SQLite's collect_records.
Status collect_records(const PgResult& r, std::vector<sync::RecordState>& out) {
  using namespace feed;
  for (int i = 0; i < r.rows(); ++i) {
    std::string id = r.str(i, kId);
    if (out.empty() || out.back().record_id != id) {
      sync::RecordState s;
      s.record_id = std::move(id);
      s.form_id = r.str(i, kForm);
      s.form_version = r.int64(i, kFormVersion);
      s.scope = {r.str(i, kMunicipality), r.str(i, kCommunity), r.str(i, kComponent)};
      s.seq = r.int64(i, kSeq);
      s.deleted = r.boolean(i, kDeleted);
      auto conflicted = sync::decode_strings(r.view(i, kConflicted));
      s.conflicted = conflicted.ok() ? std::move(*conflicted) : std::vector<std::string>();
      s.deletion_pending = r.boolean(i, kDeletionPending);
      auto pending_upload = sync::decode_strings(r.view(i, kPendingUpload));
      if (pending_upload.ok()) s.pending_upload = std::move(*pending_upload);
      s.conflict = r.int64(i, kLiveCount) > 1 || !s.conflicted.empty() || s.deletion_pending;
      out.push_back(std::move(s));
    }
    sync::Version v;
    v.dot = {r.str(i, kActor), r.int64(i, kN)};
    auto clock = sync::decode_clock(r.view(i, kClock));
    auto parents = sync::decode_dots(r.view(i, kParents));
    auto changed = sync::decode_changed(r.view(i, kChanged), r.view(i, kBody));
    if (!clock.ok() || !parents.ok() || !changed.ok()) return Status::corruption("stored version fields unreadable");
    v.clock = std::move(*clock);
    v.parents = std::move(*parents);
    v.changed = std::move(*changed);
    v.body = r.str(i, kBody);
    v.deleted = r.boolean(i, kVersionDeleted);
    v.form_version = r.int64(i, kVersionFormVersion);
    v.device_time = r.int64(i, kDeviceTime);
    v.server_time = r.int64(i, kServerTime);
    out.back().live.push_back(std::move(v));
  }
  return {};
}

bool has_entries(std::string_view list) {
  if (list.empty() || list == "[]") return false;
  auto decoded = sync::decode_strings(list);
  return decoded.ok() && !decoded->empty();
}

}  // namespace

Result<ChangesPage> feed_page(PgConn& c, const FeedQuery& query, std::string& out) {
  PgSource src{c};
  return feed::write_page(src, query, out);
}

Result<ChangesPage> changes(PgConn& c, std::int64_t since, std::size_t limit) {
  // One more than the limit tells whether the page was cut.
  auto r = c.exec(kChangesSql, {int64(since), int64(static_cast<std::int64_t>(limit) + 1)});
  if (!r.ok()) return r.status();
  ChangesPage page;
  AKT_TRY(collect_records(*r, page.records));
  if (page.records.size() > limit) {
    page.records.pop_back();
    page.more = true;
  }
  page.next = page.records.empty() ? since : page.records.back().seq;
  return page;
}

Result<std::optional<sync::RecordState>> record(PgConn& c, const std::string& record_id) {
  if (!sync::is_uuid(record_id)) return Status::invalid_argument("record id is not a UUID");
  auto r = c.exec(kRecordSql, {text(record_id)});
  if (!r.ok()) return r.status();
  std::vector<sync::RecordState> out;
  AKT_TRY(collect_records(*r, out));
  if (out.empty()) return std::optional<sync::RecordState>();
  return std::optional<sync::RecordState>(std::move(out.front()));
}

Result<ExportPage> export_page(PgConn& c, const std::string& form_id, std::int64_t since, std::int64_t until,
                               std::size_t limit, std::vector<ExportRow>& rows) {
  ExportPage page;
  page.next = since;
  auto r = c.exec(kExportSql, {int64(since), int64(until), text(form_id),
                               int64(static_cast<std::int64_t>(std::max<std::size_t>(limit, 1)))});
  if (!r.ok()) return r.status();
  std::int64_t last = -1;
  for (int i = 0; i < r->rows(); ++i) {
    const std::int64_t seq = r->int64(i, 5);
    if (seq != last) {
      last = seq;
      if (rows.size() <= page.count) rows.emplace_back();
      ExportRow& e = rows[page.count++];
      e.record_id.assign(r->view(i, 0));
      e.form_version = r->int64(i, 1);
      e.municipality.assign(r->view(i, 2));
      e.community.assign(r->view(i, 3));
      e.component.assign(r->view(i, 4));
      e.seq = seq;
      e.deleted = r->boolean(i, 6);
      e.conflict = r->int64(i, 7) > 1 || has_entries(r->view(i, 8)) || r->boolean(i, 9);
    } else {
      rows[page.count - 1].conflict = true;  // several live versions
    }
    ExportRow& e = rows[page.count - 1];
    e.body.assign(r->view(i, 10));  // the last live version's wins
    e.server_time = r->int64(i, 11);
  }
  if (page.count > 0) page.next = rows[page.count - 1].seq;
  page.more = page.count >= std::max<std::size_t>(limit, 1);
  return page;
}

Result<std::optional<std::string>> batch_answer(PgConn& c, const std::string& device, const std::string& batch_id) {
  std::optional<std::string> answer;
  if (!sync::is_uuid(device)) return answer;
  auto r = c.exec("SELECT response FROM batches WHERE device = $1::uuid AND batch_id = $2",
                  {text(device), text(batch_id)});
  if (!r.ok()) return r.status();
  if (r->rows() > 0) answer = r->str(0, 0);
  return answer;
}

Result<std::vector<QuarantineEntry>> quarantine(PgConn& c, std::int64_t before_id, std::size_t limit) {
  auto r = c.exec("SELECT " AKT_PG_QUARANTINE_COLUMNS
                  " FROM quarantine WHERE $1::bigint = 0 OR id < $1::bigint ORDER BY id DESC LIMIT $2::bigint",
                  {int64(before_id), int64(static_cast<std::int64_t>(limit))});
  if (!r.ok()) return r.status();
  std::vector<QuarantineEntry> out;
  for (int i = 0; i < r->rows(); ++i) out.push_back(read_quarantine(*r, i));
  return out;
}

Result<std::int64_t> feed_head(PgConn& c) {
  auto r = c.exec("SELECT last_seq FROM feed_head");
  if (!r.ok()) return r.status();
  if (r->rows() != 1) return Status::corruption("feed_head has no row");
  return r->int64(0, 0);
}

Result<std::string> page_plan(PgConn& c, PagePlan which, std::int64_t after, std::int64_t limit,
                              const std::string& municipalities, const std::string& form_id) {
  const std::int64_t last = after + limit;  // the range's upper end, as the window would give it
  auto explain = [&]() -> Result<PgResult> {
    switch (which) {
      case PagePlan::kWindow: return c.exec("EXPLAIN " + kWindowSql, {int64(after), int64(limit)});
      case PagePlan::kRange: return c.exec("EXPLAIN " + kRangeSql, {int64(after), int64(last)});
      case PagePlan::kScoped:
        return c.exec("EXPLAIN " + kByMunicipalitySql, {int64(after), int64(limit), text(municipalities)});
      case PagePlan::kExport:
        return c.exec("EXPLAIN " + kExportSql, {int64(after), int64(INT64_MAX), text(form_id), int64(limit)});
    }
    return Status::invalid_argument("no such plan");
  };
  auto r = explain();
  if (!r.ok()) return r.status();
  std::string plan;
  for (int i = 0; i < r->rows(); ++i) plan += r->str(i, 0) + "\n";
  return plan;
}

}  // namespace akt::store::pg

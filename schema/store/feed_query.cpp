// The change feed's page (PROTOCOL §5): records changed after a cursor, each once at its latest state,
// written straight into the answer from stored text.
//
// Design notes:
//  1. `limit` counts entries written, never rows scanned: a page reads windows of candidate records in
//     feed order until it holds `limit` entries (or crosses `max_bytes`), so a caller with a narrow scope
//     on a big server needs no run of empty pages.
//  2. Candidates come by index when every assignment of the scope names a municipality: the records now
//     in those municipalities (records_by_municipality) plus the records that once were and have left
//     (record_scopes_by_municipality), who may owe the caller an out-of-scope marker. Otherwise every
//     record is a candidate (records_by_seq). Either way in_scope() decides, as before.
//  4. Unscoped, a window is read as a range of seqs (found first from records_by_seq alone), and the
//     rows come out of records_by_seq and versions_live_by_record already in feed order: no sort, so a
//     page's bodies are copied once, from the row into the answer (a store test reads feed_query_plan).
//  3. The page is read in one read transaction. When the candidates run out, `next` is the feed's head in
//     that snapshot (nothing at or below it can still commit: one writer assigns seqs at commit), so an
//     empty feed answers with the head in one request. Otherwise `next` is the last entry's seq.
#include "schema/store/feed_query.hpp"

#include <algorithm>
#include <set>

#include "schema/store/accounts_store.hpp"
#include "schema/store/blob_store.hpp"
#include "schema/store/db.hpp"
#include "schema/store/push_apply.hpp"
#include "sync/feed_text.hpp"
#include "sync/json_text.hpp"

namespace akt::store {
namespace {

#define AKT_FEED_COLUMNS                                                                                         \
  "r.id, r.form_id, r.form_version, r.municipality, r.community, r.component, r.seq, r.deleted, r.live_count, " \
  "v.actor, v.n, v.clock, v.parents, v.changed, v.body, v.deleted, v.form_version, v.device_time, "            \
  "v.server_time, r.conflicted, r.deletion_pending, r.pending_upload"

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

// The municipalities of the scope as a JSON array, or "" when some assignment covers any municipality.
std::string scope_municipalities(const std::vector<sync::Assignment>* scope) {
  if (!scope) return {};
  std::set<std::string> names;
  for (const sync::Assignment& a : *scope) {
    if (a.municipality == "*") return {};
    names.insert(a.municipality);
  }
  std::string out = "[";
  for (const std::string& m : names) {
    if (out.size() > 1) out.push_back(',');
    sync::append_json_string(out, m);
  }
  return out + "]";
}

Result<std::int64_t> feed_head(Db& db) {
  AKT_STMT(s, db, "SELECT coalesce(max(seq), 0) FROM records");
  auto row = s->step();
  if (!row.ok()) return row.status();
  return *row ? s->int64(0) : 0;
}

}  // namespace

Result<ChangesPage> feed_json(ServerStore& store, const FeedQuery& q, std::string& out) {
  ChangesPage page;
  Status st = store.read([&](Db& db) -> Status {
    const std::string municipalities = scope_municipalities(q.scope);
    const std::size_t limit = std::max<std::size_t>(q.limit, 1);
    // Candidate records per window: enough that a page in a broad scope takes one window.
    const auto window = static_cast<std::int64_t>(std::min<std::size_t>(limit, 5000) + 1);
    const std::size_t start = out.size();
    std::size_t entries = 0;
    std::int64_t scanned_to = q.since;  // every candidate up to here was looked at
    std::int64_t last_entry = q.since;
    bool open = false;      // a record object is open in `out`
    bool full = false;      // the page holds what it may; the next entry only tells that there is more
    bool visible = false;   // the current record's versions are written
    std::string last_id, current_id, current_form, redacted, hash, changed;
    std::int64_t record_form_version = 0;
    auto close_entry = [&] {
      if (!open) return;
      sync::append_record_close(out);
      open = false;
      full = entries >= limit || (q.max_bytes > 0 && out.size() - start >= q.max_bytes);
    };
    for (;;) {
      Stmt* s = nullptr;
      std::int64_t window_records = -1;  // known before reading, for the range form
      std::int64_t window_end = 0;
      if (municipalities.empty()) {
        {
          AKT_STMT(w, db, kWindowSql);
          w->bind(1, scanned_to);
          w->bind(2, window);
          auto row = w->step();
          if (!row.ok()) return row.status();
          window_records = w->int64(0);
          window_end = w->int64(1);
        }
        auto r = db.stmt(kRangeSql);
        if (!r.ok()) return r.status();
        s = *r;
      } else {
        auto r = db.stmt(kByMunicipalitySql);
        if (!r.ok()) return r.status();
        s = *r;
      }
      StmtGuard guard(*s);
      s->bind(1, scanned_to);
      s->bind(2, window_records >= 0 ? window_end : window);
      if (!municipalities.empty()) s->bind(3, municipalities);
      std::int64_t records_in_window = 0;
      for (;;) {
        auto row = s->step();
        if (!row.ok()) return row.status();
        if (!*row) break;
        std::string_view id_blob = s->blob(0);
        const bool first_version = id_blob != last_id;
        if (first_version) {
          close_entry();
          last_id.assign(id_blob);
          ++records_in_window;
          const std::int64_t seq = s->int64(6);
          const std::string id = blob_uuid(id_blob);
          const std::string form(s->text(1));
          current_id = id;
          current_form = form;
          visible = !q.scope || sync::in_scope(*q.scope, {std::string(s->text(3)), std::string(s->text(4)),
                                                         std::string(s->text(5))}, form);
          bool marker = false;
          if (!visible) {
            auto was = record_was_in_scope(db, id, *q.scope, form);
            if (!was.ok()) return was.status();
            marker = *was;
          }
          if ((visible || marker) && full) {
            page.more = true;
            page.next = last_entry;
            return {};
          }
          scanned_to = seq;
          if (!visible && !marker) continue;
          if (entries > 0) out.push_back(',');
          ++entries;
          last_entry = seq;
          if (marker) {
            out += "{\"record\":\"" + id + "\",\"seq\":" + std::to_string(seq) + ",\"out_of_scope\":true}";
            full = entries >= limit || (q.max_bytes > 0 && out.size() - start >= q.max_bytes);
            continue;
          }
          open = true;
          const bool pending = s->int64(20) != 0;
          const std::string shown_community =
              q.community ? (*q.community)(s->text(4)) : std::string(s->text(4));
          const std::string conflicted = q.paths ? (*q.paths)(form, s->text(19)) : std::string(s->text(19));
          const std::string pending_upload = q.paths ? (*q.paths)(form, s->text(21)) : std::string(s->text(21));
          record_form_version = s->int64(2);
          sync::append_record_open_styled(out, {id, s->text(1), s->int64(2), s->text(3), shown_community, s->text(5), seq,
                                         s->int64(7) != 0, s->int64(8) > 1 || s->text(19) != "[]" || pending,
                                         conflicted, pending, pending_upload}, q.lean);
        }
        if (!visible) continue;
        const std::string actor = blob_uuid(s->blob(9));
        std::string_view body = s->text(14);
        if (q.transform) {
          redacted = (*q.transform)(current_form, current_id, body);
          body = redacted;
        }
        sync::VersionStyle style{q.parents, q.changed, {}, q.lean, record_form_version};
        if (!q.echo_actor.empty() && actor == q.echo_actor) {
          // No echo: the caller wrote this version and holds its body; the hash lets it check that.
          hash = sha256_hex_of(body).substr(0, 16);
          style.body_hash = hash;
        }
        if (q.paths && q.changed) changed = (*q.paths)(current_form, s->text(13));
        sync::append_version_styled(out,
                             {actor, s->int64(10), s->text(11), s->text(12), q.paths && q.changed ? std::string_view(changed) : s->text(13),
                              body, s->int64(15) != 0,
                              s->int64(16), s->int64(17), s->int64(18)},
                             first_version, style);
      }
      close_entry();
      if (window_records >= 0) {
        records_in_window = window_records;
        scanned_to = std::max(scanned_to, window_end);  // every record of the range was looked at
      }
      if (records_in_window < window) break;  // the candidates ran out
    }
    // Nothing more the caller may see up to the head of this snapshot.
    auto head = feed_head(db);
    if (!head.ok()) return head.status();
    page.next = std::max(*head, q.since);
    return {};
  });
  if (!st.ok()) return st;
  return page;
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
    if (*row) answer = std::string(s->text(0));
    return {};
  });
  if (!st.ok()) return st;
  return answer;
}

}  // namespace akt::store

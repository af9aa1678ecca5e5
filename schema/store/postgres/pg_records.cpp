// Reads over records, versions and attachment references on PostgreSQL (pg_records.hpp).
#include "schema/store/postgres/pg_records.hpp"

#include <map>

#include "schema/store/merge_apply.hpp"
#include "schema/store/postgres/pg_push_port.hpp"
#include "sync/attachment_json.hpp"
#include "sync/stored_changed.hpp"
#include "sync/wire_json.hpp"

namespace akt::store::pg {

Status read_version(const PgResult& r, int row, sync::Version& v) {
  v.dot = {r.str(row, 0), r.int64(row, 1)};
  auto clock = sync::decode_clock(r.str(row, 2));
  auto parents = sync::decode_dots(r.str(row, 3));
  auto changed = sync::decode_changed(r.str(row, 4), r.str(row, 5));
  if (!clock.ok() || !parents.ok() || !changed.ok()) return Status::corruption("unreadable stored version");
  v.clock = std::move(*clock);
  v.parents = std::move(*parents);
  v.changed = std::move(*changed);
  v.body = r.str(row, 5);
  v.deleted = r.boolean(row, 6);
  v.form_version = r.int64(row, 7);
  v.device_time = r.int64(row, 8);
  v.server_time = r.int64(row, 9);
  return {};
}

Result<std::vector<HistoryVersion>> record_history(PgConn& c, const std::string& record_id) {
  auto r = c.exec("SELECT " AKT_PG_VERSION_COLUMNS ", is_live FROM versions WHERE record_id = $1::uuid ORDER BY id",
                  {text(record_id)});
  if (!r.ok()) return r.status();
  std::vector<HistoryVersion> out(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) {
    AKT_TRY(read_version(*r, i, out[static_cast<std::size_t>(i)].version));
    out[static_cast<std::size_t>(i)].live = r->boolean(i, 10);
  }
  return out;
}

Result<bool> actor_has_versions(PgConn& c, const std::string& actor) {
  // Named only in a stored clock counts too: such an actor is never enrolled as a tablet (SECURITY.md §3.1).
  auto r = c.exec(
      "SELECT EXISTS(SELECT 1 FROM versions WHERE actor = $1::uuid) OR "
      "EXISTS(SELECT 1 FROM clock_actors WHERE actor = lower($2::text))",
      {text(actor), text(actor)});
  if (!r.ok()) return r.status();
  return r->boolean(0, 0);
}

Result<std::optional<StoredBody>> version_with_clock(PgConn& c, const std::string& record_id,
                                                     const sync::VectorClock& clock) {
  // Clocks are stored in one canonical text, so equal clocks compare as text; the latest stored wins, as
  // on SQLite.
  auto r = c.exec(
      "SELECT body, form_version FROM versions WHERE record_id = $1::uuid AND clock = $2 ORDER BY id DESC LIMIT 1",
      {text(record_id), text(sync::encode_clock(clock))});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<StoredBody>();
  return std::optional<StoredBody>(StoredBody{r->str(0, 0), r->int64(0, 1)});
}

Result<ActorCounters> actor_counters(PgConn& c, const std::string& actor, const std::string& record_id) {
  auto r = c.exec(
      "SELECT COALESCE(max(n), 0)::bigint, COALESCE(max(n) FILTER (WHERE record_id = $2::uuid), 0)::bigint "
      "FROM versions WHERE actor = $1::uuid",
      {text(actor), text(record_id)});
  if (!r.ok()) return r.status();
  return ActorCounters{r->int64(0, 0), r->int64(0, 1)};
}

Result<std::vector<std::string>> records_referencing(PgConn& c, const std::string& digest, std::size_t limit) {
  auto r = c.exec(
      "SELECT DISTINCT r.record_id::text FROM blob_refs r JOIN blob_holders h ON h.digest = r.digest AND "
      "h.actor = r.actor WHERE r.digest = $1 ORDER BY 1 LIMIT $2::bigint",
      {text(digest), int64(static_cast<std::int64_t>(limit))});
  if (!r.ok()) return r.status();
  std::vector<std::string> out;
  for (int i = 0; i < r->rows(); ++i) out.push_back(r->str(i, 0));
  return out;
}

Result<bool> is_blob_referenced(PgConn& c, const std::string& digest) {
  auto r = c.exec("SELECT EXISTS(SELECT 1 FROM blob_refs WHERE digest = $1)", {text(digest)});
  if (!r.ok()) return r.status();
  return r->boolean(0, 0);
}

Result<std::vector<RecordListRow>> list_records(PgConn& c, const RecordListFilter& f, std::size_t limit,
                                                const std::function<bool(const RecordListRow&)>& keep, bool* more) {
  // Rows are fetched a page at a time (libpq returns a result whole): the keyset moves below the last
  // id read until limit + 1 rows were kept or the table ends.
  constexpr std::int64_t kPage = 256;
  std::string before = f.before;
  std::vector<RecordListRow> out;
  *more = false;
  for (;;) {
    auto r = c.exec(
        "SELECT r.id::text, r.form_id, r.form_version, r.municipality, r.community, r.component, r.seq, "
        "r.created_at, r.updated_at, r.conflicted <> '[]', v.clock, "
        "COALESCE(v.body::jsonb ->> 'review_status', 'submitted'), COALESCE(fd.name, ''), "
        "COALESCE(fu.username, '') "
        "FROM records r "
        "JOIN versions v ON v.id = (SELECT max(id) FROM versions WHERE record_id = r.id AND is_live) "
        "LEFT JOIN devices fd ON fd.actor = (SELECT actor FROM versions WHERE record_id = r.id ORDER BY id LIMIT 1) "
        "LEFT JOIN users fu ON fu.id = fd.user_id "
        "WHERE NOT r.deleted AND ($1 = '' OR r.id < CAST(NULLIF($1, '') AS uuid)) AND ($2 = '' OR r.form_id = $2) "
        "AND ($3 = '' OR r.municipality = $3) AND ($4 = '' OR r.component = $4) "
        "AND ($5::bigint = 0 OR r.created_at >= $5::bigint) AND ($6::bigint = 0 OR r.created_at < $6::bigint) "
        "AND ($7::bigint < 0 OR (r.conflicted <> '[]') = ($7::bigint = 1)) "
        "AND ($8 = '' OR COALESCE(v.body::jsonb ->> 'review_status', 'submitted') = $8) "
        "AND ($9 = '' OR COALESCE(fu.username, '') = $9) "
        "ORDER BY r.id DESC LIMIT $10::bigint",
        {text(before), text(f.form), text(f.municipality), text(f.component), int64(f.from_ms), int64(f.to_ms),
         int64(f.conflicted ? (*f.conflicted ? 1 : 0) : -1), text(f.review), text(f.submitted_by), int64(kPage)});
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->rows(); ++i) {
      RecordListRow row;
      row.record_id = r->str(i, 0);
      row.form_id = r->str(i, 1);
      row.form_version = r->int64(i, 2);
      row.scope = {r->str(i, 3), r->str(i, 4), r->str(i, 5)};
      row.seq = r->int64(i, 6);
      row.created_at = r->int64(i, 7);
      row.updated_at = r->int64(i, 8);
      row.conflicted = r->boolean(i, 9);
      row.clock = r->str(i, 10);
      row.review = r->str(i, 11);
      row.device = r->str(i, 12);
      row.submitted_by = r->str(i, 13);
      before = row.record_id;
      if (keep && !keep(row)) continue;
      if (out.size() == limit) {
        *more = true;
        return out;
      }
      out.push_back(std::move(row));
    }
    if (r->rows() < kPage) return out;
  }
}

Status attachment_arrived(PgConn& c, const std::string& digest, const std::function<bool(const std::string&)>& exists,
                          const std::function<sync::MergeSchema(const std::string&, std::int64_t)>& schema_for,
                          std::int64_t now) {
  auto waiting = c.exec(
      "SELECT DISTINCT b.record_id::text, r.form_id, r.form_version FROM blob_refs b JOIN records r ON "
      "r.id = b.record_id WHERE b.digest = $1 AND r.pending_upload <> '[]' ORDER BY 1",
      {text(digest)});
  if (!waiting.ok()) return waiting.status();
  PgPushPort port(c);
  const std::int64_t first = port.provisional_seq();
  std::int64_t next = first;
  for (int i = 0; i < waiting->rows(); ++i) {
    const std::string id = waiting->str(i, 0);
    AKT_TRY(port.lock_record(id));
    auto body = single_live_body(port, id);
    if (!body.ok()) return body.status();
    std::vector<std::string> missing;
    if (*body) {
      std::map<std::string, std::string> item_ids;
      if (schema_for)
        for (const auto& [key, group] : schema_for(waiting->str(i, 1), waiting->int64(i, 2)).repeats)
          item_ids[key] = group.item_id;
      for (const auto& [path, ref] : sync::find_attachment_refs(**body, &item_ids))
        if (!exists(ref.digest)) missing.push_back(path);
    }
    // Changed only when the list differs: a second arrival (another server) moves nothing.
    auto changed = c.exec("UPDATE records SET pending_upload = $2 WHERE id = $1::uuid AND pending_upload <> $2",
                          {text(id), text(sync::encode_strings(missing))});
    if (!changed.ok()) return changed.status();
    if (changed->affected() > 0) AKT_TRY(port.move_record(id, next++, now));
  }
  auto stamped = port.stamp_feed(first, next);
  return stamped.ok() ? Status() : stamped.status();
}

Result<std::vector<PlaceCount>> count_records_by_place(PgConn& c) {
  // Byte-wise order, whatever the database's locale (as SQLite compares).
  auto r = c.exec(
      "SELECT municipality, community, component, form_id, count(*) FROM records WHERE NOT deleted "
      "GROUP BY municipality, community, component, form_id "
      "ORDER BY municipality COLLATE \"C\", form_id COLLATE \"C\", community COLLATE \"C\", component COLLATE \"C\"");
  if (!r.ok()) return r.status();
  std::vector<PlaceCount> out;
  for (int i = 0; i < r->rows(); ++i)
    out.push_back({r->str(i, 0), r->str(i, 1), r->str(i, 2), r->str(i, 3), r->int64(i, 4)});
  return out;
}

}  // namespace akt::store::pg

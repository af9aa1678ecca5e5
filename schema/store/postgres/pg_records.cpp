// Reads over records, versions and attachment references on PostgreSQL (pg_records.hpp).
#include "schema/store/postgres/pg_records.hpp"

#include "sync/wire_json.hpp"

namespace akt::store::pg {

Status read_version(const PgResult& r, int row, sync::Version& v) {
  v.dot = {r.str(row, 0), r.int64(row, 1)};
  auto clock = sync::decode_clock(r.str(row, 2));
  auto parents = sync::decode_dots(r.str(row, 3));
  auto changed = sync::decode_strings(r.str(row, 4));
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

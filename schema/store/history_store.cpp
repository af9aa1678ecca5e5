// Reading a record's history: every version row, in storage (arrival) order.
#include "schema/store/history_store.hpp"

#include "schema/store/push_apply.hpp"
#include "sync/stored_changed.hpp"
#include "sync/wire_json.hpp"

namespace akt::store {

Result<std::vector<HistoryVersion>> record_history(Db& db, const std::string& record_id) {
  AKT_STMT(s, db,
           "SELECT actor, n, clock, parents, changed, body, deleted, is_live, form_version, device_time, server_time "
           "FROM versions WHERE record_id = ?1 ORDER BY id");
  const std::string id_blob = uuid_blob(record_id);
  s->bind_blob(1, id_blob.data(), id_blob.size());
  std::vector<HistoryVersion> out;
  for (;;) {
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    HistoryVersion h;
    sync::Version& v = h.version;
    v.dot = {blob_uuid(s->blob(0)), s->int64(1)};
    auto clock = sync::decode_clock(s->text(2));
    auto parents = sync::decode_dots(s->text(3));
    auto changed = sync::decode_changed(s->text(4), s->text(5));
    if (!clock.ok() || !parents.ok() || !changed.ok()) return Status::corruption("unreadable stored version");
    v.clock = std::move(*clock);
    v.parents = std::move(*parents);
    v.changed = std::move(*changed);
    v.body = std::string(s->text(5));
    v.deleted = s->int64(6) != 0;
    h.live = s->int64(7) != 0;
    v.form_version = s->int64(8);
    v.device_time = s->int64(9);
    v.server_time = s->int64(10);
    out.push_back(std::move(h));
  }
}

Result<std::optional<StoredBody>> version_with_clock(Db& db, const std::string& record_id,
                                                     const sync::VectorClock& clock) {
  AKT_STMT(s, db, "SELECT clock, body, form_version FROM versions WHERE record_id = ?1");
  const std::string id_blob = uuid_blob(record_id);
  s->bind_blob(1, id_blob.data(), id_blob.size());
  std::optional<StoredBody> out;
  for (;;) {
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    auto c = sync::decode_clock(s->text(0));
    if (c.ok() && *c == clock) out = StoredBody{std::string(s->text(1)), s->int64(2)};
  }
}

Result<ActorCounters> actor_counters(Db& db, const std::string& actor, const std::string& record_id) {
  const std::string ab = uuid_blob(actor), rb = uuid_blob(record_id);
  ActorCounters out;
  {
    AKT_STMT(s, db, "SELECT COALESCE(MAX(n), 0) FROM versions WHERE actor = ?1");
    s->bind_blob(1, ab.data(), ab.size());
    auto row = s->step();
    if (!row.ok()) return row.status();
    out.any_record = s->int64(0);
  }
  AKT_STMT(s, db, "SELECT COALESCE(MAX(n), 0) FROM versions WHERE actor = ?1 AND record_id = ?2");
  s->bind_blob(1, ab.data(), ab.size());
  s->bind_blob(2, rb.data(), rb.size());
  auto row = s->step();
  if (!row.ok()) return row.status();
  out.this_record = s->int64(0);
  return out;
}

}  // namespace akt::store

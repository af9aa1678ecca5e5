// The conflict inbox's reads on PostgreSQL (pg_inbox.hpp).
#include "schema/store/postgres/pg_inbox.hpp"

#include <string>

#include "schema/store/merge_apply.hpp"
#include "schema/store/postgres/pg_push_port.hpp"

namespace akt::store::pg {
namespace {

#define AKT_PG_ENTRY_COLUMNS                                                                              \
  "c.id, c.record_id::text, c.kind, c.path, c.status, COALESCE(c.ancestor, ''), c.candidates, c.form_id, " \
  "r.municipality, r.community, r.component, c.opened_at, c.updated_at, COALESCE(c.resolved_at, 0), "     \
  "COALESCE(c.resolved_by, ''), COALESCE(c.resolution, ''), c.detail"

Result<InboxEntry> read_entry(const PgResult& r, int i) {
  InboxEntry e;
  e.id = r.int64(i, 0);
  e.record_id = r.str(i, 1);
  const auto kind = sync::inbox_kind_from(r.str(i, 2));
  if (!kind) return Status::corruption("inbox entry of unknown kind " + r.str(i, 2));
  e.kind = *kind;
  e.path = r.str(i, 3);
  e.status = r.str(i, 4);
  e.ancestor_json = r.str(i, 5);
  e.candidates_json = r.str(i, 6);
  e.form_id = r.str(i, 7);
  e.scope = {r.str(i, 8), r.str(i, 9), r.str(i, 10)};
  e.opened_at = r.int64(i, 11);
  e.updated_at = r.int64(i, 12);
  e.resolved_at = r.int64(i, 13);
  e.resolved_by = r.str(i, 14);
  e.resolution_json = r.str(i, 15);
  e.detail_json = r.str(i, 16);
  return e;
}

}  // namespace

Result<std::vector<InboxEntry>> list_inbox(PgConn& c, const InboxFilter& f) {
  auto r = c.exec("SELECT " AKT_PG_ENTRY_COLUMNS
                  " FROM conflicts c JOIN records r ON r.id = c.record_id "
                  "WHERE ($1 = '' OR c.status = $1) AND ($2 = '' OR c.kind = $2) "
                  "AND ($3 = '' OR c.form_id = $3) AND ($4 = '' OR r.municipality = $4) "
                  "AND ($5::bigint = 0 OR c.opened_at < $5::bigint) AND ($6::bigint = 0 OR c.id < $6::bigint) "
                  "ORDER BY c.id DESC LIMIT $7::bigint",
                  {text(f.status), text(f.kind ? sync::to_string(*f.kind) : std::string_view("")), text(f.form_id),
                   text(f.municipality), int64(f.opened_before),
                   int64(f.before_id), int64(static_cast<std::int64_t>(f.limit))});
  if (!r.ok()) return r.status();
  std::vector<InboxEntry> out;
  for (int i = 0; i < r->rows(); ++i) {
    auto e = read_entry(*r, i);
    if (!e.ok()) return e.status();
    out.push_back(std::move(*e));
  }
  return out;
}

Result<std::optional<InboxEntry>> get_inbox_entry(PgConn& c, std::int64_t id) {
  auto r = c.exec("SELECT " AKT_PG_ENTRY_COLUMNS " FROM conflicts c JOIN records r ON r.id = c.record_id "
                  "WHERE c.id = $1::bigint",
                  {int64(id)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<InboxEntry>();
  auto e = read_entry(*r, 0);
  if (!e.ok()) return e.status();
  return std::optional<InboxEntry>(std::move(*e));
}

Status close_inbox_entry(PgConn& c, std::int64_t id, const std::string& by, const std::string& resolution_json,
                         std::int64_t now) {
  auto entry = c.exec("SELECT record_id::text FROM conflicts WHERE id = $1::bigint AND status = 'open'", {int64(id)});
  if (!entry.ok()) return entry.status();
  if (entry->rows() == 0) return Status::conflict("the entry is not open");
  const std::string record = entry->str(0, 0);
  PgPushPort port(c);
  AKT_TRY(port.lock_record(record));
  // Under the lock, the close re-checks that the entry is still open: a second server closing it at
  // once waited for the first and finds it resolved.
  auto closed = c.exec(
      "UPDATE conflicts SET status = 'resolved', resolved_at = $2::bigint, resolved_by = $3, resolution = $4, "
      "updated_at = $2::bigint WHERE id = $1::bigint AND status = 'open'",
      {int64(id), int64(now), text(by), text(resolution_json)});
  if (!closed.ok()) return closed.status();
  if (closed->affected() == 0) return Status::conflict("the entry is not open");
  AKT_TRY(refresh_flags(port, record));
  const std::int64_t seq = port.provisional_seq();
  AKT_TRY(port.move_record(record, seq, now));
  auto stamped = port.stamp_feed(seq, seq + 1);
  return stamped.ok() ? Status() : stamped.status();
}

}  // namespace akt::store::pg

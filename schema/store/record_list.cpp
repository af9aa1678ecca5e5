// The submissions list: one keyset-paged scan of `records` by id, joined to each record's live version.
#include "schema/store/record_list.hpp"

#include "schema/store/push_apply.hpp"

namespace akt::store {

Result<std::vector<RecordListRow>> list_records(Db& db, const RecordListFilter& f, std::size_t limit,
                                                const std::function<bool(const RecordListRow&)>& keep,
                                                bool* more) {
  // Filters bound as values ('' = any); the scan walks the primary key downwards from `before`, so a
  // page costs the rows it passes, never the whole table.
  AKT_STMT(s, db,
           "SELECT r.id, r.form_id, r.form_version, r.municipality, r.community, r.component, r.seq, "
           "r.created_at, r.updated_at, r.conflicted <> '[]', v.clock, "
           "COALESCE(json_extract(v.body, '$.review_status'), 'submitted'), "
           "COALESCE(fd.name, ''), COALESCE(fu.username, '') "
           "FROM records r "
           "JOIN versions v ON v.id = (SELECT max(id) FROM versions WHERE record_id = r.id AND is_live = 1) "
           "LEFT JOIN devices fd ON fd.actor = (SELECT actor FROM versions WHERE record_id = r.id ORDER BY id LIMIT 1) "
           "LEFT JOIN users fu ON fu.id = fd.user_id "
           "WHERE r.deleted = 0 AND (?1 = '' OR r.id < ?1) AND (?2 = '' OR r.form_id = ?2) "
           "AND (?3 = '' OR r.municipality = ?3) AND (?4 = '' OR r.component = ?4) "
           "AND (?5 = 0 OR r.created_at >= ?5) AND (?6 = 0 OR r.created_at < ?6) "
           "AND (?7 < 0 OR (r.conflicted <> '[]') = ?7) "
           "AND (?8 = '' OR COALESCE(json_extract(v.body, '$.review_status'), 'submitted') = ?8) "
           "AND (?9 = '' OR COALESCE(fu.username, '') = ?9) "
           "ORDER BY r.id DESC");
  const std::string before = f.before.empty() ? std::string() : uuid_blob(f.before);
  if (before.empty()) s->bind(1, std::string_view(""));  // "" (not NULL): from the newest
  else s->bind_blob(1, before.data(), before.size());
  s->bind(2, f.form);
  s->bind(3, f.municipality);
  s->bind(4, f.component);
  s->bind(5, f.from_ms);
  s->bind(6, f.to_ms);
  s->bind(7, static_cast<std::int64_t>(f.conflicted ? (*f.conflicted ? 1 : 0) : -1));
  s->bind(8, f.review);
  s->bind(9, f.submitted_by);
  std::vector<RecordListRow> out;
  *more = false;
  for (;;) {
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    RecordListRow r;
    r.record_id = blob_uuid(s->blob(0));
    r.form_id = std::string(s->text(1));
    r.form_version = s->int64(2);
    r.scope = {std::string(s->text(3)), std::string(s->text(4)), std::string(s->text(5))};
    r.seq = s->int64(6);
    r.created_at = s->int64(7);
    r.updated_at = s->int64(8);
    r.conflicted = s->int64(9) != 0;
    r.clock = std::string(s->text(10));
    r.review = std::string(s->text(11));
    r.device = std::string(s->text(12));
    r.submitted_by = std::string(s->text(13));
    if (!keep(r)) continue;
    if (out.size() == limit) {
      *more = true;
      return out;
    }
    out.push_back(std::move(r));
  }
}

}  // namespace akt::store

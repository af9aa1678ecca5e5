#include "schema/store/inbox_store.hpp"

#include <set>

#include "schema/store/push_apply.hpp"
#include "sync/wire_json.hpp"

namespace akt::store {

namespace {

constexpr const char* kCols =
    "c.id, c.record_id, c.kind, c.path, c.status, COALESCE(c.ancestor, ''), c.candidates, c.form_id, "
    "r.municipality, r.community, r.component, c.opened_at, c.updated_at, COALESCE(c.resolved_at, 0), "
    "COALESCE(c.resolved_by, ''), COALESCE(c.resolution, ''), c.detail";

Result<InboxEntry> read_entry(Stmt& s) {
  InboxEntry e;
  e.id = s.int64(0);
  e.record_id = blob_uuid(s.blob(1));
  const auto kind = sync::inbox_kind_from(s.text(2));
  if (!kind) return Status::corruption("inbox entry of unknown kind " + std::string(s.text(2)));
  e.kind = *kind;
  e.path = std::string(s.text(3));
  e.status = std::string(s.text(4));
  e.ancestor_json = std::string(s.text(5));
  e.candidates_json = std::string(s.text(6));
  e.form_id = std::string(s.text(7));
  e.scope = {std::string(s.text(8)), std::string(s.text(9)), std::string(s.text(10))};
  e.opened_at = s.int64(11);
  e.updated_at = s.int64(12);
  e.resolved_at = s.int64(13);
  e.resolved_by = std::string(s.text(14));
  e.resolution_json = std::string(s.text(15));
  e.detail_json = std::string(s.text(16));
  return e;
}

}  // namespace

Result<std::vector<InboxEntry>> list_inbox(Db& db, const InboxFilter& f) {
  static const std::string sql = std::string("SELECT ") + kCols +
                                 " FROM conflicts c JOIN records r ON r.id = c.record_id "
                                 "WHERE (?1 = '' OR c.status = ?1) AND (?2 = '' OR c.kind = ?2) "
                                 "AND (?3 = '' OR c.form_id = ?3) AND (?4 = '' OR r.municipality = ?4) "
                                 "AND (?5 = 0 OR c.opened_at < ?5) AND (?6 = 0 OR c.id < ?6) "
                                 "ORDER BY c.id DESC LIMIT ?7";
  AKT_STMT(s, db, sql.c_str());
  s->bind(1, f.status);
  s->bind(2, f.kind ? sync::to_string(*f.kind) : std::string_view(""));  // "" = every kind (a null view would bind NULL)
  s->bind(3, f.form_id);
  s->bind(4, f.municipality);
  s->bind(5, f.opened_before);
  s->bind(6, f.before_id);
  s->bind(7, static_cast<std::int64_t>(f.limit));
  std::vector<InboxEntry> out;
  for (;;) {
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    auto e = read_entry(*s);
    if (!e.ok()) return e.status();
    out.push_back(std::move(*e));
  }
}

Result<std::optional<InboxEntry>> get_inbox_entry(Db& db, std::int64_t id) {
  static const std::string sql =
      std::string("SELECT ") + kCols + " FROM conflicts c JOIN records r ON r.id = c.record_id WHERE c.id = ?1";
  AKT_STMT(s, db, sql.c_str());
  s->bind(1, id);
  auto row = s->step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<InboxEntry>();
  auto e = read_entry(*s);
  if (!e.ok()) return e.status();
  return std::optional<InboxEntry>(std::move(*e));
}

Status close_inbox_entry(Db& db, std::int64_t id, const std::string& by, const std::string& resolution_json,
                         std::int64_t now, std::int64_t& next_seq) {
  std::string record;
  {
    AKT_STMT(s, db, "SELECT record_id FROM conflicts WHERE id = ?1 AND status = 'open'");
    s->bind(1, id);
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::conflict("the entry is not open");
    record = std::string(s->blob(0));
  }
  {
    AKT_STMT(s, db,
             "UPDATE conflicts SET status = 'resolved', resolved_at = ?2, resolved_by = ?3, resolution = ?4, "
             "updated_at = ?2 WHERE id = ?1");
    s->bind(1, id);
    s->bind(2, now);
    s->bind(3, by);
    s->bind(4, resolution_json);
    AKT_TRY(s->run());
  }
  AKT_TRY(refresh_record_flags(db, record));
  AKT_STMT(s, db, "UPDATE records SET seq = ?2, updated_at = ?3 WHERE id = ?1");
  s->bind_blob(1, record.data(), record.size());
  s->bind(2, next_seq++);
  s->bind(3, now);
  return s->run();
}

Status refresh_record_flags(Db& db, const std::string& id_blob) {
  std::set<std::string> flagged;
  bool deletion_pending = false;
  {
    AKT_STMT(s, db, "SELECT kind, path FROM conflicts WHERE record_id = ?1 AND status = 'open'");
    s->bind_blob(1, id_blob.data(), id_blob.size());
    for (;;) {
      auto row = s->step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      const auto kind = sync::inbox_kind_from(s->text(0));
      if (!kind) return Status::corruption("inbox entry of unknown kind " + std::string(s->text(0)));
      sync::mark_entry(*kind, s->text(1), flagged, deletion_pending);
    }
  }
  AKT_STMT(s, db, "UPDATE records SET conflicted = ?2, deletion_pending = ?3 WHERE id = ?1");
  s->bind_blob(1, id_blob.data(), id_blob.size());
  s->bind(2, sync::encode_strings(std::vector<std::string>(flagged.begin(), flagged.end())));
  s->bind(3, std::int64_t{deletion_pending});
  return s->run();
}

Result<std::pair<std::string, std::string>> device_of(Db& db, const std::string& actor) {
  AKT_STMT(s, db,
           "SELECT d.name, COALESCE(u.username, '') FROM devices d LEFT JOIN users u ON u.id = d.user_id "
           "WHERE d.actor = ?1");
  const std::string blob = uuid_blob(actor);
  s->bind_blob(1, blob.data(), blob.size());
  auto row = s->step();
  if (!row.ok()) return row.status();
  if (!*row) return std::pair<std::string, std::string>();
  return std::pair<std::string, std::string>(std::string(s->text(0)), std::string(s->text(1)));
}

}  // namespace akt::store

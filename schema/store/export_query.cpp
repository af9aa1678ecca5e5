// The export's read: one form's records and their latest bodies, nothing the export does not show.
#include "schema/store/export_query.hpp"

#include "schema/store/db.hpp"
#include "sync/wire_json.hpp"

namespace akt::store {
namespace {

// The records first (by the feed order, one form), then their live versions; (actor, n) orders the
// versions of one record as RecordState::live is ordered. The page's seqs are chosen first (at most ?4
// records); the rows are then read by records_by_seq look-ups and versions_live_by_record, already in
// that order: no sort of the rows with their bodies (a store test reads export_query_plan).
constexpr const char* kExportSql =
    "SELECT r.id, r.form_version, r.municipality, r.community, r.component, r.seq, r.deleted, r.live_count, "
    "r.conflicted, r.deletion_pending, v.body, v.server_time "
    "FROM records r INDEXED BY records_by_seq "
    "JOIN versions v INDEXED BY versions_live_by_record ON v.record_id = r.id AND v.is_live = 1 "
    "WHERE r.seq IN (SELECT seq FROM records WHERE seq > ?1 AND seq <= ?2 AND form_id = ?3 ORDER BY seq LIMIT ?4) "
    "ORDER BY r.seq, v.actor, v.n";

constexpr char kHex[] = "0123456789abcdef";

// The canonical text of a 16-byte UUID into `out` (its capacity reused); "" for any other size.
void uuid_text(std::string_view blob, std::string& out) {
  out.clear();
  if (blob.size() != 16) return;
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    const auto b = static_cast<unsigned char>(blob[i]);
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xF]);
  }
}

bool has_entries(std::string_view list) {
  if (list.empty() || list == "[]") return false;
  auto decoded = sync::decode_strings(list);
  return decoded.ok() && !decoded->empty();
}

}  // namespace

Result<ExportPage> export_page(ServerStore& store, const std::string& form_id, std::int64_t since,
                               std::int64_t until, std::size_t limit, std::vector<ExportRow>& rows) {
  ExportPage page;
  page.next = since;
  Status st = store.read([&](Db& db) -> Status {
    AKT_STMT(s, db, kExportSql);
    s->bind(1, since);
    s->bind(2, until);
    s->bind(3, form_id);
    s->bind(4, static_cast<std::int64_t>(std::max<std::size_t>(limit, 1)));
    std::int64_t last = -1;
    for (;;) {
      auto row = s->step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      const std::int64_t seq = s->int64(5);
      if (seq != last) {
        last = seq;
        if (rows.size() <= page.count) rows.emplace_back();
        ExportRow& r = rows[page.count++];
        uuid_text(s->blob(0), r.record_id);
        r.form_version = s->int64(1);
        r.municipality.assign(s->text(2));
        r.community.assign(s->text(3));
        r.component.assign(s->text(4));
        r.seq = seq;
        r.deleted = s->int64(6) != 0;
        r.conflict = s->int64(7) > 1 || has_entries(s->text(8)) || s->int64(9) != 0;
      } else {
        rows[page.count - 1].conflict = true;  // several live versions
      }
      ExportRow& r = rows[page.count - 1];
      r.body.assign(s->text(10));  // the last live version's wins
      r.server_time = s->int64(11);
    }
    return {};
  });
  if (!st.ok()) return st;
  if (page.count > 0) page.next = rows[page.count - 1].seq;
  page.more = page.count >= std::max<std::size_t>(limit, 1);
  return page;
}

Result<ExportPage> ServerStore::export_page(const std::string& form_id, std::int64_t since, std::int64_t until,
                                           std::size_t limit, std::vector<ExportRow>& rows) {
  return store::export_page(*this, form_id, since, until, limit, rows);
}

Result<std::string> export_query_plan(Db& db) {
  static const std::string sql = std::string("EXPLAIN QUERY PLAN ") + kExportSql;  // cached by address
  AKT_STMT(s, db, sql.c_str());
  std::string plan;
  for (;;) {
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return plan;
    plan += std::string(s->text(3)) + "\n";
  }
}

}  // namespace akt::store

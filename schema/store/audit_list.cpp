// The filtered audit listing: one scan down the id, every filter a bound value ('' / 0 = not filtered).
#include "schema/store/audit_list.hpp"

namespace akt::store {

Result<std::vector<AuditRow>> list_audit(Db& db, const AuditFilter& f, std::int64_t before_id, std::size_t limit) {
  AKT_STMT(s, db,
           "SELECT id, at, username, action, target, detail, remote FROM audit WHERE (?1 = 0 OR id < ?1) "
           "AND (?3 = 0 OR username = ?4) AND (?5 = '' OR action = ?5) AND (?6 = 0 OR at >= ?6) "
           "AND (?7 = 0 OR at < ?7) ORDER BY id DESC LIMIT ?2");
  s->bind(1, before_id);
  s->bind(2, static_cast<std::int64_t>(limit));
  s->bind(3, static_cast<std::int64_t>(f.username ? 1 : 0));
  s->bind(4, f.username ? std::string_view(*f.username) : std::string_view());
  s->bind(5, f.action);
  s->bind(6, f.from_ms);
  s->bind(7, f.to_ms);
  std::vector<AuditRow> out;
  for (;;) {
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back({s->int64(0), s->int64(1), std::string(s->text(2)), std::string(s->text(3)),
                   std::string(s->text(4)), std::string(s->text(5)), std::string(s->text(6))});
  }
}

}  // namespace akt::store

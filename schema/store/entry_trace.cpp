// Inbox entries touched by an edit, noted by TEMP triggers on the conflicts table.
#include "schema/store/entry_trace.hpp"

#include <algorithm>

namespace akt::store {

Status start_entry_trace(Db& db) {
  // IF NOT EXISTS: a no-op once made; a batch rolled back to its savepoint may have dropped them again.
  // No key on the table: a trigger's own conflict clause would yield to the outer statement's, so an
  // entry noted twice must not collide (take_traced_entries removes repeats).
  AKT_TRY(db.exec(
      "CREATE TEMP TABLE IF NOT EXISTS traced_entry_ids(id INTEGER NOT NULL);"
      "CREATE TEMP TRIGGER IF NOT EXISTS traced_entry_opened AFTER INSERT ON conflicts "
      "BEGIN INSERT INTO traced_entry_ids(id) VALUES(new.id); END;"
      "CREATE TEMP TRIGGER IF NOT EXISTS traced_entry_extended AFTER UPDATE OF candidates ON conflicts "
      "WHEN new.status = 'open' AND new.candidates IS NOT old.candidates "
      "BEGIN INSERT INTO traced_entry_ids(id) VALUES(new.id); END;"));
  return db.exec("DELETE FROM traced_entry_ids");
}

Result<std::vector<std::int64_t>> take_traced_entries(Db& db) {
  std::vector<std::int64_t> ids;
  AKT_STMT(s, db, "DELETE FROM traced_entry_ids RETURNING id");
  for (;;) {
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    ids.push_back(s->int64(0));
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

}  // namespace akt::store

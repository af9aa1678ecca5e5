// Deriving a record's scope from its live body, so that no edit arriving last and no merge can leave a
// record in one scope with a body of another (SECURITY.md §2).
#include "schema/store/record_scope.hpp"

#include <optional>

#include "sync/scope_json.hpp"

namespace akt::store {

Status remember_record_scope(Db& db, const std::string& id_blob, const sync::Scope& scope) {
  // Every scope the record had: devices are told when it leaves theirs.
  AKT_STMT(s, db,
           "INSERT OR IGNORE INTO record_scopes(record_id, municipality, community, component) VALUES(?1, ?2, ?3, ?4)");
  s->bind_blob(1, id_blob.data(), id_blob.size());
  s->bind(2, scope.municipality);
  s->bind(3, scope.community);
  s->bind(4, scope.component);
  return s->run();
}

Status derive_record_scope(Db& db, const std::string& id_blob) {
  sync::Scope scope;  // as the change left the records row (the scope its edit carried)
  {
    AKT_STMT(s, db, "SELECT municipality, community, component FROM records WHERE id = ?1");
    s->bind_blob(1, id_blob.data(), id_blob.size());
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return {};
    scope = {std::string(s->text(0)), std::string(s->text(1)), std::string(s->text(2))};
  }
  std::optional<std::string> body;  // the single live, non-deleted body, if there is one
  {
    AKT_STMT(s, db, "SELECT body, deleted FROM versions WHERE record_id = ?1 AND is_live = 1 LIMIT 2");
    s->bind_blob(1, id_blob.data(), id_blob.size());
    for (int n = 0;; ++n) {
      auto row = s->step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      if (n > 0 || s->int64(1) != 0) {  // several live versions, or a tombstone: nothing to derive
        body.reset();
        break;
      }
      body = std::string(s->text(0));
    }
  }
  const sync::Scope derived = body ? sync::scope_of_body_text(*body, scope) : scope;
  if (!(derived == scope)) {
    AKT_STMT(s, db, "UPDATE records SET municipality = ?2, community = ?3, component = ?4 WHERE id = ?1");
    s->bind_blob(1, id_blob.data(), id_blob.size());
    s->bind(2, derived.municipality);
    s->bind(3, derived.community);
    s->bind(4, derived.component);
    AKT_TRY(s->run());
  }
  AKT_TRY(remember_record_scope(db, id_blob, derived));
  // Open entries are listed to supervisors by the record's municipality: they follow the record (also
  // when an edit moved it as it applied).
  AKT_STMT(s, db,
           "UPDATE conflicts SET municipality = ?2 WHERE record_id = ?1 AND status = 'open' AND municipality <> ?2");
  s->bind_blob(1, id_blob.data(), id_blob.size());
  s->bind(2, derived.municipality);
  return s->run();
}

}  // namespace akt::store

// Deriving a record's scope from its live body, so that no edit arriving last and no merge can leave a
// record in one scope with a body of another (SECURITY.md §2).
#include "schema/store/record_scope.hpp"

#include <nlohmann/json.hpp>

namespace akt::store {

Status derive_record_scope(Db& db, const std::string& id_blob) {
  std::string body;
  {
    AKT_STMT(s, db, "SELECT body, deleted FROM versions WHERE record_id = ?1 AND is_live = 1 LIMIT 2");
    s->bind_blob(1, id_blob.data(), id_blob.size());
    for (int n = 0;; ++n) {
      auto row = s->step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      if (n > 0 || s->int64(1) != 0) return {};  // several live versions, or a tombstone: nothing to derive
      body = std::string(s->text(0));
    }
  }
  const auto doc = nlohmann::json::parse(body, nullptr, false);
  if (!doc.is_object()) return {};
  std::string scope[3];
  {
    AKT_STMT(s, db, "SELECT municipality, community, component FROM records WHERE id = ?1");
    s->bind_blob(1, id_blob.data(), id_blob.size());
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return {};
    for (int i = 0; i < 3; ++i) scope[i] = std::string(s->text(i));
  }
  static const char* const kFields[3] = {"municipality", "community", "component"};
  bool moved = false;
  for (int i = 0; i < 3; ++i) {
    auto it = doc.find(kFields[i]);
    if (it == doc.end() || !it->is_string() || it->get_ref<const std::string&>() == scope[i]) continue;
    scope[i] = it->get<std::string>();
    moved = true;
  }
  if (moved) {
    {
      AKT_STMT(s, db, "UPDATE records SET municipality = ?2, community = ?3, component = ?4 WHERE id = ?1");
      s->bind_blob(1, id_blob.data(), id_blob.size());
      for (int i = 0; i < 3; ++i) s->bind(i + 2, scope[i]);
      AKT_TRY(s->run());
    }
    // Every scope the record ever had: devices are told when it leaves theirs.
    AKT_STMT(s, db,
             "INSERT OR IGNORE INTO record_scopes(record_id, municipality, community, component) VALUES(?1, ?2, ?3, ?4)");
    s->bind_blob(1, id_blob.data(), id_blob.size());
    for (int i = 0; i < 3; ++i) s->bind(i + 2, scope[i]);
    AKT_TRY(s->run());
  }
  // Open entries are listed to supervisors by the record's municipality: they follow the record (also
  // when an edit moved it as it applied).
  AKT_STMT(s, db,
           "UPDATE conflicts SET municipality = ?2 WHERE record_id = ?1 AND status = 'open' AND municipality <> ?2");
  s->bind_blob(1, id_blob.data(), id_blob.size());
  s->bind(2, scope[0]);
  return s->run();
}

}  // namespace akt::store

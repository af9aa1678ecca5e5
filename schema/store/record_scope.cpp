// Deriving a record's scope from its live body, so that no edit arriving last and no merge can leave a
// record in one scope with a body of another (SECURITY.md §2).
#include "schema/store/record_scope.hpp"

#include <optional>

#include "sync/scope_json.hpp"

namespace akt::store {

Status derive_record_scope(PushPort& port, const std::string& record_id) {
  auto head = port.read_record(record_id);
  if (!head.ok()) return head.status();
  if (!*head) return {};
  const sync::Scope scope = (*head)->scope;  // as the change left the record row (the scope its edit carried)
  std::vector<sync::Version> live;
  AKT_TRY(port.live_versions(record_id, live));
  // Several live versions, or a tombstone: nothing to derive.
  const bool one_body = live.size() == 1 && !live.front().deleted;
  const sync::Scope derived = one_body ? sync::scope_of_body_text(live.front().body, scope) : scope;
  if (!(derived == scope)) AKT_TRY(port.set_record_scope(record_id, derived));
  // Every scope the record had: devices are told when it leaves theirs.
  AKT_TRY(port.remember_scope(record_id, derived));
  // Open entries are listed to supervisors by the record's municipality: they follow the record (also
  // when an edit moved it as it applied).
  return port.move_open_entries(record_id, derived.municipality);
}

}  // namespace akt::store

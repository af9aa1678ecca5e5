// Deriving a record's scope from its live body, so that no edit arriving last and no merge can leave a
// record in one scope with a body of another (SECURITY.md §2).
#include "schema/store/record_scope.hpp"

#include <optional>

#include "sync/scope_json.hpp"

namespace akt::store {

namespace {

// One member decided three-way (see merge_scope).
std::string merge_member(const std::vector<const std::string*>& sides, const std::string* ancestor) {
  const std::string* changed = nullptr;  // the value the changing sides hold, when they agree
  bool disagree = false;
  for (const std::string* v : sides) {
    if (ancestor && *v == *ancestor) continue;
    if (!changed) changed = v;
    else if (*changed != *v) disagree = true;
  }
  if (!changed) return ancestor ? *ancestor : *sides.front();  // nobody changed it
  if (!disagree) return *changed;
  return ancestor ? *ancestor : *sides.front();
}

}  // namespace

sync::Scope merge_scope(const std::vector<sync::Scope>& sides, const std::optional<sync::Scope>& ancestor) {
  sync::Scope out;
  for (std::string sync::Scope::*m : {&sync::Scope::municipality, &sync::Scope::community, &sync::Scope::component}) {
    std::vector<const std::string*> values;
    values.reserve(sides.size());
    for (const sync::Scope& s : sides) values.push_back(&(s.*m));
    out.*m = merge_member(values, ancestor ? &((*ancestor).*m) : nullptr);
  }
  return out;
}

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

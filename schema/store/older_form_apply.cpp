// An older form version's edit on a record a later version wrote: find the version it was made on,
// then let the form rules carry the later answers over and check the result (PROTOCOL §4.4).
#include "schema/store/older_form_apply.hpp"

namespace akt::store {

Status adapt_older_edit(PushPort& port, const PushInput& in, const FormRules& rules, const sync::Edit& edit,
                        const std::vector<sync::Dot>& retired, const sync::EditRejection* deferred,
                        std::optional<sync::Edit>& adapted, std::optional<sync::EditRejection>& rejection,
                        std::int64_t* checked_version) {
  std::optional<sync::Version> base;
  if (!edit.context.empty()) {
    auto v = port.version_with_clock(edit.record_id, edit.context);
    if (!v.ok()) return v.status();
    base = std::move(*v);
  }
  if (!base && retired.size() == 1) {
    auto v = port.version_by_dot(retired.front());
    if (!v.ok()) return v.status();
    base = std::move(*v);
  }
  std::optional<OlderFormEdit> older;
  if (base && !base->deleted && base->form_version > edit.form_version) {
    if (edit.deleted) {
      // A tombstone has no answers to carry: it only keeps the record at the later version.
      adapted = edit;
      adapted->form_version = base->form_version;
      return {};
    }
    older = rules.adapt_older(edit, base->form_version, base->body, in.lang, in.now_ms);
  }
  if (!older) {
    // Answers of a later version with no later base: not pulled from anywhere, so refused as they are.
    if (deferred) rejection = *deferred;
    return {};
  }
  if (older->rejection) {
    rejection = std::move(older->rejection);
    if (checked_version) *checked_version = base->form_version;
    return {};
  }
  adapted = edit;
  adapted->body = std::move(older->body);
  adapted->changed = std::move(older->changed);
  adapted->form_version = base->form_version;
  return {};
}

}  // namespace akt::store

// An older form version's edit on a record a later version wrote: find the version it was made on,
// then let the caller's forms carry the later answers over and check the result (PROTOCOL §4.4).
#include "schema/store/older_form_apply.hpp"

#include "schema/store/push_apply.hpp"
#include "sync/wire_json.hpp"

namespace akt::store {

namespace {

struct Base {
  std::int64_t form_version = 0;
  std::string body;
  bool deleted = false;
};

Status read_base(Stmt& s, std::optional<Base>& out) {
  auto row = s.step();
  if (!row.ok()) return row.status();
  if (*row) out = Base{s.int64(0), std::string(s.text(1)), s.int64(2) != 0};
  return {};
}

}  // namespace

Status adapt_older_edit(Db& db, const PushInput& in, const std::string& id_blob, const sync::Edit& edit,
                        const std::vector<sync::Dot>& retired, const sync::EditRejection* deferred,
                        std::optional<sync::Edit>& adapted, std::optional<sync::EditRejection>& rejection) {
  std::optional<Base> base;
  if (!edit.context.empty()) {
    // Clocks are stored in one canonical text (zero entries never kept), so equal clocks compare as text.
    AKT_STMT(s, db, "SELECT form_version, body, deleted FROM versions WHERE record_id = ?1 AND clock = ?2 LIMIT 1");
    s->bind_blob(1, id_blob.data(), id_blob.size());
    s->bind(2, sync::encode_clock(edit.context));
    AKT_TRY(read_base(*s, base));
  }
  if (!base && retired.size() == 1) {
    AKT_STMT(s, db, "SELECT form_version, body, deleted FROM versions WHERE actor = ?1 AND n = ?2");
    const std::string actor = uuid_blob(retired.front().actor);
    s->bind_blob(1, actor.data(), actor.size());
    s->bind(2, retired.front().n);
    AKT_TRY(read_base(*s, base));
  }
  std::optional<OlderFormEdit> older;
  if (base && !base->deleted && base->form_version > edit.form_version) {
    if (edit.deleted) {
      // A tombstone has no answers to carry: it only keeps the record at the later version.
      adapted = edit;
      adapted->form_version = base->form_version;
      return {};
    }
    if (in.adapt_older) older = in.adapt_older(edit, base->form_version, base->body);
  }
  if (!older) {
    // Answers of a later version with no later base: not pulled from anywhere, so refused as they are.
    if (deferred) rejection = *deferred;
    return {};
  }
  if (older->rejection) {
    rejection = std::move(older->rejection);
    return {};
  }
  adapted = edit;
  adapted->body = std::move(older->body);
  adapted->changed = std::move(older->changed);
  adapted->form_version = base->form_version;
  return {};
}

}  // namespace akt::store

// Applying a push batch: for each edit, look up what the store knows, ask sync::decide_push, write
// the outcome. Runs under the writer's transaction; never commits.
#include "schema/store/push_apply.hpp"

#include <openssl/evp.h>

#include "schema/store/attachment_index.hpp"
#include "schema/store/entry_trace.hpp"
#include "schema/store/merge_apply.hpp"
#include "schema/store/older_form_apply.hpp"
#include "schema/store/record_scope.hpp"
#include "sync/access.hpp"
#include "sync/json_scan.hpp"
#include "sync/push_decision.hpp"
#include "sync/uuid.hpp"
#include "sync/wire_json.hpp"

namespace akt::store {

using sync::DotStatus;
using sync::Edit;
using sync::EditResult;
using sync::Outcome;

std::string sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string uuid_blob(const std::string& uuid) {
  auto b = sync::parse_uuid(uuid);
  return b ? std::string(reinterpret_cast<const char*>(b->data()), b->size()) : std::string();
}

std::string blob_uuid(std::string_view blob) {
  sync::UuidBytes b{};
  if (blob.size() != b.size()) return {};
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(blob[i]);
  return sync::format_uuid(b);
}

QuarantineEntry read_quarantine_row(Stmt& s) {
  QuarantineEntry q;
  q.id = s.int64(0);
  q.device = blob_uuid(s.blob(1));
  q.batch_id = std::string(s.text(2));
  q.record_id = blob_uuid(s.blob(3));
  q.dot = {blob_uuid(s.blob(4)), s.int64(5)};
  q.code = std::string(s.text(6));
  q.detail = std::string(s.text(7));
  q.edit_json = std::string(s.text(8));
  q.received_at = s.int64(9);
  q.fields_json = std::string(s.text(10));
  q.released_at = s.int64(11);
  q.discarded_at = s.int64(12);
  return q;
}

namespace {

struct LiveRow {
  sync::LiveRef ref;
  bool deleted = false;
};

struct RecordRow {
  bool exists = false;
  std::string form_id;
  sync::Scope scope;
  std::string conflicted = "[]";  // open conflicted paths
  std::int64_t seq = 0;
  std::int64_t live_count = 0;
  std::int64_t form_version = 0;
};

Status load_record(Db& db, const std::string& id_blob, RecordRow& out) {
  AKT_STMT(s, db,
           "SELECT form_id, seq, live_count, municipality, community, component, conflicted, form_version "
           "FROM records WHERE id = ?1");
  s->bind_blob(1, id_blob.data(), id_blob.size());
  auto row = s->step();
  if (!row.ok()) return row.status();
  out.exists = *row;
  if (*row) {
    out.form_id = std::string(s->text(0));
    out.seq = s->int64(1);
    out.live_count = s->int64(2);
    out.scope = {std::string(s->text(3)), std::string(s->text(4)), std::string(s->text(5))};
    out.conflicted = std::string(s->text(6));
    out.form_version = s->int64(7);
  }
  return {};
}

Status load_dot_status(Db& db, const std::string& actor_blob, std::int64_t n, const std::string& digest,
                       DotStatus& out) {
  AKT_STMT(s, db, "SELECT digest FROM versions WHERE actor = ?1 AND n = ?2");
  s->bind_blob(1, actor_blob.data(), actor_blob.size());
  s->bind(2, n);
  auto row = s->step();
  if (!row.ok()) return row.status();
  if (!*row) out = DotStatus::kNew;
  else out = s->blob(0) == digest ? DotStatus::kAppliedSameContent : DotStatus::kAppliedOtherContent;
  return {};
}

Status load_live(Db& db, const std::string& id_blob, std::vector<LiveRow>& out) {
  AKT_STMT(s, db, "SELECT actor, n, clock, deleted FROM versions WHERE record_id = ?1 AND is_live = 1");
  s->bind_blob(1, id_blob.data(), id_blob.size());
  for (;;) {
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return {};
    LiveRow r;
    r.ref.dot = {blob_uuid(s->blob(0)), s->int64(1)};
    auto clock = sync::decode_clock(s->text(2));
    if (!clock.ok()) return Status::corruption("stored clock: " + clock.status().message());
    r.ref.clock = std::move(*clock);
    r.deleted = s->int64(3) != 0;
    out.push_back(std::move(r));
  }
}

// `prep` holds the edit's encoded clock and changed list when `e` is the edit as sent, else nullptr.
Status insert_version(Db& db, const std::string& id_blob, const std::string& actor_blob, const Edit& e,
                      const std::vector<sync::Dot>& parents, bool live, std::int64_t now,
                      const std::string& digest, const PreparedEdit* prep) {
  AKT_STMT(s, db,
           "INSERT INTO versions(record_id, actor, n, clock, parents, changed, body, deleted, is_live, "
           "form_version, device_time, server_time, digest) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)");
  s->bind_blob(1, id_blob.data(), id_blob.size());
  s->bind_blob(2, actor_blob.data(), actor_blob.size());
  s->bind(3, e.dot.n);
  if (prep) s->bind(4, prep->clock);
  else s->bind(4, sync::encode_clock(e.clock()));
  s->bind(5, parents.empty() ? std::string("[]") : sync::encode_dots(parents));
  if (prep) s->bind(6, prep->changed);
  else s->bind(6, sync::encode_strings(e.changed));
  s->bind(7, e.body);
  s->bind(8, std::int64_t{e.deleted});
  s->bind(9, std::int64_t{live});
  s->bind(10, e.form_version);
  s->bind(11, e.device_time);
  s->bind(12, now);
  s->bind_blob(13, digest.data(), digest.size());
  AKT_TRY(s->run());
  // The actors its context names are in a clock from now on: never enrolled as a tablet (SECURITY.md §3.1).
  for (const auto& [actor, n] : e.context.entries()) {
    if (actor == e.dot.actor) continue;  // its own dots are in versions
    AKT_STMT(c, db, "INSERT OR IGNORE INTO clock_actors(actor) VALUES(lower(?1))");
    c->bind(1, actor);
    AKT_TRY(c->run());
  }
  return {};
}

Status retire(Db& db, const sync::Dot& d) {
  AKT_STMT(s, db, "UPDATE versions SET is_live = 0 WHERE actor = ?1 AND n = ?2");
  std::string actor = uuid_blob(d.actor);
  s->bind_blob(1, actor.data(), actor.size());
  s->bind(2, d.n);
  return s->run();
}

// `pending_upload` is stored only when the row is new (an existing row keeps its list).
Status upsert_record(Db& db, const std::string& id_blob, const Edit& e, std::int64_t seq, std::int64_t live_count,
                     bool deleted, std::int64_t now, const std::string& pending_upload) {
  AKT_STMT(s, db,
           "INSERT INTO records(id, form_id, form_version, municipality, community, component, seq, live_count, "
           "deleted, created_at, updated_at, pending_upload) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?10,?11) "
           "ON CONFLICT(id) DO UPDATE SET form_version = excluded.form_version, "
           "municipality = excluded.municipality, community = excluded.community, component = excluded.component, "
           "seq = excluded.seq, live_count = excluded.live_count, deleted = excluded.deleted, "
           "updated_at = excluded.updated_at");
  s->bind_blob(1, id_blob.data(), id_blob.size());
  s->bind(2, e.form_id);
  s->bind(3, e.form_version);
  s->bind(4, e.scope.municipality);
  s->bind(5, e.scope.community);
  s->bind(6, e.scope.component);
  s->bind(7, seq);
  s->bind(8, live_count);
  s->bind(9, std::int64_t{deleted});
  s->bind(10, now);
  s->bind(11, pending_upload);
  return s->run();
}

// The paths of `refs` whose file the server lacks, as the stored JSON array.
std::string missing_files(const AttachmentRefs& refs, const PushInput& in) {
  std::vector<std::string> missing;
  for (const auto& [path, ref] : refs)
    if (!in.blob_exists(ref.digest)) missing.push_back(path);
  return sync::encode_strings(missing);
}

Status quarantine(Db& db, const PushInput& in, const std::string& device_blob, const std::string& id_blob,
                  const Edit& e, const EditResult& r) {
  AKT_STMT(s, db,
           "INSERT INTO quarantine(device, batch_id, record_id, actor, n, code, detail, edit, received_at, fields) "
           "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)");
  std::string actor = uuid_blob(e.dot.actor);
  s->bind_blob(1, device_blob.data(), device_blob.size());
  s->bind(2, in.request->batch_id);
  s->bind_blob(3, id_blob.data(), id_blob.size());
  s->bind_blob(4, actor.data(), actor.size());
  s->bind(5, e.dot.n);
  s->bind(6, r.error_code);
  s->bind(7, r.error_detail);
  s->bind(8, sync::encode_edit(e));
  s->bind(9, in.now_ms);
  s->bind(10, r.error_fields.empty() ? std::string("[]") : r.error_fields);
  return s->run();
}

// What apply_edit tells its caller besides the answer.
struct EditApplied {
  std::optional<std::string> before;  // the record's single live body before the edit, when asked for
  bool fresh = false;                 // a new record whose one version is the edit exactly as sent
};

// `want_before`: fill `out.before` (read only when the record exists: a new record has no body before).
Status apply_edit(Db& db, const PushInput& in, const std::string& device_blob, const Edit& e,
                  const PreparedEdit& prep, const sync::EditRejection* precheck, const std::string& server_actor,
                  std::int64_t& next_seq, bool want_before, EditResult& r, EditApplied& out) {
  const std::string& digest = prep.digest;
  const std::string id_blob = uuid_blob(e.record_id);
  const std::string actor_blob = uuid_blob(e.dot.actor);
  r.record_id = e.record_id;
  r.dot = e.dot;

  RecordRow rec;
  AKT_TRY(load_record(db, id_blob, rec));
  if (want_before && rec.exists) {
    auto b = single_live_body(db, id_blob);
    if (!b.ok()) return b.status();
    out.before = std::move(*b);
  }
  r.seq = rec.seq;
  r.live = static_cast<std::size_t>(rec.live_count);

  sync::Decision d;
  std::vector<LiveRow> live;
  // Answers of a later form version: refused unless the edit turns out to be made on such a version.
  const sync::EditRejection* deferred = precheck && precheck->unless_newer_base ? precheck : nullptr;
  if (precheck && !deferred) {
    d.reject_code = precheck->code;
    d.reject_detail = precheck->detail;
    r.error_fields = precheck->fields_json;
  } else if (e.dot.actor != in.device) {
    d.reject_code = "wrong_actor";
    d.reject_detail = "a device pushes only edits stamped with its own actor id";
  } else if (in.scope && !sync::in_scope(*in.scope, e.scope, e.form_id)) {
    d.reject_code = "out_of_scope";
    d.reject_detail = "the device's user may not write records of " + e.scope.municipality + "/" +
                      e.scope.community + "/" + e.scope.component + " form " + e.form_id;
  } else if (in.scope && rec.exists && !sync::in_scope(*in.scope, rec.scope, rec.form_id)) {
    d.reject_code = "out_of_scope";
    d.reject_detail = "the record belongs to a scope the device's user may not write";
  } else if (rec.exists && rec.form_id != e.form_id) {
    d.reject_code = "form_mismatch";
    d.reject_detail = "record belongs to form '" + rec.form_id + "', edit names '" + e.form_id + "'";
  } else {
    DotStatus ds = DotStatus::kNew;
    AKT_TRY(load_dot_status(db, actor_blob, e.dot.n, digest, ds));
    if (rec.exists && ds == DotStatus::kNew) AKT_TRY(load_live(db, id_blob, live));
    std::vector<sync::LiveRef> refs;
    refs.reserve(live.size());
    for (const LiveRow& l : live) refs.push_back(l.ref);
    d = sync::decide_push(ds, refs, e.dot, e.context);
  }
  // An edit filled with an older form version than the version it was made on keeps that version's
  // other answers and is checked against it (PROTOCOL §4.4).
  std::optional<sync::Edit> adapted;
  if ((d.outcome == Outcome::kApplied || d.outcome == Outcome::kConcurrent || d.outcome == Outcome::kSuperseded) &&
      (deferred || rec.form_version > e.form_version)) {
    std::optional<sync::EditRejection> refused;
    AKT_TRY(adapt_older_edit(db, in, id_blob, e, d.retire, deferred, adapted, refused));
    if (refused) {
      d.outcome = Outcome::kRejected;
      d.reject_code = refused->code;
      d.reject_detail = refused->detail;
      r.error_fields = refused->fields_json;
    }
  }
  const Edit& stored = adapted ? *adapted : e;
  const PreparedEdit* stored_prep = adapted ? nullptr : &prep;
  r.outcome = d.outcome;
  out.fresh = !rec.exists && !adapted && d.outcome == Outcome::kApplied;

  switch (d.outcome) {
    case Outcome::kRejected:
      r.error_code = d.reject_code;
      r.error_detail = d.reject_detail;
      return quarantine(db, in, device_blob, id_blob, e, r);
    case Outcome::kDuplicate:
      return {};
    case Outcome::kSuperseded:
      // Kept in history: it can still be a merge ancestor, and no accepted edit is ever dropped.
      return insert_version(db, id_blob, actor_blob, stored, {}, false, in.now_ms, digest, stored_prep);
    case Outcome::kApplied:
    case Outcome::kConcurrent:
    case Outcome::kMerged:  // decide_push never answers kMerged; the merge comes after
      break;
  }
  for (const sync::Dot& dot : d.retire) AKT_TRY(retire(db, dot));
  AKT_TRY(insert_version(db, id_blob, actor_blob, stored, d.retire, true, in.now_ms, digest, stored_prep));
  bool all_deleted = stored.deleted;
  std::int64_t live_count = 1;
  for (const LiveRow& l : live) {
    bool retired = false;
    for (const sync::Dot& dot : d.retire) retired = retired || dot == l.ref.dot;
    if (retired) continue;
    ++live_count;
    all_deleted = all_deleted && l.deleted;
  }
  const std::int64_t seq = next_seq++;
  // A new record's missing files are known now (track_attachments adds nothing more for it).
  const bool known_refs = out.fresh && prep.refs && in.blob_exists;
  AKT_TRY(upsert_record(db, id_blob, stored, seq, live_count, all_deleted, in.now_ms,
                        known_refs ? missing_files(*prep.refs, in) : std::string("[]")));
  // A fast-forward edit of a record with open entries joins them; a concurrent one joins them in the merge.
  if (rec.exists && d.outcome == Outcome::kApplied && !in.resolution)
    AKT_TRY(join_open_entries(db, in, id_blob, stored, server_actor));
  // (The scopes the record had are remembered by derive_record_scope once the change is complete.)
  r.seq = seq;
  r.live = static_cast<std::size_t>(live_count);
  return {};
}

// After a merge: the merged version (the record's single live one) names itself in the answer.
Status note_merged_version(Db& db, const std::string& id_blob, EditResult& r) {
  if (r.outcome != Outcome::kMerged) return {};
  AKT_STMT(s, db, "SELECT actor, n FROM versions WHERE record_id = ?1 AND is_live = 1");
  s->bind_blob(1, id_blob.data(), id_blob.size());
  auto row = s->step();
  if (!row.ok()) return row.status();
  if (*row) r.version = sync::Dot{blob_uuid(s->blob(0)), s->int64(1)};
  return {};
  return {};
}

// An edit whose context claims a server version that was never made (a counter of the server's own
// actor above the highest it wrote) is refused: its clock would cover the server's next merges.
Result<std::optional<sync::EditRejection>> check_server_context(Db& db, const Edit& e, const std::string& server_actor) {
  const std::int64_t claimed = e.context.get(server_actor);
  if (claimed == 0) return std::optional<sync::EditRejection>();
  AKT_STMT(s, db, "SELECT COALESCE(MAX(n), 0) FROM versions WHERE actor = ?1");
  const std::string blob = uuid_blob(server_actor);
  s->bind_blob(1, blob.data(), blob.size());
  auto row = s->step();
  if (!row.ok()) return row.status();
  if (claimed <= s->int64(0)) return std::optional<sync::EditRejection>();
  return std::optional<sync::EditRejection>(sync::EditRejection{
      "unknown_context", "the context names server version " + server_actor + ":" + std::to_string(claimed) +
                             ", which this server never made", ""});
}

// Whether deriving the scope of a record from `e`'s body could move it away from `e.scope`: the body
// names a scope member (as a string, which is what derive_record_scope reads) with another value. Any
// doubt (escapes, a body that does not scan) answers true.
bool body_may_move_scope(const Edit& e) {
  if (e.deleted) return true;
  bool may = false;
  const bool whole = sync::for_each_top_member(e.body, [&](std::string_view key, std::string_view value) {
    auto moves = [&] {
      may = true;
      return false;  // stop: one is enough
    };
    if (key.find('\\') != std::string_view::npos) return moves();
    const std::string* own = key == "\"municipality\"" ? &e.scope.municipality
                             : key == "\"community\""  ? &e.scope.community
                             : key == "\"component\""  ? &e.scope.component
                                                        : nullptr;
    if (own == nullptr || value.empty() || value.front() != '"') return true;
    if (value.find('\\') != std::string_view::npos || value.substr(1, value.size() - 2) != *own) return moves();
    return true;
  });
  return may || !whole;
}

// The attachments of a stored edit: its references indexed under its device, and the record's list of
// missing files recomputed when its live version changed (PROTOCOL §14.5). A new record (`fresh`) got
// its list with its row: only its references are left to index.
Status track_attachments(Db& db, const PushInput& in, const Edit& e, const sync::EditResult& r,
                         const PreparedEdit& prep, bool fresh) {
  using sync::Outcome;
  const bool stored = r.outcome == Outcome::kApplied || r.outcome == Outcome::kMerged ||
                      r.outcome == Outcome::kConcurrent || r.outcome == Outcome::kSuperseded;
  if (!stored) return {};
  const std::string id_blob = uuid_blob(e.record_id);
  if (fresh && prep.refs) return note_attachment_refs(db, id_blob, uuid_blob(e.dot.actor), *prep.refs);
  const sync::MergeSchema schema = in.schema_for ? in.schema_for(e.form_id, e.form_version) : sync::MergeSchema{};
  if (!e.deleted && !in.resolution) AKT_TRY(note_attachment_refs(db, id_blob, uuid_blob(e.dot.actor), e.body, &schema));
  if (r.outcome == Outcome::kSuperseded) return {};
  return refresh_pending_upload(db, id_blob, in.blob_exists, &schema);
}

}  // namespace

PreparedBatch prepare_batch(const PushInput& in) {
  const sync::PushRequest& req = *in.request;
  PreparedBatch out;
  out.edits.resize(req.edits.size());
  std::string all = req.batch_id;
  for (std::size_t i = 0; i < req.edits.size(); ++i) {
    const Edit& e = req.edits[i];
    PreparedEdit& p = out.edits[i];
    p.changed = sync::encode_strings(e.changed);
    p.digest = sha256(sync::edit_fingerprint(e));
    p.clock = sync::encode_clock(e.clock());
    p.body_may_move_scope = body_may_move_scope(e);
    if (in.blob_exists && !in.resolution && !e.deleted) {
      // A reference is a string starting "sha256:"; a body without that text (or an escape that could
      // spell it) has none, and needs no parse.
      if (e.body.find("sha256:") == std::string::npos && e.body.find("\\u") == std::string::npos) {
        p.refs.emplace();
      } else {
        const sync::MergeSchema schema = in.schema_for ? in.schema_for(e.form_id, e.form_version) : sync::MergeSchema{};
        p.refs = attachment_refs_of(e.body, &schema);
      }
    }
    all.push_back('\n');
    all += p.digest;
  }
  out.digest = sha256(all);
  return out;
}

Result<PushOutput> apply_batch(Db& db, const PushInput& in, const PreparedBatch& prepared, const std::string& epoch,
                               const std::string& server_actor, std::int64_t& next_seq) {
  const sync::PushRequest& req = *in.request;
  const std::string device_blob = uuid_blob(in.device);
  const std::string& digest = prepared.digest;
  {
    AKT_STMT(s, db, "SELECT digest, response FROM batches WHERE device = ?1 AND batch_id = ?2");
    s->bind_blob(1, device_blob.data(), device_blob.size());
    s->bind(2, req.batch_id);
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (*row) {
      if (s->blob(0) != digest)
        return Status::conflict("batch id '" + req.batch_id + "' was used before with different content");
      return PushOutput{std::string(s->text(1)), true};
    }
  }
  AKT_TRY(start_entry_trace(db));
  sync::PushResponse resp;
  resp.batch_id = req.batch_id;
  resp.epoch = epoch;
  resp.results.resize(req.edits.size());
  for (std::size_t i = 0; i < req.edits.size(); ++i) {
    resp.results[i].index = i;
    const sync::EditRejection* pre =
        in.prechecks && i < in.prechecks->size() && (*in.prechecks)[i] ? &*(*in.prechecks)[i] : nullptr;
    std::optional<sync::EditRejection> context_reject;
    if (!pre) {
      auto cr = check_server_context(db, req.edits[i], server_actor);
      if (!cr.ok()) return cr.status();
      context_reject = std::move(*cr);
      if (context_reject) pre = &*context_reject;
    }
    // A device edit of an approved record, or of admin-only fields, is held for an admin (hold_edit):
    // apply_edit reads the record's body before the edit for it.
    EditApplied applied;
    AKT_TRY(apply_edit(db, in, device_blob, req.edits[i], prepared.edits[i], pre, server_actor, next_seq,
                       !in.resolution && !pre, resp.results[i], applied));
    const std::optional<std::string>& before = applied.before;
    // Several live versions: merge them at once, so a record always has one live version (DESIGN §3).
    if (resp.results[i].outcome == Outcome::kConcurrent) {
      AKT_TRY(merge_record(db, in, uuid_blob(req.edits[i].record_id), req.edits[i].record_id, server_actor, next_seq,
                           resp.results[i]));
      AKT_TRY(note_merged_version(db, uuid_blob(req.edits[i].record_id), resp.results[i]));
    }
    if (before && (resp.results[i].outcome == Outcome::kApplied || resp.results[i].outcome == Outcome::kMerged))
      AKT_TRY(hold_edit(db, in, uuid_blob(req.edits[i].record_id), *before, req.edits[i], server_actor, next_seq,
                        resp.results[i]));
    // The record's scope follows the body it now has, whichever edit arrived last (DESIGN §6). A new
    // record stored as sent, whose body names no other scope, has it already: it is only remembered.
    const Outcome oc = resp.results[i].outcome;
    const bool scope_set = applied.fresh && !prepared.edits[i].body_may_move_scope;
    if (scope_set)
      AKT_TRY(remember_record_scope(db, uuid_blob(req.edits[i].record_id), req.edits[i].scope));
    else if (oc == Outcome::kApplied || oc == Outcome::kMerged || oc == Outcome::kConcurrent)
      AKT_TRY(derive_record_scope(db, uuid_blob(req.edits[i].record_id)));
    // A new record without a key has no key to forget.
    const bool no_key = in.unique_keys && i < in.unique_keys->size() && (*in.unique_keys)[i].empty();
    if (in.unique_keys && i < in.unique_keys->size() && resp.results[i].outcome == Outcome::kApplied &&
        !(applied.fresh && no_key))
      AKT_TRY(track_unique_key(db, in, uuid_blob(req.edits[i].record_id), req.edits[i], (*in.unique_keys)[i],
                               resp.results[i]));
    if (in.blob_exists)
      AKT_TRY(track_attachments(db, in, req.edits[i], resp.results[i], prepared.edits[i], applied.fresh));
    auto entries = take_traced_entries(db);
    if (!entries.ok()) return entries.status();
    resp.results[i].entries = std::move(*entries);
  }
  PushOutput out{sync::encode_push_response(resp), false};
  {
    AKT_STMT(s, db, "INSERT INTO batches(device, batch_id, digest, response, created_at) VALUES(?1,?2,?3,?4,?5)");
    s->bind_blob(1, device_blob.data(), device_blob.size());
    s->bind(2, req.batch_id);
    s->bind_blob(3, digest.data(), digest.size());
    s->bind(4, out.response);
    s->bind(5, in.now_ms);
    AKT_TRY(s->run());
  }
  {
    AKT_STMT(s, db,
             "INSERT INTO devices(actor, last_push) VALUES(?1, ?2) "
             "ON CONFLICT(actor) DO UPDATE SET last_push = excluded.last_push");
    s->bind_blob(1, device_blob.data(), device_blob.size());
    s->bind(2, in.now_ms);
    AKT_TRY(s->run());
  }
  return out;
}

}  // namespace akt::store

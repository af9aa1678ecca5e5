// Applying a push batch: for each edit, look up what the store knows, ask sync::decide_push, write
// the outcome. Runs over the push port under the caller's write transaction; never commits.
//
// Per edit, in this order (DESIGN §3): lock the record; policy rejections (precheck, actor, scope,
// form); the dot's status and the live heads; the decision; an older form's edit adapted; the version
// written and the record moved to the next feed position; a merge when several versions are live; a
// held change; the record's scope derived; its uniqueness key; its attachments; the entries it touched.
#include "schema/store/push_engine.hpp"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include "schema/store/merge_apply.hpp"
#include "schema/store/older_form_apply.hpp"
#include "schema/store/record_scope.hpp"
#include "sync/access.hpp"
#include "sync/json_scan.hpp"
#include "sync/push_decision.hpp"
#include "sync/stored_changed.hpp"
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

namespace {

// The paths of `refs` whose file the server lacks.
std::vector<std::string> missing_files(const AttachmentRefs& refs, const PushInput& in) {
  std::vector<std::string> missing;
  for (const auto& [path, ref] : refs)
    if (!in.blob_exists(ref.digest)) missing.push_back(path);
  return missing;
}

// What a rejection's arguments are taken from besides the edit (see rejection_args).
struct RejectionFacts {
  const std::optional<RecordHead>* rec = nullptr;  // the record, when it exists
  std::int64_t checked_version = 0;  // the form version the body was checked against (0: the edit's)
  bool record_scope = false;         // out_of_scope for the scope the existing record is in
  std::int64_t claimed = 0;          // unknown_context: the server counter the context claims
};

// The arguments of a rejection (PROTOCOL §10.7): what its English `detail` says, as data, so that a
// reader's console words it in the reader's language. Ids stay out (people read names, not ids).
std::string rejection_args(const std::string& code, const Edit& e, const std::string& fields_json,
                           const RejectionFacts& f) {
  const RecordHead* rec = f.rec && *f.rec ? &**f.rec : nullptr;
  nlohmann::json a = nlohmann::json::object();
  if (code == "unknown_form_version" || code == "scope_mismatch" || code == "invalid_record") {
    const std::int64_t checked = f.checked_version ? f.checked_version : e.form_version;
    a["form"] = e.form_id;
    a["form_version"] = checked;
    if (checked != e.form_version) a["filled_version"] = e.form_version;
    if (code == "invalid_record") {
      const auto problems = nlohmann::json::parse(fields_json, nullptr, false);
      a["problems"] = problems.is_array() ? problems.size() : 0;
    }
  } else if (code == "out_of_scope") {
    const bool of_record = f.record_scope && rec;
    const sync::Scope& s = of_record ? rec->scope : e.scope;
    a = {{"form", of_record ? rec->form_id : e.form_id}, {"municipality", s.municipality},
         {"community", s.community}, {"component", s.component}, {"record_exists", of_record}};
  } else if (code == "form_mismatch") {
    a = {{"form", e.form_id}, {"record_form", rec ? rec->form_id : std::string()}};
  } else if (code == "dot_reuse") {
    a = {{"n", e.dot.n}};
  } else if (code == "unknown_context") {
    a = {{"claimed", f.claimed}};
  }
  return a.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Status quarantine(PushPort& port, const PushInput& in, const Edit& e, const EditResult& r, std::string args_json) {
  QuarantineEntry q;
  q.device = in.device;
  q.batch_id = in.request->batch_id;
  q.record_id = e.record_id;
  q.dot = e.dot;
  q.code = r.error_code;
  q.detail = r.error_detail;
  q.edit_json = sync::encode_edit(e);
  q.received_at = in.now_ms;
  q.fields_json = r.error_fields.empty() ? std::string("[]") : r.error_fields;
  q.args_json = std::move(args_json);
  return port.insert_quarantine(q);
}

// What apply_edit tells its caller besides the answer.
struct EditApplied {
  std::optional<std::string> before;  // the record's single live body before the edit, when asked for
  bool fresh = false;                 // a new record whose one version is the edit exactly as sent
};

// `want_before`: fill `out.before` (read only when the record exists: a new record has no body before).
Status apply_edit(PushPort& port, const PushInput& in, const PushContext& ctx, const Edit& e,
                  const PreparedEdit& prep, const sync::EditRejection* precheck, std::int64_t& next_seq,
                  bool want_before, EditResult& r, EditApplied& out) {
  const std::string& digest = prep.digest;
  r.record_id = e.record_id;
  r.dot = e.dot;

  AKT_TRY(port.lock_record(e.record_id));
  auto head = port.read_record(e.record_id);
  if (!head.ok()) return head.status();
  const std::optional<RecordHead>& rec = *head;
  if (want_before && rec) {
    auto b = single_live_body(port, e.record_id);
    if (!b.ok()) return b.status();
    out.before = std::move(*b);
  }
  r.seq = rec ? rec->seq : 0;
  r.live = rec ? static_cast<std::size_t>(rec->live_count) : 0;

  sync::Decision d;
  RejectionFacts facts;
  facts.rec = &rec;
  if (precheck && precheck->code == "unknown_context") facts.claimed = e.context.get(ctx.server_actor);
  std::vector<LiveHead> live;
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
  } else if (in.scope && rec && !sync::in_scope(*in.scope, rec->scope, rec->form_id)) {
    d.reject_code = "out_of_scope";
    d.reject_detail = "the record belongs to a scope the device's user may not write";
    facts.record_scope = true;
  } else if (rec && rec->form_id != e.form_id) {
    d.reject_code = "form_mismatch";
    d.reject_detail = "record belongs to form '" + rec->form_id + "', edit names '" + e.form_id + "'";
  } else {
    auto stored = port.dot_digest(e.dot);
    if (!stored.ok()) return stored.status();
    const DotStatus ds = !*stored                ? DotStatus::kNew
                         : **stored == digest ? DotStatus::kAppliedSameContent
                                              : DotStatus::kAppliedOtherContent;
    if (rec && ds == DotStatus::kNew) AKT_TRY(port.live_heads(e.record_id, live));
    std::vector<sync::LiveRef> refs;
    refs.reserve(live.size());
    for (const LiveHead& l : live) refs.push_back({l.dot, l.clock});
    d = sync::decide_push(ds, refs, e.dot, e.context);
  }
  // An edit filled with an older form version than the version it was made on keeps that version's
  // other answers and is checked against it (PROTOCOL §4.4).
  std::optional<sync::Edit> adapted;
  const std::int64_t rec_form_version = rec ? rec->form_version : 0;
  if ((d.outcome == Outcome::kApplied || d.outcome == Outcome::kConcurrent || d.outcome == Outcome::kSuperseded) &&
      (deferred || rec_form_version > e.form_version)) {
    std::optional<sync::EditRejection> refused;
    AKT_TRY(adapt_older_edit(port, in, ctx.rules, e, d.retire, deferred, adapted, refused, &facts.checked_version));
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
  out.fresh = !rec && !adapted && d.outcome == Outcome::kApplied;

  auto write_version = [&](const std::vector<sync::Dot>& parents, bool is_live) -> Status {
    EditVersion v{stored, parents, is_live, in.now_ms, digest, stored_prep ? &stored_prep->clock : nullptr,
                  stored_prep ? &stored_prep->changed : nullptr};
    AKT_TRY(port.insert_edit_version(v));
    // The actors its context names are in a clock from now on: never enrolled as a tablet (SECURITY.md §3.1).
    for (const auto& [actor, n] : stored.context.entries()) {
      if (actor == stored.dot.actor) continue;  // its own dots are in versions
      AKT_TRY(port.note_clock_actor(actor));
    }
    return {};
  };
  switch (d.outcome) {
    case Outcome::kRejected:
      r.error_code = d.reject_code;
      r.error_detail = d.reject_detail;
      return quarantine(port, in, e, r, rejection_args(r.error_code, e, r.error_fields, facts));
    case Outcome::kDuplicate:
      return {};
    case Outcome::kSuperseded:
      // Kept in history: it can still be a merge ancestor, and no accepted edit is ever dropped.
      return write_version({}, false);
    case Outcome::kApplied:
    case Outcome::kConcurrent:
    case Outcome::kMerged:  // decide_push never answers kMerged; the merge comes after
      break;
  }
  for (const sync::Dot& dot : d.retire) AKT_TRY(port.retire_version(dot));
  AKT_TRY(write_version(d.retire, true));
  bool all_deleted = stored.deleted;
  std::int64_t live_count = 1;
  for (const LiveHead& l : live) {
    bool retired = false;
    for (const sync::Dot& dot : d.retire) retired = retired || dot == l.dot;
    if (retired) continue;
    ++live_count;
    all_deleted = all_deleted && l.deleted;
  }
  const std::int64_t seq = next_seq++;
  // A new record's missing files are known now (track_attachments adds nothing more for it).
  const bool known_refs = out.fresh && prep.refs && in.blob_exists;
  AKT_TRY(port.write_record(stored, seq, live_count, all_deleted, in.now_ms,
                            known_refs ? missing_files(*prep.refs, in) : std::vector<std::string>()));
  // A fast-forward edit of a record with open entries joins them; a concurrent one joins them in the merge.
  if (rec && d.outcome == Outcome::kApplied && !in.resolution)
    AKT_TRY(join_open_entries(port, in, ctx, e.record_id, stored));
  // (The scopes the record had are remembered by derive_record_scope once the change is complete.)
  r.seq = seq;
  r.live = static_cast<std::size_t>(live_count);
  return {};
}

// After a merge: the merged version (the record's single live one) names itself in the answer.
Status note_merged_version(PushPort& port, const std::string& record_id, EditResult& r) {
  if (r.outcome != Outcome::kMerged) return {};
  std::vector<LiveHead> live;
  AKT_TRY(port.live_heads(record_id, live));
  if (!live.empty()) r.version = live.front().dot;
  return {};
}

// An edit whose context claims a server version that was never made (a counter of the server's own
// actor above the highest it wrote) is refused: its clock would cover the server's next merges.
Result<std::optional<sync::EditRejection>> check_server_context(PushPort& port, const Edit& e,
                                                                const std::string& server_actor) {
  const std::int64_t claimed = e.context.get(server_actor);
  if (claimed == 0) return std::optional<sync::EditRejection>();
  auto made = port.max_counter(server_actor);
  if (!made.ok()) return made.status();
  if (claimed <= *made) return std::optional<sync::EditRejection>();
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

std::map<std::string, std::string> item_ids_of(const sync::MergeSchema& schema) {
  std::map<std::string, std::string> out;
  for (const auto& [key, group] : schema.repeats) out[key] = group.item_id;
  return out;
}

// The attachments of a stored edit: its references indexed under its device, and the record's list of
// missing files recomputed when its live version changed (PROTOCOL §14.5). A new record (`fresh`) got
// its list with its row: only its references are left to index.
Status track_attachments(PushPort& port, const PushInput& in, const FormRules& rules, const Edit& e,
                         const sync::EditResult& r, const PreparedEdit& prep, bool fresh) {
  const bool stored = r.outcome == Outcome::kApplied || r.outcome == Outcome::kMerged ||
                      r.outcome == Outcome::kConcurrent || r.outcome == Outcome::kSuperseded;
  if (!stored) return {};
  if (fresh && prep.refs) return port.note_attachment_refs(e.record_id, e.dot.actor, *prep.refs);
  const sync::MergeSchema schema = rules.schema_for(e.form_id, e.form_version);
  const auto ids = item_ids_of(schema);
  if (!e.deleted && !in.resolution)
    AKT_TRY(port.note_attachment_refs(e.record_id, e.dot.actor, sync::find_attachment_refs(e.body, &ids)));
  if (r.outcome == Outcome::kSuperseded) return {};
  // The paths of the record's single live version whose file is missing; [] for several live or none.
  auto body = single_live_body(port, e.record_id);
  if (!body.ok()) return body.status();
  std::vector<std::string> missing;
  if (*body)
    for (const auto& [path, ref] : sync::find_attachment_refs(**body, &ids))
      if (!in.blob_exists(ref.digest)) missing.push_back(path);
  return port.set_pending_upload(e.record_id, missing);
}

}  // namespace

PreparedBatch prepare_batch(const PushInput& in, const FormRules& rules) {
  const sync::PushRequest& req = *in.request;
  PreparedBatch out;
  out.edits.resize(req.edits.size());
  std::string all = req.batch_id;
  for (std::size_t i = 0; i < req.edits.size(); ++i) {
    const Edit& e = req.edits[i];
    PreparedEdit& p = out.edits[i];
    p.changed = sync::stored_changed(e, sync::encode_strings(e.changed));
    p.digest = sha256(sync::edit_fingerprint(e));
    p.clock = sync::encode_clock(e.clock());
    p.body_may_move_scope = body_may_move_scope(e);
    if (in.blob_exists && !in.resolution && !e.deleted) {
      // A reference is a string starting "sha256:"; a body without that text (or an escape that could
      // spell it) has none, and needs no parse.
      if (e.body.find("sha256:") == std::string::npos && e.body.find("\\u") == std::string::npos) {
        p.refs.emplace();
      } else {
        const auto ids = item_ids_of(rules.schema_for(e.form_id, e.form_version));
        p.refs = sync::find_attachment_refs(e.body, &ids);
      }
    }
    all.push_back('\n');
    all += p.digest;
  }
  out.digest = sha256(all);
  return out;
}

Result<PushOutput> apply_batch(PushPort& port, const PushInput& in, const PreparedBatch& prepared,
                               const PushContext& ctx, std::int64_t& next_seq) {
  const sync::PushRequest& req = *in.request;
  const std::string& digest = prepared.digest;
  {
    auto stored = port.stored_batch(in.device, req.batch_id);
    if (!stored.ok()) return stored.status();
    if (*stored) {
      if ((*stored)->first != digest)
        return Status::conflict("batch id '" + req.batch_id + "' was used before with different content");
      return PushOutput{(*stored)->second, true, {}};
    }
  }
  AKT_TRY(port.start_entry_trace());
  const std::int64_t first_seq = next_seq;
  sync::PushResponse resp;
  resp.batch_id = req.batch_id;
  resp.epoch = ctx.epoch;
  resp.lean = req.lean_answer;
  resp.results.resize(req.edits.size());
  for (std::size_t i = 0; i < req.edits.size(); ++i) {
    const Edit& e = req.edits[i];
    EditResult& r = resp.results[i];
    r.index = i;
    const sync::EditRejection* pre =
        in.prechecks && i < in.prechecks->size() && (*in.prechecks)[i] ? &*(*in.prechecks)[i] : nullptr;
    std::optional<sync::EditRejection> context_reject;
    if (!pre) {
      auto cr = check_server_context(port, e, ctx.server_actor);
      if (!cr.ok()) return cr.status();
      context_reject = std::move(*cr);
      if (context_reject) pre = &*context_reject;
    }
    // A device edit of an approved record, or of admin-only fields, is held for an admin (hold_edit):
    // apply_edit reads the record's body before the edit for it.
    EditApplied applied;
    AKT_TRY(apply_edit(port, in, ctx, e, prepared.edits[i], pre, next_seq, !in.resolution && !pre, r, applied));
    const std::optional<std::string>& before = applied.before;
    // Several live versions: merge them at once, so a record always has one live version (DESIGN §3).
    if (r.outcome == Outcome::kConcurrent) {
      AKT_TRY(merge_record(port, in, ctx, e.record_id, next_seq, r));
      AKT_TRY(note_merged_version(port, e.record_id, r));
    }
    if (before && (r.outcome == Outcome::kApplied || r.outcome == Outcome::kMerged))
      AKT_TRY(hold_edit(port, in, ctx, *before, e, next_seq, r));
    // The record's scope follows the body it now has (DESIGN §6); the members the body does not hold
    // are the applied edit's, or what the merge decided from the scopes its versions carried (PROTOCOL
    // §4.4). A new record stored as sent, whose body names no other scope, has it already: it is only
    // remembered.
    const Outcome oc = r.outcome;
    const bool scope_set = applied.fresh && !prepared.edits[i].body_may_move_scope;
    if (scope_set)
      AKT_TRY(port.remember_scope(e.record_id, e.scope));
    else if (oc == Outcome::kApplied || oc == Outcome::kMerged || oc == Outcome::kConcurrent)
      AKT_TRY(derive_record_scope(port, e.record_id));
    // A new record without a key has no key to forget.
    const bool has_slot = in.unique_keys && i < in.unique_keys->size();
    const bool no_key = has_slot && (*in.unique_keys)[i].empty();
    if (has_slot && r.outcome == Outcome::kApplied && !(applied.fresh && no_key))
      AKT_TRY(track_unique_key(port, in, e, (*in.unique_keys)[i], r));
    if (in.blob_exists) AKT_TRY(track_attachments(port, in, ctx.rules, e, r, prepared.edits[i], applied.fresh));
    auto entries = port.take_touched_entries();
    if (!entries.ok()) return entries.status();
    r.entries = std::move(*entries);
  }
  // The feed numbers become final here (0 on an engine whose numbers were final already).
  auto shift = port.stamp_feed(first_seq, next_seq);
  if (!shift.ok()) return shift.status();
  if (*shift != 0)
    for (EditResult& r : resp.results)
      if (r.seq >= first_seq && r.seq < next_seq) r.seq += *shift;
  PushOutput out{sync::encode_push_response(resp), false, {}};
  AKT_TRY(port.store_batch(in.device, req.batch_id, digest, out.response, in.now_ms));
  AKT_TRY(port.note_push(in.device, in.now_ms));
  out.results = std::move(resp.results);
  return out;
}

}  // namespace akt::store

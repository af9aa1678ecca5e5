// The change feed's page writer (PROTOCOL §5), written once for every engine: each engine reads the
// candidate rows its own way (SQLite: feed_query.cpp; PostgreSQL: postgres/pg_feed.cpp) and hands them
// here, so both write the same bytes for the same data. Included only by those two files.
//
// Design notes:
//  1. `limit` counts entries written, never rows scanned: a page reads windows of candidate records in
//     feed order until it holds `limit` entries (or crosses `max_bytes`), so a caller with a narrow scope
//     on a big server needs no run of empty pages.
//  2. Candidates come by index when every assignment of the scope names a municipality: the records now
//     in those municipalities plus the records that once were and have left (who may owe the caller an
//     out-of-scope marker). Otherwise every record is a candidate, read as a range of seqs (found first
//     from the seq index alone). Either way in_scope() decides.
//  3. The page is read in one snapshot (the Source's). When the candidates run out, `next` is the feed's
//     head in that snapshot: nothing at or below it can still commit (SQLite: one writer assigns seqs at
//     commit; PostgreSQL: seqs are stamped under one lock held to commit, docs/STORE.md §7).
//  4. Rows are read as views of the engine's row: a body is copied once, from the row into the answer.
#pragma once

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <utility>

#include "schema/store/blob_store.hpp"
#include "schema/store/sync_store.hpp"
#include "sync/feed_text.hpp"
#include "sync/json_text.hpp"
#include "sync/stored_changed.hpp"
#include "sync/wire_json.hpp"

namespace akt::store::feed {

// The columns every engine's feed query returns, in this order (Row's column indexes below).
enum Col : int {
  kId, kForm, kFormVersion, kMunicipality, kCommunity, kComponent, kSeq, kDeleted, kLiveCount,
  kActor, kN, kClock, kParents, kChanged, kBody, kVersionDeleted, kVersionFormVersion, kDeviceTime,
  kServerTime, kConflicted, kDeletionPending, kPendingUpload, kDigestHex, kUpdatedAt
};

// Whether the record of row `s` (its first live version) is, exactly, the edit its writer pushed and
// nothing since (PROTOCOL §5.1, `skip_own`): one live version, by `actor`; no field awaiting an admin, no
// pending deletion (photos the server still lacks do not count: the record comes again once they
// arrived, and the device knows the files it has not sent); nothing changed the record after that version was stored (its `updated_at`
// is the version's `server_time`); and the version's content fingerprints to the digest stored when it
// was pushed, so it was stored as sent (not completed from a later form version, §4.4, nor with fields
// held for an admin, §11.6). The push's context is the clock without the version's own dot, or with the
// writer's earlier dot among its parents (an edit of the writer's own version): a context that cannot be
// told from those is not matched, and the record is sent as before.
template <class Row>
bool stored_as_pushed(const Row& s, std::string_view record_id, const std::string& actor) {
  if (s.int64(kLiveCount) != 1 || s.int64(kDeletionPending) != 0 || s.int64(kUpdatedAt) != s.int64(kServerTime) ||
      s.int64(kFormVersion) != s.int64(kVersionFormVersion))
    return false;
  const std::string_view conflicted = s.text(kConflicted);
  if (conflicted != "[]" && !conflicted.empty()) return false;
  auto clock = sync::decode_clock(s.text(kClock));
  if (!clock.ok()) return false;
  sync::VectorClock context;
  for (const auto& [a, n] : clock->entries())
    if (a != actor) context.advance(a, n);
  const std::string_view body = s.text(kBody);
  const std::string changed = sync::changed_text(s.text(kChanged), body);
  const std::string_view digest = s.text(kDigestHex);
  const std::int64_t n = s.int64(kN);
  auto matches = [&](const sync::VectorClock& ctx) {
    const std::string ctx_text = sync::encode_clock(ctx);
    return sha256_hex_of(sync::edit_fingerprint_of(
               {record_id, s.text(kForm), s.int64(kVersionFormVersion), s.text(kMunicipality), s.text(kCommunity),
                s.text(kComponent), actor, n, ctx_text, changed, body, s.int64(kVersionDeleted) != 0,
                s.int64(kDeviceTime)})) == digest;
  };
  if (matches(context)) return true;
  auto parents = sync::decode_dots(s.text(kParents));
  if (!parents.ok()) return false;
  std::int64_t earlier = 0;
  for (const sync::Dot& p : *parents)
    if (p.actor == actor && p.n < n) earlier = std::max(earlier, p.n);
  if (earlier == 0) return false;
  context.advance(actor, earlier);
  return matches(context);
}

// The municipalities of the scope as a JSON array, or "" when some assignment covers any municipality
// (or there is no scope): then every record is a candidate.
inline std::string scope_municipalities(const std::vector<sync::Assignment>* scope) {
  if (!scope) return {};
  std::set<std::string> names;
  for (const sync::Assignment& a : *scope) {
    if (a.municipality == "*") return {};
    names.insert(a.municipality);
  }
  std::string out = "[";
  for (const std::string& m : names) {
    if (out.size() > 1) out.push_back(',');
    sync::append_json_string(out, m);
  }
  return out + "]";
}

// Writes the page of `q` into `out`. `Source` reads one snapshot:
//   Result<std::pair<int64, int64>> window(after, n): how many of the n records after `after` there are,
//       and the last one's seq (`after` when none).
//   Status range_rows(after, last, on_row): the rows of every record with after < seq <= last.
//   Status scoped_rows(after, n, municipalities, on_row): the rows of the first n candidates after
//       `after` of the municipalities (a JSON array; note 2).
//   Result<bool> was_in_scope(record_id, scope, form_id); Result<int64> head().
//   Result<std::set<int64>> quarantined_dots(actor): the counters of actor's edits ever quarantined
//       (read only for skip_own).
// Rows come ordered by (seq, actor, n), live versions only, with the columns of `Col`; on_row(row)
// returns false to stop the read. A Row has key(col) (bytes equal for equal ids), uuid(col) (the
// canonical text), text(col) (a view valid during on_row) and int64(col).
template <class Source>
Result<ChangesPage> write_page(Source& src, const FeedQuery& q, std::string& out) {
  ChangesPage page;
  const std::string municipalities = scope_municipalities(q.scope);
  const std::size_t limit = std::max<std::size_t>(q.limit, 1);
  // Candidate records per window: enough that a page in a broad scope takes one window.
  const auto window = static_cast<std::int64_t>(std::min<std::size_t>(limit, 5000) + 1);
  const std::size_t start = out.size();
  std::size_t entries = 0;
  std::int64_t scanned_to = q.since;  // every candidate up to here was looked at
  std::int64_t last_entry = q.since;
  bool open = false;      // a record object is open in `out`
  bool full = false;      // the page holds what it may; the next entry only tells that there is more
  bool visible = false;   // the current record's versions are written
  bool stopped = false;   // the page ended inside a window
  Status failed;
  std::string last_id, current_id, current_form, redacted, hash, changed, redacted_changed;
  std::int64_t record_form_version = 0;
  std::int64_t records_in_window = 0;
  // skip_own: a version of the caller's whose dot was ever quarantined is an edit an admin released
  // (PROTOCOL §10.8): stored as pushed, but the caller was told it was rejected and holds it as such, so
  // it is always sent. (The quarantine row is committed before any release, so no read misses it.)
  std::set<std::int64_t> released;
  const bool skip_own = q.skip_own && !q.echo_actor.empty() && !q.transform && !q.community;
  if (skip_own) {
    auto r = src.quarantined_dots(q.echo_actor);
    if (!r.ok()) return r.status();
    released = std::move(*r);
  }
  auto close_entry = [&] {
    if (!open) return;
    sync::append_record_close(out);
    open = false;
    full = entries >= limit || (q.max_bytes > 0 && out.size() - start >= q.max_bytes);
  };
  auto on_row = [&](const auto& s) -> bool {
    std::string_view id_key = s.key(kId);
    const bool first_version = id_key != last_id;
    if (first_version) {
      close_entry();
      last_id.assign(id_key);
      ++records_in_window;
      const std::int64_t seq = s.int64(kSeq);
      const std::string id = s.uuid(kId);
      const std::string form(s.text(kForm));
      current_id = id;
      current_form = form;
      visible = !q.scope || sync::in_scope(*q.scope, {std::string(s.text(kMunicipality)),
                                                     std::string(s.text(kCommunity)),
                                                     std::string(s.text(kComponent))}, form);
      bool marker = false;
      if (!visible) {
        auto was = src.was_in_scope(id, *q.scope, form);
        if (!was.ok()) {
          failed = was.status();
          return false;
        }
        marker = *was;
      }
      if (visible && skip_own && s.uuid(kActor) == q.echo_actor && !released.count(s.int64(kN)) &&
          stored_as_pushed(s, id, q.echo_actor)) {
        // Left out (skip_own): the caller wrote this version and holds it as it is; the cursor passes it.
        visible = false;
        scanned_to = seq;
        return true;
      }
      if ((visible || marker) && full) {
        page.more = true;
        page.next = last_entry;
        stopped = true;
        return false;
      }
      scanned_to = seq;
      if (!visible && !marker) return true;
      if (entries > 0) out.push_back(',');
      ++entries;
      last_entry = seq;
      if (marker) {
        out += "{\"record\":\"" + id + "\",\"seq\":" + std::to_string(seq) + ",\"out_of_scope\":true}";
        full = entries >= limit || (q.max_bytes > 0 && out.size() - start >= q.max_bytes);
        return true;
      }
      open = true;
      const bool pending = s.int64(kDeletionPending) != 0;
      const std::string shown_community =
          q.community ? (*q.community)(s.text(kCommunity)) : std::string(s.text(kCommunity));
      const std::string conflicted =
          q.paths ? (*q.paths)(form, s.text(kConflicted)) : std::string(s.text(kConflicted));
      const std::string pending_upload =
          q.paths ? (*q.paths)(form, s.text(kPendingUpload)) : std::string(s.text(kPendingUpload));
      record_form_version = s.int64(kFormVersion);
      sync::append_record_open_styled(
          out,
          {id, s.text(kForm), s.int64(kFormVersion), s.text(kMunicipality), shown_community, s.text(kComponent), seq,
           s.int64(kDeleted) != 0, s.int64(kLiveCount) > 1 || s.text(kConflicted) != "[]" || pending, conflicted,
           pending, pending_upload},
          q.lean);
    }
    if (!visible) return true;
    const std::string actor = s.uuid(kActor);
    std::string_view body = s.text(kBody);
    if (q.transform) {
      redacted = (*q.transform)(current_form, current_id, body);
      body = redacted;
    }
    sync::VersionStyle style{q.parents, q.changed, {}, q.lean, record_form_version};
    if (!q.echo_actor.empty() && actor == q.echo_actor) {
      // No echo: the caller wrote this version and holds its body; the hash lets it check that.
      hash = sha256_hex_of(body).substr(0, 16);
      style.body_hash = hash;
    }
    std::string_view changed_text = s.text(kChanged);
    if (q.changed && changed_text == sync::kBodyKeysChanged) {  // a create's list, stored as its body's keys
      changed.clear();
      sync::append_body_keys(changed, s.text(kBody));
      changed_text = changed;
    }
    if (q.paths && q.changed) {
      redacted_changed = (*q.paths)(current_form, changed_text);
      changed_text = redacted_changed;
    }
    sync::append_version_styled(out,
                                {actor, s.int64(kN), s.text(kClock), s.text(kParents), changed_text, body,
                                 s.int64(kVersionDeleted) != 0, s.int64(kVersionFormVersion),
                                 s.int64(kDeviceTime), s.int64(kServerTime)},
                                first_version, style);
    return true;
  };
  for (;;) {
    std::int64_t window_records = -1;  // known before reading, for the range form
    std::int64_t window_end = 0;
    records_in_window = 0;
    Status st;
    if (municipalities.empty()) {
      auto w = src.window(scanned_to, window);
      if (!w.ok()) return w.status();
      window_records = w->first;
      window_end = w->second;
      st = src.range_rows(scanned_to, window_end, on_row);
    } else {
      st = src.scoped_rows(scanned_to, window, municipalities, on_row);
    }
    if (!st.ok()) return st;
    if (!failed.ok()) return failed;
    if (stopped) return page;
    close_entry();
    if (window_records >= 0) {
      records_in_window = window_records;
      scanned_to = std::max(scanned_to, window_end);  // every record of the range was looked at
    }
    if (records_in_window < window) break;  // the candidates ran out
  }
  // Nothing more the caller may see up to the head of this snapshot.
  auto head = src.head();
  if (!head.ok()) return head.status();
  page.next = std::max(*head, q.since);
  return page;
}

}  // namespace akt::store::feed

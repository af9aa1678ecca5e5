// The tablet store's push and pull side: stable outbox batches, acknowledgements, refused batches,
// applying feed pages with their cursor, and epoch resets. Design notes are in tablet_store.cpp.
#include "schema/store/tablet_store.hpp"

#include <algorithm>
#include <exception>
#include <set>

#include "schema/store/db.hpp"
#include "sync/uuid.hpp"
#include "sync/vector_clock.hpp"
#include "sync/wire_json.hpp"

namespace akt::store {
using detail::bind_id;
using detail::blob_text;
using detail::parse_id;
namespace {

// The pushable form of the edit with counter `n`.
Result<sync::Edit> load_edit(Db& db, const std::string& actor, std::int64_t n) {
  AKT_STMT(s, db, "SELECT e.record_id, e.form_version, e.context, e.changed, e.body, e.deleted, e.device_time, "
                  "r.form_id, r.municipality, r.community, r.component FROM edits e JOIN records r "
                  "ON r.id = e.record_id WHERE e.n = ?1");
  s->bind(1, n);
  auto row = s->step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::not_found("no local edit " + std::to_string(n));
  sync::Edit e;
  e.record_id = blob_text(s->blob(0));
  e.form_version = s->int64(1);
  auto ctx = sync::decode_clock(s->text(2));
  auto ch = sync::decode_strings(s->text(3));
  if (!ctx.ok() || !ch.ok()) return Status::corruption("tablet store: undecodable edit " + std::to_string(n));
  e.context = std::move(*ctx);
  e.changed = std::move(*ch);
  e.body = s->text(4);
  e.deleted = s->int64(5) != 0;
  e.device_time = s->int64(6);
  e.form_id = s->text(7);
  e.scope = {std::string(s->text(8)), std::string(s->text(9)), std::string(s->text(10))};
  e.dot = {actor, n};
  return e;
}

// Drops a record with no live version and no local edit left (its creation was rejected, or it left).
Status drop_if_empty(Db& db, const sync::UuidBytes& id) {
  AKT_STMT(s, db, "DELETE FROM records WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM versions WHERE record_id = ?1) "
                  "AND NOT EXISTS (SELECT 1 FROM edits WHERE record_id = ?1)");
  bind_id(*s, 1, id);
  return s->run();
}

// A record id as an SQL blob literal (x'…'): hex digits only, so safe to splice into SQL text.
std::string blob_literal(const sync::UuidBytes& id) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "x'";
  for (std::uint8_t b : id) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xF]);
  }
  return out + "'";
}

// Moves the acknowledged edits of `where` (a condition on edits `e`, no bound values) to `pushed`
// (note 6 of tablet_store.cpp), with their record's form and scope.
Status keep_pushed(Db& db, const std::string& where) {
  return db.exec("INSERT OR REPLACE INTO pushed(n, record_id, form_id, form_version, municipality, community, "
                 "component, context, changed, body, deleted, device_time, acked_epoch) SELECT e.n, e.record_id, "
                 "r.form_id, e.form_version, r.municipality, r.community, r.component, e.context, e.changed, e.body, "
                 "e.deleted, e.device_time, e.acked_epoch FROM edits e JOIN records r ON r.id = e.record_id WHERE "
                 "e.acked_epoch IS NOT NULL AND (" + where + "); DELETE FROM edits AS e WHERE e.acked_epoch IS NOT NULL "
                 "AND e.n IN (SELECT n FROM pushed) AND (" + where + ");");
}

// The record left the device user's scope (an out-of-scope marker, PROTOCOL §5.1): the server's versions
// go, and so do the device's acknowledged edits (the server has them). Edits not yet acknowledged stay
// and are pushed: the server quarantines them `out_of_scope` and the device lists them as rejected, so
// no unsynced work disappears without a trace. The record goes once nothing of it is left.
Status drop_left_scope(Db& db, const sync::UuidBytes& id) {
  {
    AKT_STMT(s, db, "DELETE FROM versions WHERE record_id = ?1");
    bind_id(*s, 1, id);
    AKT_TRY(s->run());
  }
  // Kept (note 6): a restored server that still has the record in scope takes them back.
  AKT_TRY(keep_pushed(db, "e.record_id = " + blob_literal(id)));
  {
    AKT_STMT(s, db, "UPDATE records SET conflict = 0, conflicted = '[]', deletion_pending = 0, resync = 0 "
                    "WHERE id = ?1");
    bind_id(*s, 1, id);
    AKT_TRY(s->run());
  }
  return drop_if_empty(db, id);
}

// The feed left out (skip_own, PROTOCOL §5.1) every record whose one live version is this device's edit
// exactly as pushed, with nothing changed since. At the end of such a pull, an acknowledged edit still in
// `edits` whose record no page showed is such a record: any feed version of a record that holds an
// acknowledged edit covers it (the server acknowledged it applied, merged, superseded or duplicate), so an
// entry would have moved it to `pushed`. Its latest acknowledged edit becomes the record's server version,
// as the feed would have given it (server_time unknown: 0), and its acknowledged edits move to `pushed`.
// `shown`: the records of the last page (their edits were handled by their entries).
Status take_own_left_out(Db& db, const std::string& actor, const std::set<std::string>& shown) {
  // Each such record's latest acknowledged edit: its counter and the clock it has as a version. Only the
  // context is read here; the bodies go from `edits` to `versions` and `pushed` inside SQLite.
  struct Latest {
    std::int64_t n = 0;
    std::string clock;
  };
  std::vector<Latest> latest;
  std::string ns = "[";  // their counters, a JSON array for json_each
  {
    AKT_STMT(s, db, "SELECT e.record_id, e.n, e.context FROM edits e WHERE e.acked_epoch IS NOT NULL AND e.n = "
                    "(SELECT max(n) FROM edits WHERE record_id = e.record_id AND acked_epoch IS NOT NULL) ORDER BY e.n");
    for (;;) {
      auto row = s->step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      if (shown.count(std::string(s->blob(0)))) continue;
      const std::int64_t n = s->int64(1);
      auto context = sync::decode_clock(s->text(2));
      if (!context.ok()) return Status::corruption("edit " + std::to_string(n) + ": bad context");
      latest.push_back({n, sync::encode_clock(sync::edit_clock(*context, {actor, n}))});
      if (ns.size() > 1) ns += ',';
      ns += std::to_string(n);
    }
  }
  if (latest.empty()) return {};
  ns += ']';
  {
    AKT_STMT(s, db, "DELETE FROM versions WHERE record_id IN (SELECT record_id FROM edits WHERE n IN "
                    "(SELECT value FROM json_each(?1)))");
    s->bind(1, ns);
    AKT_TRY(s->run());
  }
  for (const Latest& l : latest) {
    AKT_STMT(s, db, "INSERT INTO versions(record_id, actor, n, clock, changed, body, deleted, device_time, server_time) "
                    "SELECT record_id, ?2, n, ?3, changed, body, deleted, device_time, 0 FROM edits WHERE n = ?1");
    s->bind(1, l.n);
    s->bind(2, actor);
    s->bind(3, l.clock);
    AKT_TRY(s->run());
  }
  {
    AKT_STMT(s, db, "UPDATE records SET form_version = e.form_version, seq = max(records.seq, e.acked_seq), "
                    "conflict = 0, conflicted = '[]', deletion_pending = 0, resync = 0 FROM edits e "
                    "WHERE e.n IN (SELECT value FROM json_each(?1)) AND records.id = e.record_id");
    s->bind(1, ns);
    AKT_TRY(s->run());
  }
  // keep_pushed for these records (every acknowledged edit of a record is at most its latest).
  {
    AKT_STMT(s, db, "INSERT OR REPLACE INTO pushed(n, record_id, form_id, form_version, municipality, community, "
                    "component, context, changed, body, deleted, device_time, acked_epoch) SELECT e.n, e.record_id, "
                    "r.form_id, e.form_version, r.municipality, r.community, r.component, e.context, e.changed, "
                    "e.body, e.deleted, e.device_time, e.acked_epoch FROM edits e JOIN records r ON r.id = e.record_id "
                    "WHERE e.acked_epoch IS NOT NULL AND e.record_id IN (SELECT record_id FROM edits WHERE n IN "
                    "(SELECT value FROM json_each(?1)))");
    s->bind(1, ns);
    AKT_TRY(s->run());
  }
  AKT_STMT(s, db, "DELETE FROM edits WHERE acked_epoch IS NOT NULL AND n IN (SELECT n FROM pushed) AND record_id IN "
                  "(SELECT record_id FROM edits WHERE n IN (SELECT value FROM json_each(?1)))");
  s->bind(1, ns);
  return s->run();
}

// Moves edit `n` to the rejected list and drops a record left with nothing.
Status reject_edit(Db& db, const std::string& actor, std::int64_t n, const std::string& batch_id,
                   const std::string& code, const std::string& detail, const std::string& fields = {}) {
  auto e = load_edit(db, actor, n);
  if (!e.ok()) return e.status().code() == Status::Code::kNotFound ? Status() : e.status();
  {
    AKT_STMT(s, db, "INSERT INTO rejected(record_id, actor, n, batch_id, code, detail, edit, fields) "
                    "VALUES(?1,?2,?3,?4,?5,?6,?7,?8)");
    s->bind(8, fields);
    s->bind(1, e->record_id);
    s->bind(2, actor);
    s->bind(3, n);
    s->bind(4, batch_id);
    s->bind(5, code.empty() ? std::string("rejected") : code);
    s->bind(6, detail);
    std::string text;
    try {
      text = sync::encode_edit(*e);
    } catch (const std::exception&) {
      text = "{}";  // not encodable (invalid UTF-8): the code and detail still say why it was refused
    }
    s->bind(7, text);
    AKT_TRY(s->run());
  }
  {
    AKT_STMT(s, db, "DELETE FROM edits WHERE n = ?1");
    s->bind(1, n);
    AKT_TRY(s->run());
  }
  auto id = parse_id(e->record_id);
  if (!id.ok()) return id.status();
  return drop_if_empty(db, *id);
}

}  // namespace

Result<std::optional<OutboxBatch>> TabletStore::next_batch(std::size_t max_edits) {
  return next_batch(BatchLimits{max_edits});
}

Result<std::optional<OutboxBatch>> TabletStore::next_batch(const BatchLimits& limits) {
  const std::size_t max_edits = limits.max_edits;
  auto fill_dots = [this](OutboxBatch& b) -> Status {
    AKT_STMT(s, *db_, "SELECT n FROM edits WHERE batch_id = ?1 ORDER BY n");
    s->bind(1, b.batch_id);
    for (;;) {
      auto row = s->step();
      if (!row.ok()) return row.status();
      if (!*row) return {};
      b.dots.push_back({{}, s->int64(0)});
    }
  };
  // Under the write lock from the start, so two processes never form two batches of the same edits.
  Tx tx(*db_);
  AKT_TRY(tx.status());
  auto dev = device();
  if (!dev.ok()) return dev.status();
  OutboxBatch b;
  {
    // A batch sent before and not acknowledged goes again, byte for byte (note 3).
    AKT_STMT(s, *db_, "SELECT id, request FROM batches ORDER BY seq LIMIT 1");
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (*row) b = {std::string(s->text(0)), std::string(s->text(1)), {}, true};
  }
  if (!b.batch_id.empty()) {
    AKT_TRY(fill_dots(b));
    for (auto& d : b.dots) d.actor = dev->config.actor;
    return std::optional<OutboxBatch>(std::move(b));
  }
  std::vector<std::int64_t> ns;
  {
    AKT_STMT(s, *db_, "SELECT n, solo FROM edits WHERE batch_id IS NULL AND acked_epoch IS NULL ORDER BY n LIMIT ?1");
    s->bind(1, static_cast<std::int64_t>(std::max<std::size_t>(max_edits, 1)));
    for (;;) {
      auto row = s->step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      // An edit whose earlier batch was refused whole travels alone.
      if (s->int64(1) != 0 && !ns.empty()) break;
      ns.push_back(s->int64(0));
      if (s->int64(1) != 0) break;
    }
  }
  if (ns.empty()) return std::optional<OutboxBatch>();
  {
    AKT_STMT(s, *db_, "SELECT install || '-' || next_batch FROM device WHERE id = 1");
    auto row = s->step();
    if (!row.ok()) return row.status();
    b.batch_id = s->text(0);
  }
  sync::PushRequest req{b.batch_id, {}};
  req.lean_answer = true;  // the device knows each result's record by its index (PROTOCOL §4.2)
  std::vector<sync::Edit> edits;
  edits.reserve(ns.size());
  for (std::int64_t n : ns) {
    auto e = load_edit(*db_, dev->config.actor, n);
    if (!e.ok()) return e.status();
    edits.push_back(std::move(*e));
  }
  if (limits.max_bytes > 0) {
    // The request's bytes: its envelope (batch id, `answer`) plus each edit as the request encodes it,
    // with its comma. Whether all of them fit in rest_bytes is estimated from their bodies and the first
    // edit's encoding (no second encoding of every edit); where they do not, each edit kept is encoded
    // alone to measure it.
    const std::size_t envelope = sync::encode_push_request(req).size();
    auto encoded_size = [&](const sync::Edit& e) -> std::size_t {
      sync::PushRequest one{b.batch_id, {e}};
      one.lean_answer = req.lean_answer;
      try {
        return sync::encode_push_request(one).size() - envelope + 1;
      } catch (const std::exception&) {  // not UTF-8 (a broken REQUIRES): said below, by the encoder
        return 0;
      }
    };
    const std::size_t first = encoded_size(edits.front());
    const std::size_t overhead = first > edits.front().body.size() ? first - edits.front().body.size() : 0;
    std::size_t all = envelope;
    for (const sync::Edit& e : edits) all += e.body.size() + overhead;
    if (limits.rest_bytes == 0 || all > limits.rest_bytes) {
      std::size_t keep = 0, bytes = envelope;
      while (keep < edits.size()) {
        const std::size_t size = keep == 0 ? first : encoded_size(edits[keep]);
        if (keep >= std::max<std::size_t>(limits.min_edits, 1) && bytes + size > limits.max_bytes) break;
        bytes += size;
        ++keep;
      }
      edits.resize(keep);
      ns.resize(keep);
    }
  }
  for (std::size_t i = 0; i < ns.size(); ++i) {
    const std::int64_t n = ns[i];
    req.edits.push_back(std::move(edits[i]));
    b.dots.push_back({dev->config.actor, n});
    AKT_STMT(s, *db_, "UPDATE edits SET batch_id = ?1 WHERE n = ?2");
    s->bind(1, b.batch_id);
    s->bind(2, n);
    AKT_TRY(s->run());
  }
  try {
    b.request = sync::encode_push_request(req);
  } catch (const std::exception& e) {  // the encoder throws on text that is not UTF-8 (a broken REQUIRES)
    return Status::invalid_argument(std::string("an outbox edit cannot be encoded: ") + e.what());
  }
  {
    AKT_STMT(s, *db_, "INSERT INTO batches(id, request) VALUES(?1, ?2)");
    s->bind(1, b.batch_id);
    s->bind(2, b.request);
    AKT_TRY(s->run());
  }
  AKT_TRY(db_->exec("UPDATE device SET next_batch = next_batch + 1 WHERE id = 1"));
  AKT_TRY(tx.commit());
  return std::optional<OutboxBatch>(std::move(b));
}

Result<std::vector<RejectedEdit>> TabletStore::rejected() {
  std::vector<RejectedEdit> out;
  AKT_STMT(s, *db_, "SELECT record_id, actor, n, batch_id, code, detail, edit, fields FROM rejected ORDER BY id");
  for (;;) {
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back({std::string(s->text(0)), {std::string(s->text(1)), s->int64(2)}, std::string(s->text(3)),
                   std::string(s->text(4)), std::string(s->text(5)), std::string(s->text(6)),
                   std::string(s->text(7))});
  }
}

Result<AckResult> TabletStore::acknowledge(const OutboxBatch& batch, const sync::PushResponse& resp) {
  if (resp.batch_id != batch.batch_id || resp.results.size() != batch.dots.size())
    return Status::corruption("push answer does not match batch " + batch.batch_id);
  for (std::size_t i = 0; i < batch.dots.size(); ++i) {
    const sync::EditResult& r = resp.results[i];
    if (r.index != i || (!r.dot.actor.empty() && r.dot != batch.dots[i]))
      return Status::corruption("push answer of batch " + batch.batch_id + " names other edits");
  }
  Tx tx(*db_);
  AKT_TRY(tx.status());
  auto dev = device();
  if (!dev.ok()) return dev.status();
  AckResult ack;
  if (!dev->epoch.empty() && dev->epoch != resp.epoch) {
    // The server was restored: what it acknowledged before may be gone (DESIGN §5).
    AKT_TRY(reset_locked(resp.epoch));
    ack.epoch_changed = true;
  } else if (dev->epoch.empty()) {
    AKT_STMT(s, *db_, "UPDATE device SET epoch = ?1 WHERE id = 1");
    s->bind(1, resp.epoch);
    AKT_TRY(s->run());
  }
  for (std::size_t i = 0; i < batch.dots.size(); ++i) {
    const sync::EditResult& r = resp.results[i];
    if (r.outcome == sync::Outcome::kRejected) {
      AKT_TRY(reject_edit(*db_, dev->config.actor, batch.dots[i].n, batch.batch_id, r.error_code, r.error_detail,
                          r.error_fields));
      ack.rejected.push_back(
          {r.record_id, batch.dots[i], batch.batch_id, r.error_code, r.error_detail, {}, r.error_fields});
      continue;
    }
    // Every other outcome acknowledges the edit; outcomes added later (a server merge) count as concurrent.
    switch (r.outcome) {
      case sync::Outcome::kApplied: ++ack.applied; break;
      case sync::Outcome::kSuperseded: ++ack.superseded; break;
      case sync::Outcome::kDuplicate: ++ack.duplicate; break;
      default: ++ack.concurrent; break;
    }
    AKT_STMT(s, *db_, "UPDATE edits SET acked_epoch = ?1, acked_seq = ?3 WHERE n = ?2");
    s->bind(1, resp.epoch);
    s->bind(2, batch.dots[i].n);
    s->bind(3, r.seq);
    AKT_TRY(s->run());
  }
  {
    AKT_STMT(s, *db_, "DELETE FROM batches WHERE id = ?1");
    s->bind(1, batch.batch_id);
    AKT_TRY(s->run());
  }
  AKT_TRY(tx.commit());
  return ack;
}

Status TabletStore::fail_batch(const OutboxBatch& batch, const std::string& code, const std::string& detail) {
  Tx tx(*db_);
  AKT_TRY(tx.status());
  auto dev = device();
  if (!dev.ok()) return dev.status();
  if (batch.dots.size() == 1) {
    AKT_TRY(reject_edit(*db_, dev->config.actor, batch.dots[0].n, batch.batch_id, code, detail));
  } else {
    // Nothing of a refused batch was applied: find the bad edit by sending each alone.
    AKT_STMT(s, *db_, "UPDATE edits SET batch_id = NULL, solo = 1 WHERE batch_id = ?1");
    s->bind(1, batch.batch_id);
    AKT_TRY(s->run());
  }
  AKT_STMT(s, *db_, "DELETE FROM batches WHERE id = ?1");
  s->bind(1, batch.batch_id);
  AKT_TRY(s->run());
  return tx.commit();
}

Status TabletStore::reset_locked(const std::string& epoch) {
  {
    AKT_STMT(s, *db_, "UPDATE device SET cursor = '', epoch = ?1 WHERE id = 1");
    s->bind(1, epoch);
    AKT_TRY(s->run());
  }
  {
    // Edits acknowledged under another epoch go again, in counter order, in fresh batches.
    AKT_STMT(s, *db_, "UPDATE edits SET acked_epoch = NULL WHERE acked_epoch IS NOT NULL AND acked_epoch != ?1");
    s->bind(1, epoch);
    AKT_TRY(s->run());
  }
  {
    // And so do the kept ones (note 6), with their record when the device no longer has it.
    AKT_STMT(s, *db_, "INSERT OR IGNORE INTO records(id, form_id, form_version, municipality, community, component) "
                      "SELECT record_id, form_id, form_version, municipality, community, component FROM pushed "
                      "WHERE acked_epoch != ?1 ORDER BY n");
    s->bind(1, epoch);
    AKT_TRY(s->run());
  }
  {
    AKT_STMT(s, *db_, "INSERT INTO edits(n, record_id, form_version, context, changed, body, deleted, device_time) "
                      "SELECT n, record_id, form_version, context, changed, body, deleted, device_time FROM pushed "
                      "WHERE acked_epoch != ?1");
    s->bind(1, epoch);
    AKT_TRY(s->run());
  }
  {
    AKT_STMT(s, *db_, "DELETE FROM pushed WHERE acked_epoch != ?1");
    s->bind(1, epoch);
    AKT_TRY(s->run());
  }
  return db_->exec("UPDATE edits SET batch_id = NULL WHERE acked_epoch IS NULL; DELETE FROM batches; "
                   "UPDATE records SET resync = 1;");
}

Status TabletStore::reset_epoch(const std::string& epoch) {
  Tx tx(*db_);
  AKT_TRY(tx.status());
  AKT_TRY(reset_locked(epoch));
  return tx.commit();
}

Result<std::optional<std::string>> TabletStore::local_body(const std::string& record_id, const sync::Dot& dot) {
  auto id = parse_id(record_id);
  if (!id.ok()) return id.status();
  {
    AKT_STMT(s, *db_, "SELECT body FROM versions WHERE record_id = ?1 AND actor = ?2 AND n = ?3");
    bind_id(*s, 1, *id);
    s->bind(2, dot.actor);
    s->bind(3, dot.n);
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (*row) return std::optional<std::string>(std::string(s->text(0)));
  }
  auto dev = device();
  if (!dev.ok()) return dev.status();
  if (dot.actor != dev->config.actor) return std::optional<std::string>();
  AKT_STMT(s, *db_, "SELECT body FROM edits WHERE n = ?1 AND record_id = ?2");
  s->bind(1, dot.n);
  bind_id(*s, 2, *id);
  auto row = s->step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(std::string(s->text(0)));
}

Result<std::size_t> TabletStore::apply_changes(const std::vector<sync::RecordState>& changes, const std::string& next,
                                               const std::string& epoch, bool complete, bool own_left_out) {
  Tx tx(*db_);
  AKT_TRY(tx.status());
  auto dev = device();
  if (!dev.ok()) return dev.status();
  const bool reset = !dev->epoch.empty() && dev->epoch != epoch;
  if (reset) AKT_TRY(reset_locked(epoch));
  std::set<std::string> shown;  // the page's records (16-byte ids)
  for (const sync::RecordState& rs : changes) {
    auto id = parse_id(rs.record_id);
    if (!id.ok()) return id.status();  // rolls back the page: the cursor stays before it
    shown.insert(std::string(reinterpret_cast<const char*>(id->data()), id->size()));
    if (rs.out_of_scope) {
      AKT_TRY(drop_left_scope(*db_, *id));
      continue;
    }
    {
      AKT_STMT(s, *db_, "INSERT INTO records(id, form_id, form_version, municipality, community, component, seq, "
                        "conflict, conflicted, deletion_pending) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10) "
                        "ON CONFLICT(id) DO UPDATE SET form_id = excluded.form_id, "
                        "form_version = excluded.form_version, municipality = excluded.municipality, "
                        "community = excluded.community, component = excluded.component, seq = excluded.seq, "
                        "conflict = excluded.conflict, conflicted = excluded.conflicted, "
                        "deletion_pending = excluded.deletion_pending, resync = 0");
      bind_id(*s, 1, *id);
      s->bind(2, rs.form_id);
      s->bind(3, rs.form_version);
      s->bind(4, rs.scope.municipality);
      s->bind(5, rs.scope.community);
      s->bind(6, rs.scope.component);
      s->bind(7, rs.seq);
      s->bind(8, std::int64_t{rs.conflict});
      s->bind(9, sync::encode_strings(rs.conflicted));
      s->bind(10, std::int64_t{rs.deletion_pending});
      AKT_TRY(s->run());
    }
    {
      AKT_STMT(s, *db_, "DELETE FROM versions WHERE record_id = ?1");
      bind_id(*s, 1, *id);
      AKT_TRY(s->run());
    }
    for (const sync::Version& v : rs.live) {
      AKT_STMT(s, *db_, "INSERT OR REPLACE INTO versions(record_id, actor, n, clock, changed, body, deleted, "
                        "device_time, server_time) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)");
      bind_id(*s, 1, *id);
      s->bind(2, v.dot.actor);
      s->bind(3, v.dot.n);
      s->bind(4, sync::encode_clock(v.clock));
      s->bind(5, sync::encode_strings(v.changed));
      s->bind(6, v.body);
      s->bind(7, std::int64_t{v.deleted});
      s->bind(8, v.device_time);
      s->bind(9, v.server_time);
      AKT_TRY(s->run());
    }
    // Acknowledged edits leave once a live version covers them; unacknowledged ones always stay.
    std::vector<std::int64_t> covered;
    {
      AKT_STMT(s, *db_, "SELECT n FROM edits WHERE record_id = ?1 AND acked_epoch IS NOT NULL");
      bind_id(*s, 1, *id);
      for (;;) {
        auto row = s->step();
        if (!row.ok()) return row.status();
        if (!*row) break;
        const sync::Dot d{dev->config.actor, s->int64(0)};
        if (std::any_of(rs.live.begin(), rs.live.end(), [&](const sync::Version& v) { return v.clock.contains(d); }))
          covered.push_back(d.n);
      }
    }
    for (std::int64_t n : covered) AKT_TRY(keep_pushed(*db_, "e.n = " + std::to_string(n)));
    AKT_TRY(drop_if_empty(*db_, *id));
  }
  if (complete && own_left_out && !reset) AKT_TRY(take_own_left_out(*db_, dev->config.actor, shown));
  if (complete) {
    // After a reset, what the server no longer has or no longer shows this user goes: its versions, and
    // the device's acknowledged edits of it (the server has those). A record keeps only the edits still
    // to push (the next push lands them or lists them as rejected); with none left, it goes.
    AKT_TRY(keep_pushed(*db_, "e.record_id IN (SELECT id FROM records WHERE resync != 0)"));
    AKT_TRY(db_->exec("DELETE FROM versions WHERE record_id IN (SELECT id FROM records WHERE "
                      "resync != 0); DELETE FROM records WHERE resync != 0 AND id NOT IN (SELECT record_id FROM "
                      "edits); UPDATE records SET resync = 0 WHERE resync != 0;"));
  }
  AKT_STMT(s, *db_, "UPDATE device SET cursor = ?1, epoch = ?2 WHERE id = 1");
  s->bind(1, next);
  s->bind(2, epoch);
  AKT_TRY(s->run());
  AKT_TRY(tx.commit());
  return changes.size();
}

Result<bool> TabletStore::resync_pending() {
  AKT_STMT(s, *db_, "SELECT EXISTS (SELECT 1 FROM records WHERE resync != 0)");
  auto row = s->step();
  if (!row.ok()) return row.status();
  return *row && s->int64(0) != 0;
}

Result<bool> TabletStore::server_takes_zstd(const std::string& url) {
  AKT_STMT(s, *db_, "SELECT takes_zstd FROM servers WHERE url = ?1");
  s->bind(1, url);
  auto row = s->step();
  if (!row.ok()) return row.status();
  return *row && s->int64(0) != 0;
}

Status TabletStore::set_server_takes_zstd(const std::string& url, bool takes) {
  AKT_STMT(s, *db_, "INSERT INTO servers(url, takes_zstd) VALUES(?1, ?2) ON CONFLICT(url) DO UPDATE SET "
                    "takes_zstd = excluded.takes_zstd");
  s->bind(1, url);
  s->bind(2, std::int64_t{takes});
  return s->run();
}

Result<LinkRates> TabletStore::link_rates(const std::string& url) {
  AKT_STMT(s, *db_, "SELECT push_rate, push_at, pull_rate, pull_at FROM servers WHERE url = ?1");
  s->bind(1, url);
  auto row = s->step();
  if (!row.ok()) return row.status();
  if (!*row) return LinkRates{};
  return LinkRates{s->int64(0), s->int64(1), s->int64(2), s->int64(3)};
}

Status TabletStore::set_link_rates(const std::string& url, const LinkRates& rates) {
  AKT_STMT(s, *db_, "INSERT INTO servers(url, push_rate, push_at, pull_rate, pull_at) VALUES(?1, ?2, ?3, ?4, ?5) "
                    "ON CONFLICT(url) DO UPDATE SET push_rate = excluded.push_rate, push_at = excluded.push_at, "
                    "pull_rate = excluded.pull_rate, pull_at = excluded.pull_at");
  s->bind(1, url);
  s->bind(2, rates.push_bytes_per_s);
  s->bind(3, rates.push_at_ms);
  s->bind(4, rates.pull_bytes_per_s);
  s->bind(5, rates.pull_at_ms);
  return s->run();
}

Status TabletStore::mark_synced(std::int64_t now_ms) {
  Tx tx(*db_);
  AKT_TRY(tx.status());
  {
    AKT_STMT(s, *db_, "UPDATE device SET last_sync = ?1 WHERE id = 1");
    s->bind(1, now_ms);
    AKT_TRY(s->run());
  }
  {
    // Note 6: the retention of kept edits counts from the first sync that saw them kept.
    AKT_STMT(s, *db_, "UPDATE pushed SET kept_since = ?1 WHERE kept_since = 0");
    s->bind(1, now_ms);
    AKT_TRY(s->run());
  }
  {
    AKT_STMT(s, *db_, "DELETE FROM pushed WHERE kept_since < ?1 - ?2");
    s->bind(1, now_ms);
    s->bind(2, kPushedRetentionMs);
    AKT_TRY(s->run());
  }
  return tx.commit();
}

}  // namespace akt::store

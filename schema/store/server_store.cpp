// The server store: open, group commit, feed reads.
//
// Design notes (numbered invariants, after SQLite's pager.c):
//  1. One writer connection, used only by the group leader while it holds no lock but leadership;
//     every write is one BEGIN IMMEDIATE ... COMMIT.
//  2. Each batch of a group runs inside SAVEPOINT b; a batch that fails is rolled back to it alone,
//     its caller gets the error, and the rest of the group commits.
//  3. Feed sequence numbers are assigned inside the transaction from last_seq_+1; last_seq_ moves only
//     after COMMIT returned, so a reader never sees seq N+1 committed while N is not (one writer).
//  4. A caller's push() returns only after the COMMIT that holds its batch returned (synchronous=FULL).
//  5. What an edit needs that is no database work (digests, encoded clock and changed list) is computed
//     by push() on the caller's thread before it queues (prepare_batch): the leader is the serial part.
//
//   caller --enqueue--> [writers_] --front is leader--> BEGIN; (SAVEPOINT; apply; RELEASE)*; COMMIT
//                                                       --> wake every member of the group
#include "schema/store/server_store.hpp"

#include <random>

#include "schema/store/accounts_store.hpp"
#include "schema/store/db.hpp"
#include "schema/store/feed_query.hpp"
#include "schema/store/migrations.hpp"
#include "schema/store/form_rules.hpp"
#include "schema/store/push_apply.hpp"
#include "schema/store/push_engine.hpp"
#include "schema/store/sqlite_push_port.hpp"
#include "sync/stored_changed.hpp"
#include "sync/wire_json.hpp"

namespace akt::store {

struct ServerStore::Writer {
  // The work: a push batch, or any other write (accounts, forms...). Runs inside the group's
  // transaction, in a savepoint of its own; may take feed sequence numbers from next_seq.
  std::function<Result<PushOutput>(Db&, std::int64_t& next_seq)> fn;
  std::size_t edits = 0;
  std::optional<Result<PushOutput>> result;
  bool done = false;
  std::condition_variable cv;
};

struct ServerStore::ReadLease {
  ServerStore& store;
  std::unique_ptr<Db> db;
  ~ReadLease() {
    if (db) store.return_reader(std::move(db));
  }
};

ServerStore::ServerStore(ServerStoreOptions options)
    : options_(std::move(options)),
      rules_(options_.form_rules ? options_.form_rules : std::make_shared<const NoFormRules>()) {}

ServerStore::~ServerStore() { flush(); }

namespace {

std::string random_epoch() {
  std::random_device rd;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) out.push_back(kHex[rd() & 0xF]);
  return out;
}

Result<std::string> read_meta(Db& db, const char* key) {
  AKT_STMT(s, db, "SELECT value FROM meta WHERE key = ?1");
  s->bind(1, key);
  auto row = s->step();
  if (!row.ok()) return row.status();
  return *row ? std::string(s->text(0)) : std::string();
}

}  // namespace

Result<std::unique_ptr<ServerStore>> ServerStore::open(ServerStoreOptions options) {
  std::unique_ptr<ServerStore> store(new ServerStore(std::move(options)));
  DbOptions o;
  o.synchronous_full = store->options_.synchronous_full;
  auto db = Db::open(store->options_.path, o);
  if (!db.ok()) return db.status();
  store->writer_db_ = std::move(*db);
  Db& w = *store->writer_db_;
  AKT_TRY(migrate(w));
  auto epoch = read_meta(w, "epoch");
  if (!epoch.ok()) return epoch.status();
  if (epoch->empty()) {
    store->epoch_ = random_epoch();
    AKT_STMT(s, w, "INSERT INTO meta(key, value) VALUES('epoch', ?1)");
    s->bind(1, store->epoch_);
    AKT_TRY(s->run());
  } else {
    store->epoch_ = *epoch;
  }
  auto actor = read_meta(w, "server_actor");
  if (!actor.ok()) return actor.status();
  if (actor->empty()) return Status::corruption("meta.server_actor missing");
  store->server_actor_ = *actor;
  AKT_STMT(s, w, "SELECT COALESCE(MAX(seq), 0) FROM records");
  auto row = s->step();
  if (!row.ok()) return row.status();
  store->last_seq_.store(s->int64(0));
  return store;
}

Result<PushOutput> ServerStore::push(const PushInput& input) {
  // On the caller's thread, in parallel with other callers: the leader only reads and writes (note 5).
  const PreparedBatch prepared = prepare_batch(input, *rules_);
  Writer w;
  w.fn = [this, &input, &prepared](Db& db, std::int64_t& next_seq) {
    SqlitePushPort port(db);
    return apply_batch(port, input, prepared, PushContext{epoch_, server_actor_, *rules_}, next_seq);
  };
  w.edits = input.request->edits.size();
  return submit(w);
}

Status ServerStore::write(const std::function<Status(Db&, std::int64_t& next_seq)>& fn) {
  Writer w;
  w.fn = [&fn](Db& db, std::int64_t& next_seq) -> Result<PushOutput> {
    Status st = fn(db, next_seq);
    if (!st.ok()) return st;
    return PushOutput{};
  };
  w.edits = 1;
  auto r = submit(w);
  return r.ok() ? Status() : r.status();
}

Status ServerStore::read(const std::function<Status(Db&)>& fn) {
  Status st;
  ReadLease lease{*this, borrow_reader(st)};
  if (!lease.db) return st;
  // One read transaction, so that everything fn reads comes from one snapshot.
  AKT_TRY(lease.db->exec("BEGIN"));
  Status result = fn(*lease.db);
  lease.db->exec("COMMIT");
  return result;
}

Result<PushOutput> ServerStore::submit(Writer& w) {
  std::unique_lock lock(write_mu_);
  writers_.push_back(&w);
  while (!w.done && &w != writers_.front()) w.cv.wait(lock);
  if (w.done) return std::move(*w.result);

  // This caller leads: take the queued writers up to the group size limit.
  std::vector<Writer*> group;
  std::size_t edits = 0;
  for (Writer* x : writers_) {
    if (!group.empty() && edits + x->edits > options_.max_group_edits) break;
    group.push_back(x);
    edits += x->edits;
  }
  std::map<std::string, PendingPull> pulls;
  pulls.swap(pending_pulls_);
  lock.unlock();

  run_group(group);
  if (!pulls.empty()) write_pulls(pulls);  // advisory: a failure here loses only a cursor hint

  lock.lock();
  for (Writer* x : group) {
    writers_.pop_front();
    if (x != &w) {
      x->done = true;
      x->cv.notify_one();
    }
  }
  if (!writers_.empty()) writers_.front()->cv.notify_one();
  lock.unlock();
  if (options_.on_commit) options_.on_commit(last_seq());
  return std::move(*w.result);
}

void ServerStore::run_group(std::vector<Writer*>& group) {
  Db& db = *writer_db_;
  Tx tx(db);
  if (!tx.status().ok()) {
    for (Writer* x : group) x->result.emplace(tx.status());
    return;
  }
  std::int64_t next_seq = last_seq() + 1;
  for (Writer* x : group) {
    const std::int64_t seq_before = next_seq;
    Status sp = db.exec("SAVEPOINT b");
    if (!sp.ok()) {
      x->result.emplace(sp);
      continue;
    }
    Result<PushOutput> r = x->fn(db, next_seq);
    if (!r.ok()) {
      db.exec("ROLLBACK TO b");
      next_seq = seq_before;
    }
    db.exec("RELEASE b");
    x->result.emplace(std::move(r));
  }
  Status st = tx.commit();
  if (!st.ok()) {
    // Nothing of the group is stored: every member gets the commit error, none a stale answer.
    for (Writer* x : group) x->result.emplace(st);
    return;
  }
  last_seq_.store(next_seq - 1, std::memory_order_release);
}

void ServerStore::note_pull(const std::string& device, std::int64_t cursor, std::int64_t now_ms) {
  std::lock_guard lock(write_mu_);
  auto& p = pending_pulls_[device];
  p.cursor = std::max(p.cursor, cursor);
  p.at = now_ms;
}

Status ServerStore::write_pulls(const std::map<std::string, PendingPull>& pulls) {
  Tx tx(*writer_db_);
  AKT_TRY(tx.status());
  for (const auto& [device, p] : pulls) {
    AKT_STMT(s, *writer_db_,
             "INSERT INTO devices(actor, last_cursor, last_pull) VALUES(?1, ?2, ?3) ON CONFLICT(actor) DO UPDATE "
             "SET last_cursor = MAX(last_cursor, excluded.last_cursor), last_pull = excluded.last_pull");
    std::string blob = uuid_blob(device);
    s->bind_blob(1, blob.data(), blob.size());
    s->bind(2, p.cursor);
    s->bind(3, p.at);
    AKT_TRY(s->run());
  }
  return tx.commit();
}

Status ServerStore::flush() {
  // No leader runs while writers_ is empty and we hold write_mu_, so the writer connection is free.
  std::unique_lock lock(write_mu_);
  if (pending_pulls_.empty() || !writers_.empty() || !writer_db_) return {};
  std::map<std::string, PendingPull> pulls;
  pulls.swap(pending_pulls_);
  return write_pulls(pulls);
}

std::unique_ptr<Db> ServerStore::borrow_reader(Status& st) {
  {
    std::lock_guard lock(read_mu_);
    if (!readers_.empty()) {
      auto db = std::move(readers_.back());
      readers_.pop_back();
      return db;
    }
  }
  DbOptions o;
  o.read_only = true;
  auto db = Db::open(options_.path, o);
  if (!db.ok()) {
    st = db.status();
    return nullptr;
  }
  return std::move(*db);
}

void ServerStore::return_reader(std::unique_ptr<Db> db) {
  {
    std::lock_guard lock(read_mu_);
    if (readers_.size() < options_.max_idle_readers) {
      readers_.push_back(std::move(db));
      return;
    }
  }
  // Beyond the bound the connection closes (its page cache with it), outside the lock: the pool
  // does not keep the peak number of concurrent reads open for ever.
  db.reset();
}

std::size_t ServerStore::idle_readers() {
  std::lock_guard lock(read_mu_);
  return readers_.size();
}


namespace {

constexpr const char* kRecordColumns =
    "r.id, r.form_id, r.form_version, r.municipality, r.community, r.component, r.seq, r.deleted, r.live_count, "
    "v.actor, v.n, v.clock, v.parents, v.changed, v.body, v.deleted, v.form_version, v.device_time, v.server_time, "
    "r.conflicted, r.deletion_pending, r.pending_upload";

// Reads rows of kRecordColumns (ordered by record) into record states.
Status collect_records(Stmt& s, std::vector<sync::RecordState>& out) {
  for (;;) {
    auto row = s.step();
    if (!row.ok()) return row.status();
    if (!*row) return {};
    std::string id = blob_uuid(s.blob(0));
    if (out.empty() || out.back().record_id != id) {
      sync::RecordState r;
      r.record_id = std::move(id);
      r.form_id = std::string(s.text(1));
      r.form_version = s.int64(2);
      r.scope = {std::string(s.text(3)), std::string(s.text(4)), std::string(s.text(5))};
      r.seq = s.int64(6);
      r.deleted = s.int64(7) != 0;
      auto conflicted = sync::decode_strings(s.text(19));
      r.conflicted = conflicted.ok() ? std::move(*conflicted) : std::vector<std::string>();
      r.deletion_pending = s.int64(20) != 0;
      auto pending_upload = sync::decode_strings(s.text(21));
      if (pending_upload.ok()) r.pending_upload = std::move(*pending_upload);
      r.conflict = s.int64(8) > 1 || !r.conflicted.empty() || r.deletion_pending;
      out.push_back(std::move(r));
    }
    sync::Version v;
    v.dot = {blob_uuid(s.blob(9)), s.int64(10)};
    auto clock = sync::decode_clock(s.text(11));
    auto parents = sync::decode_dots(s.text(12));
    auto changed = sync::decode_changed(s.text(13), s.text(14));
    if (!clock.ok() || !parents.ok() || !changed.ok()) return Status::corruption("stored version fields unreadable");
    v.clock = std::move(*clock);
    v.parents = std::move(*parents);
    v.changed = std::move(*changed);
    v.body = std::string(s.text(14));
    v.deleted = s.int64(15) != 0;
    v.form_version = s.int64(16);
    v.device_time = s.int64(17);
    v.server_time = s.int64(18);
    out.back().live.push_back(std::move(v));
  }
}

}  // namespace

Result<ChangesPage> ServerStore::changes(std::int64_t since, std::size_t limit) {
  Status st;
  ReadLease lease{*this, borrow_reader(st)};
  if (!lease.db) return st;
  static const std::string sql = std::string("SELECT ") + kRecordColumns +
                                 " FROM (SELECT * FROM records WHERE seq > ?1 ORDER BY seq LIMIT ?2) r "
                                 "JOIN versions v ON v.record_id = r.id AND v.is_live = 1 "
                                 "ORDER BY r.seq, v.actor, v.n";
  AKT_STMT(s, *lease.db, sql.c_str());
  s->bind(1, since);
  s->bind(2, static_cast<std::int64_t>(limit) + 1);  // one more tells whether the page was cut
  ChangesPage page;
  AKT_TRY(collect_records(*s, page.records));
  if (page.records.size() > limit) {
    page.records.pop_back();
    page.more = true;
  }
  page.next = page.records.empty() ? since : page.records.back().seq;
  return page;
}

Result<ChangesPage> ServerStore::changes_json(std::int64_t since, std::size_t limit, std::string& out,
                                              const std::vector<sync::Assignment>* scope,
                                              const BodyTransform* transform,
                                              const CommunityTransform* community) {
  FeedQuery q;  // the feed's page, written by feed_query.cpp
  q.since = since;
  q.limit = limit;
  q.scope = scope;
  q.transform = transform;
  q.community = community;
  return feed_json(*this, q, out);
}

Result<std::optional<sync::RecordState>> ServerStore::record(const std::string& record_id) {
  std::string blob = uuid_blob(record_id);
  if (blob.empty()) return Status::invalid_argument("record id is not a UUID");
  Status st;
  ReadLease lease{*this, borrow_reader(st)};
  if (!lease.db) return st;
  static const std::string sql = std::string("SELECT ") + kRecordColumns +
                                 " FROM records r JOIN versions v ON v.record_id = r.id AND v.is_live = 1 "
                                 "WHERE r.id = ?1 ORDER BY v.actor, v.n";
  AKT_STMT(s, *lease.db, sql.c_str());
  s->bind_blob(1, blob.data(), blob.size());
  std::vector<sync::RecordState> out;
  AKT_TRY(collect_records(*s, out));
  if (out.empty()) return std::optional<sync::RecordState>();
  return std::optional<sync::RecordState>(std::move(out.front()));
}

Result<std::vector<QuarantineEntry>> ServerStore::quarantine(std::int64_t before_id, std::size_t limit) {
  Status st;
  ReadLease lease{*this, borrow_reader(st)};
  if (!lease.db) return st;
  // Statements are cached by the address of their text: it must be a literal or a static string.
  static const std::string sql =
      std::string("SELECT ") + kQuarantineColumns + " FROM quarantine WHERE ?1 = 0 OR id < ?1 ORDER BY id DESC LIMIT ?2";
  AKT_STMT(s, *lease.db, sql.c_str());
  s->bind(1, before_id);
  s->bind(2, static_cast<std::int64_t>(limit));
  std::vector<QuarantineEntry> out;
  for (;;) {
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(read_quarantine_row(*s));
  }
}

Status ServerStore::integrity_check() {
  std::lock_guard lock(write_mu_);
  return writer_db_->integrity_check();
}

}  // namespace akt::store

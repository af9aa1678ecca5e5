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
//  6. Checkpoints run on the store's own thread and connection (checkpoint_loop), not in the leader's
//     COMMIT: the WAL hook on the writer connection (which replaces SQLite's autocheckpoint) notes the
//     WAL's size and wakes the thread once checkpoint_pages are not yet copied; the thread runs a
//     PASSIVE checkpoint, which takes no lock a writer or reader waits for. After idle_checkpoint_ms
//     without a commit it runs TRUNCATE with a short busy timeout, so an idle server's WAL file is empty.
//     Only at backstop_pages does the hook checkpoint in the leader (readers held the WAL), so the WAL is
//     bounded. A checkpoint never weakens durability: every COMMIT is already synced in the WAL.
//   caller --enqueue--> [writers_] --front is leader--> BEGIN; (SAVEPOINT; apply; RELEASE)*; COMMIT
//                                                       --> wake every member of the group
#include "schema/store/server_store.hpp"

#include <sqlite3.h>

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

ServerStore::~ServerStore() {
  {
    std::lock_guard lock(ckpt_mu_);
    ckpt_stop_ = true;
  }
  ckpt_cv_.notify_all();
  if (ckpt_thread_.joinable()) ckpt_thread_.join();
  if (writer_db_) sqlite3_wal_hook(writer_db_->handle(), nullptr, nullptr);
  flush();
}

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

  // Checkpoints (note 6): the hook replaces the writer's autocheckpoint; a WAL past the size that
  // ends a COMMIT is truncated back to it at the next restart.
  const std::int64_t limit = std::int64_t{store->options_.checkpoint_pages > 0 ? store->options_.checkpoint_pages
                                                                              : store->options_.backstop_pages} *
                             o.page_size;
  AKT_TRY(w.exec("PRAGMA journal_size_limit=" + std::to_string(limit)));
  sqlite3_wal_hook(w.handle(), &ServerStore::on_wal_commit, store.get());
  if (store->options_.checkpoint_pages > 0) {
    DbOptions co;
    co.synchronous_full = store->options_.synchronous_full;
    co.busy_timeout_ms = 20;  // a TRUNCATE holds writers while it waits: never long
    co.cache_kib = 256;
    auto ck = Db::open(store->options_.path, co);
    if (!ck.ok()) return ck.status();
    store->ckpt_db_ = std::move(*ck);
    AKT_TRY(store->ckpt_db_->exec("PRAGMA wal_autocheckpoint=0"));
    store->ckpt_thread_ = std::thread([s = store.get()] { s->checkpoint_loop(); });
  }
  return store;
}

// The pages a checkpoint in the leader may copy so that the next BEGIN can restart the WAL: under a
// steady load the thread's checkpoint never quite reaches the WAL's end, so the leader copies that
// last bit (note 6).
std::int64_t ServerStore::tail_pages() const { return std::max(16, options_.checkpoint_pages / 32); }

bool ServerStore::wal_behind() const {
  return options_.checkpoint_pages > 0 && wal_pages_ >= options_.checkpoint_pages &&
         wal_pages_ - backfilled_ > tail_pages();
}

int ServerStore::on_wal_commit(void* self, sqlite3* db, const char* name, int pages) {
  auto* store = static_cast<ServerStore*>(self);
  const ServerStoreOptions& o = store->options_;
  enum { kNone, kWake, kTail, kBackstop } act = kNone;
  {
    std::lock_guard lock(store->ckpt_mu_);
    if (pages < store->wal_pages_) store->backfilled_ = 0;  // the WAL restarted from its beginning
    store->wal_pages_ = pages;
    if (!store->wal_dirty_) act = kWake;  // the thread sleeps until a commit: start its idle clock
    store->wal_dirty_ = true;
    store->last_commit_ = std::chrono::steady_clock::now();
    if (store->ckpt_running_) {
      // The thread copies now (one checkpoint at a time; it looks at the WAL again when done).
    } else if (pages >= o.backstop_pages) {
      act = kBackstop;  // (the thread waits for the leader's checkpoint, then for the idle clock)
    } else if (o.checkpoint_pages > 0 && pages >= o.checkpoint_pages) {
      act = pages - store->backfilled_ <= store->tail_pages() ? kTail : kWake;
    }
    if (act == kTail || act == kBackstop) store->ckpt_running_ = true;
  }
  if (act == kWake) store->ckpt_cv_.notify_one();
  if (act == kTail || act == kBackstop) {
    // PASSIVE waits for no one. At the backstop the thread could not keep up (long reads pin the WAL),
    // and the leader checkpoints as SQLite's own autocheckpoint would.
    int log = 0, done = 0;
    const int rc = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    std::lock_guard lock(store->ckpt_mu_);
    store->ckpt_running_ = false;
    store->ckpt_cv_.notify_one();
    if (rc == SQLITE_OK) {
      ++(act == kTail ? store->ckpt_stats_.tail : store->ckpt_stats_.leader);
      store->backfilled_ = std::max<std::int64_t>(store->backfilled_, done);
    } else if ((rc & 0xFF) == SQLITE_BUSY || (rc & 0xFF) == SQLITE_LOCKED) {
      ++store->ckpt_stats_.busy;
    } else {
      ++store->ckpt_stats_.errors;
    }
  }
  return SQLITE_OK;
}

void ServerStore::checkpoint_loop() {
  using Clock = std::chrono::steady_clock;
  const auto idle = std::chrono::milliseconds(std::max(1, options_.idle_checkpoint_ms));
  std::unique_lock lock(ckpt_mu_);
  while (!ckpt_stop_) {
    const bool behind = wal_behind();
    const bool idle_due = wal_dirty_ && Clock::now() - last_commit_ >= idle;
    if (ckpt_running_) {  // the leader checkpoints now; it wakes the thread when done
      ckpt_cv_.wait(lock);
      continue;
    }
    if (!behind && !idle_due) {
      if (wal_dirty_)
        ckpt_cv_.wait_until(lock, last_commit_ + idle);
      else
        ckpt_cv_.wait(lock);
      continue;
    }
    const auto commit_seen = last_commit_;
    ckpt_running_ = true;
    lock.unlock();
    int log = 0, done = 0;
    const int mode = behind ? SQLITE_CHECKPOINT_PASSIVE : SQLITE_CHECKPOINT_TRUNCATE;
    const int rc = sqlite3_wal_checkpoint_v2(ckpt_db_->handle(), "main", mode, &log, &done);
    lock.lock();
    ckpt_running_ = false;
    const auto pause = [&] { ckpt_cv_.wait_for(lock, idle, [this] { return ckpt_stop_; }); };
    if (rc == SQLITE_OK && mode == SQLITE_CHECKPOINT_PASSIVE) {
      ++ckpt_stats_.background;
      const bool progressed = done > backfilled_;
      backfilled_ = std::max<std::int64_t>(backfilled_, done);
      if (!progressed) pause();  // a long read holds the rest of the WAL: wait for it, do not spin
    } else if (rc == SQLITE_OK) {
      ++ckpt_stats_.truncated;
      if (last_commit_ == commit_seen) {  // no commit came while it ran: the WAL file is empty now
        wal_dirty_ = false;
        wal_pages_ = 0;
        backfilled_ = 0;
      }
    } else if ((rc & 0xFF) == SQLITE_BUSY || (rc & 0xFF) == SQLITE_LOCKED) {
      ++ckpt_stats_.busy;  // a read, a write or another checkpoint was in the way: try again later
      pause();
    } else {
      ++ckpt_stats_.errors;
      pause();
    }
  }
}

std::vector<SyncStore::EngineCounter> ServerStore::engine_counters() const {
  const CheckpointStats st = checkpoint_stats();
  const char* help = "SQLite WAL checkpoints by kind: background (the store's thread), tail and backstop (the "
                     "group-commit leader), truncate (idle, the WAL file emptied), busy (given up), error.";
  std::vector<EngineCounter> out;
  auto add = [&](const char* kind, std::int64_t v) {
    out.push_back({"aktsync_wal_checkpoints_total", help, std::string("kind=\"") + kind + "\"", static_cast<double>(v)});
  };
  add("background", st.background);
  add("tail", st.tail);
  add("backstop", st.leader);
  add("truncate", st.truncated);
  add("busy", st.busy);
  add("error", st.errors);
  return out;
}

ServerStore::CheckpointStats ServerStore::checkpoint_stats() const {
  std::lock_guard lock(ckpt_mu_);
  CheckpointStats s = ckpt_stats_;
  s.wal_pages = wal_pages_;
  return s;
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

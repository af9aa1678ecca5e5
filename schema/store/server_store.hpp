// The server's durable store (DESIGN §2, §3, §5): records, versions, the change feed, stored batch
// answers, devices and the quarantine, on SQLite in WAL mode with synchronous=FULL.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "schema/store/sync_store.hpp"
#include "sync/access.hpp"
#include "sync/merge.hpp"
#include "sync/status.hpp"
#include "sync/wire.hpp"

struct sqlite3;

namespace akt::store {

class Db;
class FormRules;
class StoreReader;
class StoreWriter;

struct ServerStoreOptions {
  std::string path;                     // the database file; created when missing
  bool synchronous_full = true;         // never turn off on a real server
  std::size_t max_group_edits = 20000;  // edits committed together at most (group commit)
  // Read connections kept open between reads (each holds up to DbOptions::cache_kib of page cache).
  // More readers than this may be open while that many reads run at once; the extra ones are closed
  // when their read ends, so the pool never holds more than this.
  std::size_t max_idle_readers = 4;
  // Called after every successful commit with the new last sequence number, outside any lock.
  std::function<void(std::int64_t)> on_commit;
  // Checkpoints (server_store.cpp note 6). A thread of the store copies the WAL into the database file
  // once it holds checkpoint_pages pages not yet copied, so the group-commit leader never waits for it;
  // after idle_checkpoint_ms without a commit it empties the WAL file (TRUNCATE), so that an idle
  // server's folder holds the database alone. The leader checkpoints by itself only when the WAL reaches
  // backstop_pages (long reads kept the thread from finishing), so the WAL stays bounded. 0 for
  // checkpoint_pages: the leader checkpoints at backstop_pages alone, as SQLite's autocheckpoint does.
  // Under a steady load the thread's checkpoint never quite reaches the WAL's end; the leader then
  // copies the last few pages itself (checkpoint_pages / 32), so that the WAL can restart.
  int checkpoint_pages = 2048;       // 32 MiB of 16 KiB pages
  int idle_checkpoint_ms = 1000;
  int backstop_pages = 16384;        // 256 MiB
  // The form rules every push consults (form_rules.hpp); null = none (default merge policies, no checks).
  // Shared: the server keeps its own reference to the registry behind it.
  std::shared_ptr<const FormRules> form_rules;
};

// A rule of the form that a merged body breaks (DESIGN §4 post-merge validation).
struct RuleBreak {
  std::string path, code, message;    // as the form validator reports them
  std::vector<std::string> involved;  // top-level keys the rule reads (the field itself included)
};

// What to store for an edit filled with an older form version than the version it was made on
// (PROTOCOL §4.4), or why it is refused.
struct OlderFormEdit {
  std::string body;                              // canonical JSON: the edit's answers + the base's others
  std::vector<std::string> changed;              // the edit's changed paths that its form version defines
  std::optional<sync::EditRejection> rejection;  // set: the body breaks the base's (newer) form version
};

// Thread-safe. Writes from concurrent callers are queued and committed together in one transaction
// (group commit, after leveldb's writers_ queue); each batch runs inside its own savepoint so one
// batch's failure never affects another's. Reads use a pool of read-only connections.
class ServerStore final : public SyncStore {
 public:
  // Opens or creates the store, applies migrations, checks the epoch. kIOError/kCorruption on failure.
  static Result<std::unique_ptr<ServerStore>> open(ServerStoreOptions options);
  ~ServerStore() override;
  ServerStore(const ServerStore&) = delete;
  ServerStore& operator=(const ServerStore&) = delete;

  // Applies one push batch and returns its answer only after COMMIT returned. A batch id seen before
  // for this device with the same content returns the stored answer; with other content, kConflict.
  // kBusy/kIOError when the database could not commit (nothing of the batch is stored then).
  Result<PushOutput> push(const PushInput& input) override;
  const char* engine() const override { return "sqlite"; }

  // Runs `fn` in the writer's transaction (in a savepoint of its own, queued with pushes) and returns
  // once it is durably committed. `fn` may assign feed sequence numbers from next_seq (advance it once
  // per record it changes). A non-OK Status from fn rolls back its work alone.
  Status write(const std::function<Status(Db&, std::int64_t& next_seq)>& fn);
  // Runs `fn` on a read-only connection inside one read transaction (a consistent snapshot).
  Status read(const std::function<Status(Db&)>& fn);
  // The store seam (store_tx.hpp): write() and read() in domain operations, with the same transaction,
  // group commit and feed sequence semantics; what server/ calls (server_store_ops.cpp).
  Status update(const std::function<Status(StoreWriter&)>& fn) override;
  Status query(const std::function<Status(StoreReader&)>& fn) override;

  // Records changed after `since` (a sequence number), at most `limit`, each at its latest state.
  Result<ChangesPage> changes(std::int64_t since, std::size_t limit) override;
  // SyncStore's reads in feed_query.cpp and export_query.cpp (feed_json, batch_answer, export_page).
  Result<ChangesPage> feed_page(const FeedQuery& query, std::string& out) override;
  Result<std::optional<std::string>> batch_answer(const std::string& device, const std::string& batch_id) override;
  Result<ExportPage> export_page(const std::string& form_id, std::int64_t since, std::int64_t until,
                                 std::size_t limit, std::vector<ExportRow>& rows) override;
  // The same page written straight into `out` as a JSON array's elements (comma-separated record
  // states, no brackets), without decoding stored clocks or bodies: the feed's hot path.
  // With `scope` set, records outside it are left out, and a record that was inside it before (it moved)
  // appears as {"record":id,"seq":n,"out_of_scope":true} so that the device drops it. `limit` counts
  // the entries written, not the records scanned (feed_json in feed_query.hpp, which this calls).
  // With `transform` set, each live body is replaced by transform(form_id, record_id, body) (the
  // per-role redaction of sensitive fields).
  using BodyTransform = store::BodyTransform;
  // With `community` set, each record's scope community is written as community(community) (the same
  // redaction: the community reveals a special-category value).
  using CommunityTransform = store::CommunityTransform;
  Result<ChangesPage> changes_json(std::int64_t since, std::size_t limit, std::string& out,
                                   const std::vector<sync::Assignment>* scope = nullptr,
                                   const BodyTransform* transform = nullptr,
                                   const CommunityTransform* community = nullptr);
  // One record with its live versions, or nullopt. kInvalidArgument for an id that is not a UUID.
  Result<std::optional<sync::RecordState>> record(const std::string& record_id) override;
  // Rejected edits, newest first, paged by id (0 = from the newest).
  Result<std::vector<QuarantineEntry>> quarantine(std::int64_t before_id, std::size_t limit) override;

  // Remembers a device's pull cursor; written with the next commit (or flush()).
  void note_pull(const std::string& device, std::int64_t cursor, std::int64_t now_ms) override;
  Status flush() override;

  const std::string& epoch() const override { return epoch_; }
  // The server replica's actor id: the dot of every merged version (DESIGN §3 step 3).
  const std::string& server_actor() const override { return server_actor_; }
  std::int64_t last_seq() const override { return last_seq_.load(std::memory_order_acquire); }
  Status integrity_check();
  // Read connections open and idle in the pool now (at most options.max_idle_readers).
  std::size_t idle_readers();
  // What the checkpoints did so far (for tests, /metrics and the benchmarks).
  struct CheckpointStats {
    std::int64_t background = 0;  // checkpoints the store's thread ran (PASSIVE)
    std::int64_t truncated = 0;   // idle checkpoints that emptied the WAL file
    std::int64_t tail = 0;        // short checkpoints of the WAL's last pages in the leader (note 6)
    std::int64_t leader = 0;      // checkpoints the group-commit leader ran at backstop_pages
    std::int64_t busy = 0;        // idle checkpoints given up because a read or a write was in the way
    std::int64_t errors = 0;      // checkpoints that failed otherwise (I/O); the next one tries again
    std::int64_t wal_pages = 0;   // pages in the WAL after the last commit or checkpoint
  };
  CheckpointStats checkpoint_stats() const;
  std::vector<EngineCounter> engine_counters() const override;  // the checkpoint counters

 private:
  struct Writer;
  struct ReadLease;
  explicit ServerStore(ServerStoreOptions options);
  struct PendingPull { std::int64_t cursor = 0; std::int64_t at = 0; };
  Result<PushOutput> submit(Writer& w);
  void run_group(std::vector<Writer*>& group);
  Status write_pulls(const std::map<std::string, PendingPull>& pulls);
  std::unique_ptr<Db> borrow_reader(Status& st);
  void return_reader(std::unique_ptr<Db> db);

  ServerStoreOptions options_;
  std::shared_ptr<const FormRules> rules_;  // options_.form_rules, or none
  std::string epoch_;
  std::string server_actor_;
  std::atomic<std::int64_t> last_seq_{0};

  std::mutex write_mu_;                 // guards writers_ and pending_pulls_
  std::deque<Writer*> writers_;
  std::unique_ptr<Db> writer_db_;       // used only by the current group leader
  std::map<std::string, PendingPull> pending_pulls_;

  std::mutex read_mu_;
  std::vector<std::unique_ptr<Db>> readers_;

  // The checkpoint thread (note 6). ckpt_mu_ guards the fields below it; the WAL hook (on the leader's
  // thread, inside COMMIT) takes it only to note the WAL's size and wake the thread.
  static int on_wal_commit(void* self, sqlite3* db, const char* name, int pages);
  void checkpoint_loop();
  std::int64_t tail_pages() const;
  bool wal_behind() const;  // with ckpt_mu_ held
  std::unique_ptr<Db> ckpt_db_;
  std::thread ckpt_thread_;
  mutable std::mutex ckpt_mu_;
  std::condition_variable ckpt_cv_;
  bool ckpt_stop_ = false;
  bool ckpt_running_ = false;        // a checkpoint runs (on the thread or in the leader)
  std::int64_t wal_pages_ = 0;       // frames in the WAL after the last commit
  std::int64_t backfilled_ = 0;      // of those, copied into the database by the last checkpoint
  bool wal_dirty_ = false;           // a commit came after the last TRUNCATE
  std::chrono::steady_clock::time_point last_commit_{};
  CheckpointStats ckpt_stats_;
};

}  // namespace akt::store

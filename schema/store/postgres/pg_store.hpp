// The PostgreSQL engine of the store seam (store_tx.hpp, issue #20): PgStore runs query/update over a
// pool of libpq connections, and push batches through the push engine (docs/STORE.md, "PostgreSQL
// engine"). Code outside schema/store/postgres/ sees this header, never <libpq-fe.h>.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "schema/store/form_rules.hpp"
#include "schema/store/sync_store.hpp"
#include "sync/status.hpp"

namespace akt::store {

namespace pg {
class PgConn;
class FeedListener;
}

struct PgStoreOptions {
  std::string url;                   // libpq URL or keyword string
  std::size_t max_idle_connections = 4;  // kept open between calls; more may be open while busy
  // The form rules every push consults (form_rules.hpp); null = none.
  std::shared_ptr<const FormRules> form_rules;
  // Called after every commit that moved the feed, with the new last sequence number, outside any lock:
  // the long-poll wake-up (docs/STORE.md §7). With `listen`, also when another server's commit moved it.
  std::function<void(std::int64_t)> on_commit;
  // Several servers on one database (docs/STORE.md §10): keep a LISTEN connection on a thread of its
  // own (pg_listen.hpp) and take every other server's feed commits as this process's own (last_seq,
  // on_commit); while it is down, read the feed head every second instead. Off: this process learns of
  // other servers' commits only from the feed pages it reads (and refresh_last_seq).
  bool listen = false;
  // The listener's state changes ("listening", "lost: why ..."), for the log; may be null.
  std::function<void(const std::string&)> on_listener_event;
};

// Thread-safe. Each update is one READ COMMITTED transaction on a connection of its own, durable when it
// returns OK (COMMIT returned; synchronous_commit is the server's, `on` by default); every write of the
// engine is one statement whose WHERE re-checks its precondition (a code used once, a draft still a
// draft), so concurrent updates need no lock beyond PostgreSQL's row locks. Each query is one REPEATABLE
// READ READ ONLY transaction: a consistent snapshot. A non-OK Status from fn rolls back that call alone.
// A broken connection is dropped and the next call connects again (a PostgreSQL restart costs the
// calls in flight a kBusy, nothing more).
class PgStore final : public SyncStore {
 public:
  // Connects, applies the engine's migrations (pg_migrations.cpp). kBusy when the server cannot be
  // reached; kCorruption when the database's schema is newer than this build.
  static Result<std::unique_ptr<PgStore>> open(PgStoreOptions options);
  ~PgStore() override;
  PgStore(const PgStore&) = delete;
  PgStore& operator=(const PgStore&) = delete;

  Status update(const std::function<Status(StoreWriter&)>& fn) override;
  Status query(const std::function<Status(StoreReader&)>& fn) override;

  // Applies one push batch (push_engine.hpp) in a READ COMMITTED transaction of its own; the answer is
  // returned only after COMMIT. Concurrent pushes run in parallel; they wait for each other only on the
  // records and uniqueness keys they share, the server's merge counter, and the feed stamp at the end
  // (docs/STORE.md §7). kBusy (a deadlock between two batches, a lost connection): nothing is acknowledged
  // and the retry is safe (a batch is idempotent by device and batch id).
  Result<PushOutput> push(const PushInput& input) override;
  const char* engine() const override { return "postgres"; }
  const std::string& epoch() const override { return epoch_; }
  const std::string& server_actor() const override { return server_actor_; }
  // The highest feed number this process saw committed: its own commits' stamps, and the head of every
  // feed page it read (another server's commits). At open: feed_head.last_seq.
  std::int64_t last_seq() const override { return last_seq_.load(std::memory_order_acquire); }
  // Reads feed_head.last_seq: another server may have moved it. Raises last_seq (and calls on_commit
  // when it moved); last_seq() when the database cannot be read.
  std::int64_t refresh_last_seq() override;
  // Failed-login throttles in table rate_buckets, shared by every server of the database; the clock is
  // PostgreSQL's (clock_timestamp()), so the servers' own clocks need not agree.
  Result<std::optional<std::int64_t>> shared_bucket(const std::string& key, double per_minute, double burst,
                                                    bool take) override;
  // The LISTEN connection's backend pid, 0 while it is down or without `listen` (tests terminate it).
  int listener_backend_pid() const;

  // SyncStore's reads (pg_feed.cpp), each in one REPEATABLE READ READ ONLY snapshot.
  Result<ChangesPage> feed_page(const FeedQuery& query, std::string& out) override;
  Result<ChangesPage> changes(std::int64_t since, std::size_t limit) override;
  Result<std::optional<std::string>> batch_answer(const std::string& device, const std::string& batch_id) override;
  Result<ExportPage> export_page(const std::string& form_id, std::int64_t since, std::int64_t until,
                                 std::size_t limit, std::vector<ExportRow>& rows) override;
  Result<std::optional<sync::RecordState>> record(const std::string& record_id) override;
  Result<std::vector<QuarantineEntry>> quarantine(std::int64_t before_id, std::size_t limit) override;

  // Pull cursors are kept in memory and written after the next push commits, or by flush().
  void note_pull(const std::string& device, std::int64_t cursor, std::int64_t now_ms) override;
  Status flush() override;

  // Stores a rejected edit in the quarantine and sets entry.id; the push engine's job once it runs on
  // this engine (until then: tests and data migration).
  Status insert_quarantine(QuarantineEntry& entry);

 private:
  explicit PgStore(PgStoreOptions options);
  Result<std::unique_ptr<pg::PgConn>> borrow();
  void give_back(std::unique_ptr<pg::PgConn> conn);
  // Runs fn on a borrowed connection between `begin` and COMMIT (ROLLBACK when fn fails).
  Status in_transaction(const char* begin, const std::function<Status(pg::PgConn&)>& fn);

  // Reads (or makes, once per database) the epoch and reads the server actor.
  Status load_identity(pg::PgConn& conn);
  // Raises last_seq_ to `seq` (never lowers it); true when it moved.
  bool raise_last_seq(std::int64_t seq);
  // A feed head committed elsewhere (the listener, refresh_last_seq): raised and, when it moved,
  // announced through on_commit as this process's own commits are.
  void heard_head(std::int64_t seq);
  // Runs a read of the seam's snapshot shape.
  Status in_snapshot(const std::function<Status(pg::PgConn&)>& fn);
  struct PendingPull {
    std::int64_t cursor = 0, at = 0;
  };

  PgStoreOptions options_;
  std::shared_ptr<const FormRules> rules_;  // options_.form_rules, or none
  std::string epoch_, server_actor_;
  std::mutex mu_;                                   // guards idle_
  std::vector<std::unique_ptr<pg::PgConn>> idle_;
  std::atomic<std::int64_t> last_seq_{0};
  std::mutex pulls_mu_;  // guards pending_pulls_
  std::map<std::string, PendingPull> pending_pulls_;
  std::atomic<std::uint64_t> bucket_writes_{0};  // shared_bucket's takes, for its occasional clean-up
  std::unique_ptr<pg::FeedListener> listener_;  // with options_.listen; stopped first on destruction
};

// Creates database `name` as a copy of `template_name` ("" = the server's default), connected through
// `admin_url`. For tests (a fresh database per case) and set-up tools. kConflict when it exists.
Status pg_create_database(const std::string& admin_url, const std::string& name, const std::string& template_name);

}  // namespace akt::store

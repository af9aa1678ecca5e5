// The server's durable store (DESIGN §2, §3, §5): records, versions, the change feed, stored batch
// answers, devices and the quarantine, on SQLite in WAL mode with synchronous=FULL.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sync/access.hpp"
#include "sync/merge.hpp"
#include "sync/status.hpp"
#include "sync/wire.hpp"

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

struct PushInput {
  std::string device;                    // canonical UUID of the authenticated device (its actor id)
  const sync::PushRequest* request = nullptr;
  std::int64_t now_ms = 0;               // server time stamped on the new versions
  // What the device's user may write; nullptr = anything (static config devices, admins).
  const std::vector<sync::Assignment>* scope = nullptr;
  // Rejections decided before (form validation), one slot per edit; nullptr = none.
  const std::vector<std::optional<sync::EditRejection>>* prechecks = nullptr;
  // An admin's resolution: its value closes the entry instead of joining it as a candidate.
  bool resolution = false;
  // The domain uniqueness key of each edit's body (a JSON array text; "" = none), one slot per edit, or
  // nullptr: a record whose key another live record of its form has gets a duplicate_candidate entry.
  const std::vector<std::string>* unique_keys = nullptr;
  // The language of the rejection messages the form rules write (a language tag; "" = English). The
  // rules themselves are the store's (ServerStoreOptions::form_rules).
  std::string lang = std::string();
  // Whether the server holds an attachment's file (PROTOCOL §14). Set: each stored device edit's
  // attachment references are indexed and each changed record's pending_upload recomputed. Unset: neither.
  std::function<bool(const std::string& digest)> blob_exists = nullptr;
};

struct PushOutput {
  std::string response;  // the batch's JSON answer, identical byte for byte on every replay
  bool replayed = false; // true when answered from the stored response
};

struct ChangesPage {
  std::vector<sync::RecordState> records;  // ordered by seq, each record once
  std::int64_t next = 0;                   // cursor to ask from next time
  bool more = false;                       // true when the limit cut the page
};

struct QuarantineEntry {
  std::int64_t id = 0;
  std::string device, batch_id, record_id, code, detail, edit_json, fields_json;
  std::string args_json = "{}";   // the code's arguments (PROTOCOL §10.7); "{}" in rows stored before them
  std::int64_t released_at = 0;
  std::int64_t discarded_at = 0;  // an admin threw the edit away (PROTOCOL §10.9); 0 = not
  sync::Dot dot;
  std::int64_t received_at = 0;
};

// The store seam's entry points (store_tx.hpp): a function over domain operations, run in one read
// snapshot (query) or in a write transaction that is durable when update returns. What server/ calls;
// each engine implements it (ServerStore is the SQLite one). Thread-safe.
class TransactionalStore {
 public:
  virtual ~TransactionalStore() = default;
  virtual Status update(const std::function<Status(StoreWriter&)>& fn) = 0;
  virtual Status query(const std::function<Status(StoreReader&)>& fn) = 0;
};

// Thread-safe. Writes from concurrent callers are queued and committed together in one transaction
// (group commit, after leveldb's writers_ queue); each batch runs inside its own savepoint so one
// batch's failure never affects another's. Reads use a pool of read-only connections.
class ServerStore final : public TransactionalStore {
 public:
  // Opens or creates the store, applies migrations, checks the epoch. kIOError/kCorruption on failure.
  static Result<std::unique_ptr<ServerStore>> open(ServerStoreOptions options);
  ~ServerStore() override;
  ServerStore(const ServerStore&) = delete;
  ServerStore& operator=(const ServerStore&) = delete;

  // Applies one push batch and returns its answer only after COMMIT returned. A batch id seen before
  // for this device with the same content returns the stored answer; with other content, kConflict.
  // kBusy/kIOError when the database could not commit (nothing of the batch is stored then).
  Result<PushOutput> push(const PushInput& input);

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
  Result<ChangesPage> changes(std::int64_t since, std::size_t limit);
  // The same page written straight into `out` as a JSON array's elements (comma-separated record
  // states, no brackets), without decoding stored clocks or bodies: the feed's hot path.
  // With `scope` set, records outside it are left out, and a record that was inside it before (it moved)
  // appears as {"record":id,"seq":n,"out_of_scope":true} so that the device drops it. `limit` counts
  // the entries written, not the records scanned (feed_json in feed_query.hpp, which this calls).
  // With `transform` set, each live body is replaced by transform(form_id, record_id, body) (the
  // per-role redaction of sensitive fields).
  using BodyTransform = std::function<std::string(const std::string& form_id, const std::string& record_id,
                                                  std::string_view body)>;
  // With `community` set, each record's scope community is written as community(community) (the same
  // redaction: the community reveals a special-category value).
  using CommunityTransform = std::function<std::string(std::string_view community)>;
  Result<ChangesPage> changes_json(std::int64_t since, std::size_t limit, std::string& out,
                                   const std::vector<sync::Assignment>* scope = nullptr,
                                   const BodyTransform* transform = nullptr,
                                   const CommunityTransform* community = nullptr);
  // One record with its live versions, or nullopt. kInvalidArgument for an id that is not a UUID.
  Result<std::optional<sync::RecordState>> record(const std::string& record_id);
  // Rejected edits, newest first, paged by id (0 = from the newest).
  Result<std::vector<QuarantineEntry>> quarantine(std::int64_t before_id, std::size_t limit);

  // Remembers a device's pull cursor; written with the next commit (or flush()).
  void note_pull(const std::string& device, std::int64_t cursor, std::int64_t now_ms);
  Status flush();

  const std::string& epoch() const { return epoch_; }
  // The server replica's actor id: the dot of every merged version (DESIGN §3 step 3).
  const std::string& server_actor() const { return server_actor_; }
  std::int64_t last_seq() const { return last_seq_.load(std::memory_order_acquire); }
  Status integrity_check();
  // Read connections open and idle in the pool now (at most options.max_idle_readers).
  std::size_t idle_readers();

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
};

}  // namespace akt::store

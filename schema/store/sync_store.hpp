// The store as the server sees it (issue #20): SyncStore, the one interface every engine implements
// (ServerStore on SQLite, PgStore on PostgreSQL), and the domain types of its operations. Code under
// server/ includes this header (and store_tx.hpp), never an engine's; the engine is chosen once, where
// the server opens its store (server/app_state.cpp). No SQL, no connection, no engine type here.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sync/access.hpp"
#include "sync/merge.hpp"
#include "sync/status.hpp"
#include "sync/wire.hpp"

namespace akt::store {

class StoreReader;
class StoreWriter;

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
  // The results `response` encodes, one per edit, when the batch was applied now (empty on a replay:
  // only the stored text is kept). In-process callers read these instead of decoding `response`.
  std::vector<sync::EditResult> results;
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

// With a body transform, each live body of the feed is replaced by transform(form_id, record_id, body)
// (the per-role redaction of sensitive fields).
using BodyTransform = std::function<std::string(const std::string& form_id, const std::string& record_id,
                                                std::string_view body)>;
// With a community transform, each record's scope community is written as community(community) (the
// same redaction: the community reveals a special-category value).
using CommunityTransform = std::function<std::string(std::string_view community)>;

// One page of the change feed as the wire wants it (PROTOCOL §5): SyncStore::feed_page.
struct FeedQuery {
  std::int64_t since = 0;           // entries with a sequence number above this
  std::size_t limit = 500;          // entries at most (>= 1)
  std::size_t max_bytes = 0;        // 0 = no bound; else the page ends after the entry that crosses it
  const std::vector<sync::Assignment>* scope = nullptr;  // nullptr = the caller sees every record
  const BodyTransform* transform = nullptr;
  const CommunityTransform* community = nullptr;
  // The field paths a record names (`conflicted`, `pending_upload`, each version's `changed`), as a JSON
  // array text, for the record's form: the caller's view of them (nullptr: as stored).
  using PathsTransform = std::function<std::string(const std::string& form_id, std::string_view paths)>;
  const PathsTransform* paths = nullptr;
  bool parents = true, changed = true;  // whether versions carry them
  bool lean = false;                    // members at their defaults left out (PROTOCOL §5.1, compact=2)
  std::string echo_actor;           // non-empty: versions by this actor carry body_hash instead of body
  bool skip_own = false;            // with echo_actor: records whose one live version is that actor's
                                    // edit exactly as pushed are left out (PROTOCOL §5.1, skip_own)
};

// One row of an M&E export page (docs/EXPORTS.md): SyncStore::export_page.
struct ExportRow {
  std::string record_id, municipality, community, component;
  std::string body;  // the latest live version's body text, as stored
  std::int64_t form_version = 0, seq = 0, server_time = 0;
  bool deleted = false;
  bool conflict = false;  // as RecordState::conflict, or several live versions
};

struct ExportPage {
  std::size_t count = 0;  // rows[0, count) hold this page
  std::int64_t next = 0;  // the last seq read (ask from here next time)
  bool more = false;      // the limit cut the page
};

// What the sync server needs of its store, whatever the engine. Thread-safe. Every engine gives the
// same answers, byte for byte, for the same data (tests/store/contract/ checks it): push answers, feed
// pages, stored batch answers, export pages.
class SyncStore : public TransactionalStore {
 public:
  // Which engine this is ("sqlite", "postgres"): for logs and for the few operations that exist on one
  // engine only (a backup file, PRAGMA integrity_check). Never branch on it for the sync protocol.
  virtual const char* engine() const = 0;
  // The engine's own housekeeping, for /metrics (PROTOCOL §3.2): counters named and labelled as
  // Prometheus samples. None by default.
  struct EngineCounter {
    std::string name, help, labels;
    double value = 0;
  };
  virtual std::vector<EngineCounter> engine_counters() const { return {}; }

  // Applies one push batch and returns its answer only after COMMIT returned. A batch id seen before
  // for this device with the same content returns the stored answer; with other content, kConflict.
  // kBusy/kIOError when the database could not commit (nothing of the batch is stored then).
  virtual Result<PushOutput> push(const PushInput& input) = 0;

  // The feed page `query` asks for, written into `out` as a JSON array's elements (comma-separated
  // record states, no brackets) from the stored text. `limit` counts the entries written (records and
  // out-of-scope markers {"record":id,"seq":n,"out_of_scope":true}), not the records scanned. Read in
  // one snapshot: `next` is the last entry's seq, or when the candidates ran out the feed's head in that
  // snapshot (no number at or below it can still commit). kIOError/kCorruption/kBusy when unreadable.
  virtual Result<ChangesPage> feed_page(const FeedQuery& query, std::string& out) = 0;
  // Records changed after `since`, at most `limit`, each at its latest state (decoded).
  virtual Result<ChangesPage> changes(std::int64_t since, std::size_t limit) = 0;
  // The stored answer of batch `batch_id` pushed by device `device`, or nullopt when that device pushed
  // no such batch (or it was not committed).
  virtual Result<std::optional<std::string>> batch_answer(const std::string& device, const std::string& batch_id) = 0;
  // Records of `form_id` with since < seq <= until, in seq order, at most `limit` (>= 1). `rows` is
  // reused from page to page: its strings keep their capacity. Of several live versions the body is the
  // last by (actor, n), as export_record_from() takes RecordState::live.back().
  virtual Result<ExportPage> export_page(const std::string& form_id, std::int64_t since, std::int64_t until,
                                         std::size_t limit, std::vector<ExportRow>& rows) = 0;
  // One record with its live versions, or nullopt. kInvalidArgument for an id that is not a UUID.
  virtual Result<std::optional<sync::RecordState>> record(const std::string& record_id) = 0;
  // Rejected edits, newest first, paged by id (0 = from the newest).
  virtual Result<std::vector<QuarantineEntry>> quarantine(std::int64_t before_id, std::size_t limit) = 0;

  // Remembers a device's pull cursor; written with a later commit (or flush()). Advisory: a lost one
  // costs only a device report's hint.
  virtual void note_pull(const std::string& device, std::int64_t cursor, std::int64_t now_ms) = 0;
  virtual Status flush() = 0;

  virtual const std::string& epoch() const = 0;
  // The server replica's actor id: the dot of every merged version (DESIGN §3 step 3).
  virtual const std::string& server_actor() const = 0;
  // The highest feed number this process knows committed: never above the head of a later snapshot.
  virtual std::int64_t last_seq() const = 0;
  // last_seq() after asking the database, on an engine that other servers may write to (several
  // aktsyncd on one PostgreSQL: a cursor another server handed out may be ahead of what this one heard).
  // Raises last_seq (and wakes the long polls) when it moved. Costs a read: only where a client's
  // number is above last_seq().
  virtual std::int64_t refresh_last_seq() { return last_seq(); }

  // A token bucket shared by every server of the database (failed-login throttles, docs/STORE.md §12):
  // `burst` tokens, refilled at `per_minute`, on the database's clock. With `take`, takes a token when
  // one is there. Returns the seconds until a token is there (0: there was one, now taken when `take`),
  // or nullopt when this engine shares no buckets (one server: the caller counts in memory).
  virtual Result<std::optional<std::int64_t>> shared_bucket(const std::string& key, double per_minute, double burst,
                                                            bool take) {
    (void)key, (void)per_minute, (void)burst, (void)take;
    return std::optional<std::int64_t>();
  }
};

}  // namespace akt::store

// The device's local store (DESIGN §2, §3, §5): the actor id and its dot counter, records with the live
// versions last pulled from the server, the device's own edits until the server's feed shows them, the
// outbox of unacknowledged edits grouped into stable batches, rejected edits, the pull cursor and epoch.
// No clock, no RNG, no network: time and randomness come in as arguments; sync_client drives the wire.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sync/record.hpp"
#include "sync/status.hpp"
#include "sync/uuid.hpp"
#include "sync/wire.hpp"

namespace akt::store {

class Db;
class Stmt;

struct DeviceConfig {
  std::string actor;   // canonical UUID made at install; never reused by another install
  std::string server;  // "host:port"
  std::string token;   // bearer token of this device
};

// How the device checks its server's TLS certificate: a private CA, or a pinned certificate.
struct TlsTrust {
  std::string ca_pem;      // PEM text of the CA certificate(s) to trust; empty = the system's trust store
  std::string pin_sha256;  // SHA-256 of the server certificate (64 hex digits); empty = none
};

struct DeviceInfo {
  DeviceConfig config;
  std::int64_t counter = 0;      // the last dot counter used
  std::string cursor;            // opaque pull cursor ("" = from the start)
  std::string epoch;             // server epoch last seen ("" = none yet)
  std::int64_t last_sync_ms = 0; // 0 = never
};

struct NewRecord {
  std::string form_id;
  std::int64_t form_version = 0;
  sync::Scope scope;
  std::string body;                  // canonical JSON object text (keys sorted, minified)
  std::vector<std::string> changed;  // field paths set
};

// One live version as the device sees it: a server version, or one of the device's own edits.
struct LocalVersion {
  sync::Dot dot;
  sync::VectorClock clock;
  std::vector<std::string> changed;
  std::string body;
  bool deleted = false;
  bool is_local = false;     // the device's own edit, not yet seen back from the server's feed
  bool is_acked = false;     // acknowledged by a push (the feed has not shown it yet)
  std::int64_t device_time = 0;
  std::int64_t server_time = 0;
};

struct LocalRecord {
  std::string record_id;
  std::string form_id;
  std::int64_t form_version = 0;
  sync::Scope scope;
  std::int64_t seq = 0;              // server feed position; 0 = never pulled
  bool server_conflict = false;      // the server flagged the record: siblings or fields in conflict
  std::vector<std::string> conflicted;  // fields in conflict awaiting an admin (DESIGN §4)
  bool deletion_pending = false;     // deleted on one device, edited on another: an admin decides
  std::vector<LocalVersion> live;    // server versions (by dot), then the device's edits (by counter)
  std::size_t current = 0;           // the version an edit applies to (holds the device's latest edit)
  std::size_t unsynced = 0;          // the device's edits not yet acknowledged
  bool is_conflict() const { return live.size() > 1 || server_conflict; }
  bool is_deleted() const { return !live.empty() && live[current].deleted; }
};

struct RejectedEdit {
  std::string record_id;
  sync::Dot dot;
  std::string batch_id;
  std::string code;    // the server's machine-readable reason (or the problem code of a refused batch)
  std::string detail;
  std::string edit;    // the edit as pushed, canonical JSON
  std::string fields;  // the server's per-field problems, a JSON array of {path, code, message}; empty when none
};

struct StoreStats {
  std::size_t records = 0, unsynced = 0, conflicts = 0, rejected = 0, batches_in_flight = 0;
};

// A batch ready to send. `request` is the exact body to POST; a retry sends it unchanged.
struct OutboxBatch {
  std::string batch_id;
  std::string request;
  std::vector<sync::Dot> dots;  // the edits in it, in order
  bool formed_before = false;   // formed by an earlier call: it may have reached the server already
};

// Bounds of a new push batch (next_batch). It holds up to `max_edits` queued edits; with `max_bytes` > 0
// it stops before the edit that would take its request past `max_bytes`, once it holds `min_edits`; but
// when every edit it could hold (up to `max_edits`) fits in `rest_bytes`, it takes them all, so that a
// short remainder does not cost a request of its own.
struct BatchLimits {
  std::size_t max_edits = 200;
  std::size_t max_bytes = 0;   // of the request's JSON; 0 = no byte bound
  std::size_t min_edits = 1;
  std::size_t rest_bytes = 0;  // 0 = none
};

// What a sync measured of the link to a server (clients/sync_client.hpp, SyncOptions::link_memory):
// JSON bytes per second each way (0 = never measured), each with the time it was measured (ms since the
// Unix epoch, the device's clock).
struct LinkRates {
  std::int64_t push_bytes_per_s = 0, push_at_ms = 0;
  std::int64_t pull_bytes_per_s = 0, pull_at_ms = 0;
};

struct AckResult {
  // Outcomes per DESIGN §3; `concurrent` also counts outcomes this version does not know (a merge).
  std::size_t applied = 0, concurrent = 0, superseded = 0, duplicate = 0;
  std::vector<RejectedEdit> rejected;
  bool epoch_changed = false;   // the answer came from a new server epoch: acked edits were re-queued
};

// How long the device keeps its own edits after the server's feed covered them (counted from the next
// sync): a server restored from a backup younger than this gets every one of them back (DESIGN §5).
inline constexpr std::int64_t kPushedRetentionMs = 90LL * 24 * 3600 * 1000;

// Not thread-safe: one TabletStore per thread (several processes may share the file: SQLite locks it).
// Every mutation is one SQLite transaction (WAL, synchronous=FULL), committed before the call returns:
// a save that returned OK survives a crash. Besides the codes listed per call, any call may fail with
// kBusy, kIOError or kCorruption from SQLite; a failed mutation changes nothing.
class TabletStore {
 public:
  // Opens or creates the database at `path` and applies migrations. kIOError when it cannot be opened,
  // kCorruption when it was written by a newer version. `durable` false (synchronous=NORMAL: a commit
  // survives a crash of the process, not of the machine) is for simulators running thousands of tablets.
  static Result<std::unique_ptr<TabletStore>> open(const std::string& path, bool durable = true);
  ~TabletStore();
  TabletStore(const TabletStore&) = delete;
  TabletStore& operator=(const TabletStore&) = delete;

  // Makes this database a device. kConflict when it already is one; kInvalidArgument for an actor that
  // is not a UUID or an empty server/token. `install_nonce` (random) makes batch ids unique to it.
  Status init(const DeviceConfig& config, std::uint64_t install_nonce, std::int64_t now_ms);
  // The device row. kNotFound before init().
  Result<DeviceInfo> device();
  // Replaces the device's bearer token (a re-enrolment of the same actor, SECURITY.md §3.1).
  Status set_token(const std::string& token);
  // The device's TLS trust (kept at init). kNotFound before init().
  Status set_tls_trust(const TlsTrust& trust);
  Result<TlsTrust> tls_trust();

  // Local edits. Each stamps the next dot and persists it with the edit in one transaction.
  // create(): a new record with a UUIDv7 id from `now_ms` and `random`; returns the id.
  //   REQUIRES: body is a canonical JSON object text; every string is valid UTF-8.
  //   kInvalidArgument for an empty form or scope.
  Result<std::string> create(const NewRecord& record, std::int64_t now_ms, const std::array<std::uint8_t, 10>& random);
  // edit(): a new body for `record_id`; its context is the clock of the version holding the device's
  // latest edit (DESIGN §2). kNotFound for an unknown record, kInvalidArgument when it is deleted.
  Result<sync::Dot> edit(const std::string& record_id, const std::string& body, const std::vector<std::string>& changed,
                         std::int64_t now_ms);
  // remove(): a deletion (tombstone) edit, as edit().
  Result<sync::Dot> remove(const std::string& record_id, std::int64_t now_ms);

  // Reads. record(): nullopt when unknown, kInvalidArgument for an id that is not a UUID.
  // record_ids(): every record, ordered by id (creation time). rejected(): oldest first.
  Result<std::optional<LocalRecord>> record(const std::string& record_id);
  Result<std::vector<std::string>> record_ids();
  Result<StoreStats> stats();
  // The edits not yet acknowledged (stats().unsynced alone: one count, no conflicts scan).
  Result<std::size_t> unsynced();
  Result<std::vector<RejectedEdit>> rejected();

  // Push side. next_batch(): the oldest batch sent but not acknowledged (unchanged), else a new batch
  // of up to `max_edits` queued edits; nullopt when nothing is left to push.
  Result<std::optional<OutboxBatch>> next_batch(std::size_t max_edits);
  // The same within `limits` (a batch sent before goes again unchanged, whatever its size).
  Result<std::optional<OutboxBatch>> next_batch(const BatchLimits& limits);
  // Records a 200 answer: every edit is acknowledged; rejected ones move to the rejected list.
  // kCorruption when the answer does not match the batch (nothing is recorded then).
  Result<AckResult> acknowledge(const OutboxBatch& batch, const sync::PushResponse& response);
  // The server refused the whole batch (400/413: nothing of it was applied). A single edit moves to the
  // rejected list with `code`; a larger batch is dissolved and its edits re-sent one per batch.
  Status fail_batch(const OutboxBatch& batch, const std::string& code, const std::string& detail);

  // Pull side. Applies one page of the feed and saves `next` as the cursor, in one transaction: each
  // record's server versions are replaced by the page's; the device's own unacknowledged edits stay,
  // acknowledged ones are dropped once a live version covers them. An out-of-scope marker drops the
  // record's server versions and acknowledged edits; its unacknowledged edits stay, to be pushed (and
  // rejected `out_of_scope`, so they end in rejected()). An `epoch` other than the stored one resets
  // first (see reset_epoch). With `complete` (the last page), records still marked by a reset and
  // absent from the feed are dropped the same way. Returns the number of entries applied.
  // The body this device holds for version `dot` of `record_id` (a pulled version, or one of its own
  // edits), for a feed that left the body out because this device wrote it (PROTOCOL §5.1); nullopt
  // when it holds none. kInvalidArgument for an id that is not a UUID.
  Result<std::optional<std::string>> local_body(const std::string& record_id, const sync::Dot& dot);
  //
  // `own_left_out`: the page was asked with skip_own (PROTOCOL §5.1), so the feed left out every record
  // whose one live version is this device's edit exactly as pushed. With `complete` too (the pull's last
  // page), each record still holding acknowledged edits not shown by a feed version takes its latest
  // acknowledged edit as its server version (the acknowledged edits move to `pushed` as if covered), with
  // the feed position its push answer gave, and no conflict flags. Not done on a page that reset the epoch.
  Result<std::size_t> apply_changes(const std::vector<sync::RecordState>& changes, const std::string& next,
                                    const std::string& epoch, bool complete, bool own_left_out = false);
  // Whether records wait to be shown again after a reset (epoch or scope): a pull then asks without
  // skip_own, since `complete` drops the records the feed does not show.
  Result<bool> resync_pending();
  // What the server at `url` said it takes as request bodies: true after an answer advertised zstd
  // (`Accept-Encoding`, PROTOCOL §1), false after a 415 to a zstd body; false for a server never heard.
  Result<bool> server_takes_zstd(const std::string& url);
  Status set_server_takes_zstd(const std::string& url, bool takes);
  // What the last syncs measured of the link to the server at `url` (zeros for a server never measured).
  Result<LinkRates> link_rates(const std::string& url);
  Status set_link_rates(const std::string& url, const LinkRates& rates);
  // The server has a new epoch (restored from backup): clears the cursor, re-queues every edit not
  // acknowledged under `epoch` ("" = unknown: all of them), dissolves batches, marks records to resync.
  // With the stored epoch it is the reset of a scope change: nothing is re-queued.
  // Edits the device keeps after the feed covered them are re-queued the same way (kPushedRetentionMs).
  Status reset_epoch(const std::string& epoch);
  // Records the sync time and drops kept edits older than kPushedRetentionMs.
  Status mark_synced(std::int64_t now_ms);

 private:
  explicit TabletStore(std::unique_ptr<Db> db);
  // REQUIRES: a transaction is open.
  Status reset_locked(const std::string& epoch);
  Result<sync::Dot> add_edit(const std::string& record_id, const std::string& body,
                             const std::vector<std::string>& changed, bool deleted, std::int64_t now_ms);
  std::unique_ptr<Db> db_;
};

// Internal to tablet_store.cpp and tablet_outbox.cpp: record ids are stored as 16-byte blobs.
namespace detail {
std::string blob_text(std::string_view blob);
Result<sync::UuidBytes> parse_id(const std::string& id);  // kInvalidArgument when not a UUID
void bind_id(Stmt& s, int index, const sync::UuidBytes& id);
}  // namespace detail

}  // namespace akt::store

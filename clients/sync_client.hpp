// One tablet's sync round (DESIGN §3, §5): push the outbox in stable batches, then pull the change feed
// until it is drained, applying each page with its cursor in one local transaction. Retries network
// failures and 5xx answers with the same batch, with capped exponential backoff and jitter.
// The transport and the sleep are injected, so tests can drop answers and run without waiting.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "clients/http_client.hpp"
#include "schema/store/tablet_store.hpp"
#include "sync/status.hpp"

namespace akt::client {

using Headers = std::vector<std::pair<std::string, std::string>>;
// Sends one request; a non-OK Status means the answer never arrived (connection refused, reset, timeout).
using Transport = std::function<Result<HttpResult>(const std::string& method, const std::string& target,
                                                   const std::string& body, const Headers& headers)>;

// A Transport over `client`, which must outlive it.
Transport http_transport(HttpClient& client);

struct SyncSummary;

struct SyncOptions {
  std::size_t batch_edits = 200;   // edits per pushed batch
  std::size_t pull_limit = 500;    // records per feed page
  // Bytes per feed page (the server's JSON before gzip; the page ends after the record crossing it, and
  // holds one at least): pages that a slow link moves in a few seconds. 0 = no bound.
  std::size_t pull_max_bytes = 256 * 1024;
  // The compact feed (PROTOCOL §5.1): no `parents` or `changed`, and no body of this device's own
  // versions while it holds them (it checks the server's body_hash against its copy). false = the feed as
  // servers before it sent it, for servers that do not know these parameters.
  bool compact_feed = true;
  // The compact level asked: 2 = also no members at their defaults (the lean feed); a server that
  // answers 400 invalid_compact to it is asked with 1 from then on.
  int compact_level = 2;
  // With the compact feed: ask the server to leave out the records whose one live version is this
  // device's own edit exactly as pushed (PROTOCOL §5.1, skip_own; servers before it ignore it).
  bool skip_own = true;
  // Requests sized by link time: when > 0, each push batch and feed page after the first is sized to
  // take about this long at the throughput the previous one measured (JSON bytes before gzip per
  // second, round trip included; only requests answered at the first attempt count). Batches stay
  // within [min_batch_edits, max_batch_edits] and max_batch_bytes; pages ask for up to max_pull_limit
  // records and max_pull_bytes. The first batch has batch_edits edits, the first page pull_max_bytes,
  // unless an earlier sync measured the link (link_memory). A batch takes every edit left when they fit
  // in batch_rest times its size (and max_batch_bytes): a short remainder costs no round trip of its own.
  // 0 = the fixed batch_edits, pull_limit and pull_max_bytes.
  std::chrono::milliseconds target_request_time{0};
  std::size_t min_batch_edits = 20, max_batch_edits = 1000;  // 1000: the server's default limit
  // 4 MiB: 1,000 survey records of 2.5 KB fit in one batch; the server takes 8 MiB as sent (the client
  // compresses: ~0.1 MiB) and 32 MiB decoded (PROTOCOL §2, 413).
  std::size_t max_batch_bytes = 4 * 1024 * 1024;
  double batch_rest = 1.5;
  // With target_request_time: sync() keeps the throughput it measured each way in the tablet store, per
  // server URL with the time (TabletStore::link_rates), and a later sync sizes its first batch and first
  // page from it, within the bounds above, when it is at most this old by the `now_ms` given to sync():
  // a tablet syncs from the same places most days, and one that moved (office Wi-Fi, then the field)
  // finds out at its first request, which the bounds keep short of a cut's period. A rate is measured
  // with the round trip taken out: the run's quickest request (its empty last page, most often) is the
  // round trip, and a request counts when at least a quarter of its time went to moving bytes.
  // 0 = neither recall nor keep.
  std::chrono::hours link_memory{72};
  // Told before each push batch is sent the push throughput this sync expects (JSON bytes per second:
  // the last batch's, else the rate recalled; 0 = unknown), for a transport that codes uploads by the
  // link's speed: [&http](double r) { http.set_upload_rate(r); }. Empty: none.
  std::function<void(double json_bytes_per_s)> upload_rate;
  std::size_t max_pull_limit = 5000, min_pull_bytes = 32 * 1024, max_pull_bytes = 8 * 1024 * 1024;
  // The time source for those measurements; default std::chrono::steady_clock::now.
  std::function<std::chrono::steady_clock::time_point()> clock;
  // After a transport failure: the part of a 200 answer's body that arrived (decompressed), or empty.
  // With it, a feed page cut in transit resumes after its last record received whole, not from its start
  // (for an HttpClient: [&http] { return http.partial_answer(); }).
  std::function<std::string()> partial_answer;
  // A request that fails on the network (or 5xx, 429) is retried with backoff for as long as its
  // failures last less than `retry_for` (the time waited between attempts counts even when `sleep` does
  // not really wait), and at most max_attempts times in all when max_attempts > 0. Any success starts
  // the budget afresh for the next request. Errors that retrying cannot fix (a certificate that is not
  // trusted or not valid at the device's clock, TLS spoken to a plain-HTTP port) end the round at once.
  int max_attempts = 0;            // per request, counting the first; 0 = only the time budget limits
  std::chrono::milliseconds retry_for{std::chrono::minutes(10)};
  std::chrono::milliseconds backoff_initial{250};
  std::chrono::milliseconds backoff_max{8000};
  std::uint64_t jitter_seed = 0;   // randomness for backoff jitter (the caller's RNG)
  // Waits between attempts; default std::this_thread::sleep_for.
  std::function<void(std::chrono::milliseconds)> sleep;
  // Called after each acknowledged batch and each applied feed page, with the round's totals so far.
  std::function<void(const SyncSummary&)> on_progress;
  // Called at each step of the round (batch formed, request sent, answer in, acknowledged, page
  // applied), for a benchmark's timeline. Empty: none.
  std::function<void(const std::string& event)> trace{};
};

struct SyncSummary {
  std::size_t pushed = 0;       // edits acknowledged by the server
  std::size_t applied = 0, concurrent = 0, superseded = 0, duplicate = 0, rejected = 0;  // their outcomes
  std::size_t pulled = 0;       // record states applied from the feed
  std::size_t conflicts = 0;    // local records in conflict after the round
  std::size_t unsynced = 0;     // edits still waiting (0 after a successful round)
  bool epoch_reset = false;     // the server had a new epoch: the cursor was reset and edits re-pushed
  bool scope_reset = false;     // the user's scope changed: the feed was pulled again from the start
  std::vector<store::RejectedEdit> rejections;  // edits rejected in this round, with the server's reason
  std::size_t batches = 0, pages = 0;  // push batches acknowledged, feed pages applied
  std::size_t retries = 0;             // requests sent again after a failure
  std::size_t resumed = 0;             // cut feed pages resumed after their last whole record
  std::size_t answers_fetched = 0;     // lost push answers fetched (GET /v1/push/{id}) instead of re-sent
  std::size_t bodies_fetched = 0;      // records fetched whole because an own body could not be matched
  std::size_t pages_asked_whole = 0;   // feed pages asked again with echo: too many own bodies unmatched
  std::size_t next_batch_edits = 0;    // the size the next push batch would have (0: not measured yet)
  std::size_t next_pull_bytes = 0;     // the max_bytes the next feed page would ask (0: not measured yet)
  // The link rates (JSON bytes/s each way, round trip taken out) an earlier sync measured and this one
  // started from, and those this one measured and kept (0: none; see SyncOptions::link_memory).
  std::size_t recalled_push_rate = 0, recalled_pull_rate = 0;
  std::size_t measured_push_rate = 0, measured_pull_rate = 0;
};

// The server's advertisement of zstd request bodies (PROTOCOL §1), kept in the tablet store per server
// URL: recall before a run's first request (its first upload then goes zstd to a server that said so in an
// earlier run), remember after the run (also a failed one): what the run's answers said, or false after a
// 415 to a zstd body; unchanged when no answer came.
Status recall_upload_coding(store::TabletStore& store, const std::string& url, HttpClient& http);
Status remember_upload_coding(store::TabletStore& store, const std::string& url, const HttpClient& http);

// `store` must outlive the SyncClient. Not thread-safe.
class SyncClient {
 public:
  SyncClient(store::TabletStore& store, Transport transport, SyncOptions options = {});

  // Pushes, then pulls until `more` is false; on 410 epoch_changed resets, re-pushes and pulls from the
  // start; on 410 scope_changed pulls from the start (records no longer in scope are dropped, PROTOCOL
  // §5.4), pushing again only what was never acknowledged. Out-of-scope markers drop the record (§5.1). `now_ms` is recorded as the last sync time. Errors (the round stops; everything done so far is
  // durable and the next round continues from there):
  //   kIOError          server unreachable or failing (5xx) for longer than retry_for (or max_attempts)
  //   kInvalidArgument  the link cannot work as configured (certificate not trusted, not valid at this
  //                     device's clock, TLS against plain HTTP): not retried; the message says what to do
  //   kUnauthenticated  401: the device token was rejected
  //   kForbidden        403
  //   kConflict         409 batch_id_reused: this database was restored or cloned (use a new actor)
  //   kCorruption       an answer that does not fit the protocol, or a local store failure
  //   kNotFound         the database is not initialised as a device
  Result<SyncSummary> sync(std::int64_t now_ms);
  // What the last sync() did, also when it failed: everything counted here is durable.
  const SyncSummary& summary() const { return summary_; }

  // The two halves, for callers that want them separately (e.g. pull only on a metered link).
  Status push(SyncSummary& summary);
  Status pull(SyncSummary& summary);  // kGone after an epoch or scope reset: push again, then pull again

 private:
  Status load_device();
  // sync() after its set-up: push, pull, again after a reset.
  Status run_round(std::int64_t now_ms);
  // Sends with retries; returns the last answer (any status) or the transport failure.
  // Before each new attempt `before_retry` (when set) may change the request (resume after what arrived).
  using Retarget = std::function<Status(std::string& method, std::string& target, std::string& body)>;
  Result<HttpResult> send(std::string method, std::string target, std::string body,
                          const Retarget& before_retry = {});
  // Fills in the bodies a compact feed left out (this device's own versions) from the local store, or
  // fetches the record whole when the local copy is missing or differs from the server's. With
  // `may_ask_whole`, when many records would need fetching (more than 16, or more than 2 and over half
  // of those with hashes: a tablet that lost its copies, or a server that stored many of its edits
  // otherwise) it changes nothing and returns false: the page is better asked again with echo.
  Result<bool> resolve_own_bodies(nlohmann::json& changes, SyncSummary& s, bool may_ask_whole = false);
  // Applies the entries received whole of a cut page (cursor unchanged) and returns the seq to resume
  // after, or `after` unchanged when none arrived whole.
  Result<std::int64_t> keep_whole_entries(const std::string& cursor, std::int64_t after, SyncSummary& s);
  Status http_error(const HttpResult& r, const std::string& what) const;
  std::chrono::milliseconds backoff(int attempt);
  // The size of the next request from the last one's: `bytes` moved in `elapsed` (see target_request_time).
  std::size_t sized_for_link(std::size_t bytes, std::chrono::steady_clock::duration elapsed) const;
  // Sizes the first batch and page from the rates an earlier sync kept, and keeps this sync's (link_memory).
  void recall_link(std::int64_t now_ms);
  void remember_link(std::int64_t now_ms);
  void sample(bool push, std::size_t bytes, std::chrono::steady_clock::duration elapsed);

  store::TabletStore& store_;
  Transport transport_;
  SyncOptions options_;
  std::string token_;
  std::string server_;
  std::uint64_t jitter_state_;
  SyncSummary summary_;
  std::size_t batch_bytes_ = 0;  // the next push batch's JSON bytes (0: options_.batch_edits edits)
  std::size_t pull_bytes_ = 0;   // the next feed page's max_bytes (0: options_.pull_max_bytes)
  double push_rate_ = 0;         // the push throughput expected (JSON bytes/s; 0: unknown)
  // This sync's requests answered at their first attempt: JSON bytes moved and time taken.
  struct Sample {
    bool push;
    std::size_t bytes;
    std::chrono::steady_clock::duration elapsed;
  };
  std::vector<Sample> samples_;
};

// The `code` and `detail` of a problem+json body (empty when it is not one).
std::pair<std::string, std::string> problem_of(const std::string& body);

}  // namespace akt::client

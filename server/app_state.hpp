// What every request handler shares: immutable config plus internally synchronized services.
// Nothing here needs a strand: the store, auth and notifier are thread-safe, the rest is read-only.
#pragma once

#include <array>
#include <atomic>
#include <climits>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "schema/store/blob_store.hpp"
#include "schema/store/sync_store.hpp"
#include "server/auth.hpp"
#include "server/change_notifier.hpp"
#include "server/config.hpp"
#include "server/form_registry.hpp"
#include "server/metrics.hpp"
#include "server/rate_limiter.hpp"

namespace akt::server {

// The server's wall clock in ms since the epoch. Tests move it (shift, freeze) while the server's threads
// read it, so its state is two atomics, never a replaceable function object (that would be a data race).
class ServerClock {
 public:
  std::int64_t operator()() const;
  void shift(std::int64_t offset_ms) { offset_ms_.store(offset_ms); }     // real time + offset
  void freeze_at(std::int64_t at_ms) { frozen_ms_.store(at_ms); }         // always `at_ms`
  void reset() { frozen_ms_.store(kNotFrozen); offset_ms_.store(0); }   // real time again

 private:
  static constexpr std::int64_t kNotFrozen = INT64_MIN;
  std::atomic<std::int64_t> offset_ms_{0};
  std::atomic<std::int64_t> frozen_ms_{kNotFrozen};
};

struct AppState {
  Config config;
  std::unique_ptr<store::SyncStore> store;  // the engine config.store names; handlers never ask which
  Authenticator auth;
  ChangeNotifier notifier;
  FormRegistry forms;              // published form versions, parsed
  RateLimiter request_limiter;     // per token
  RateLimiter login_user_limiter;  // failed logins per username
  RateLimiter login_addr_limiter;  // failed logins and enrolments per client address
  std::string pseudonym_key;              // raw secret bytes of the M&E pseudonyms (never sent, never logged)
  ServerClock now_ms;                    // server wall clock in ms; tests shift or freeze it
  std::atomic<bool> stopping{false};     // set on SIGTERM: finish in-flight work, take no new
  std::unique_ptr<store::BlobStore> blobs;  // attachment files of the store's engine (PROTOCOL §14); thread-safe per upload
  std::array<std::mutex, 64> upload_locks;  // one upload's appends run one at a time (by hash of its id)
  std::atomic<std::int64_t> last_blob_gc_ms{0};  // when unreferenced attachment files were last collected
  Metrics metrics;                          // GET /metrics: request counters and scrape-time gauges

  AppState(Config c, std::unique_ptr<store::SyncStore> s)
      : config(std::move(c)),
        store(std::move(s)),
        auth(config.devices),
        request_limiter(config.limits.requests_per_minute, config.limits.request_burst),
        login_user_limiter(config.limits.login_attempts_per_15min / 15.0, config.limits.login_attempts_per_15min),
        login_addr_limiter(config.limits.login_attempts_per_15min * 4 / 15.0, config.limits.login_attempts_per_15min * 4) {}
};

// Opens the store config.store names (SQLite under config.data_dir, or PostgreSQL at config.store.url)
// and its attachment files (the data folder's, or the database's), loads (or at first start makes) the
// pseudonym key and wires
// the notifier to its commits.
Result<std::shared_ptr<AppState>> make_app_state(Config config);

// The pseudonym key (docs/SECURITY.md §8): read from config.pseudonym_key_path(), a text file of at least
// 32 hex digits that no group or other user may access. When the file does not exist it is made with
// 256 random bits (mode 0600). Returns the raw key bytes.
Result<std::string> load_or_create_pseudonym_key(const Config& config);
// The check value of a pseudonym key kept in the database's `meta` (key "pseudonym_key_check"): the
// pseudonym of a fixed text under that key, which tells whether two keys are the same and reveals nothing
// of them (SECURITY.md §8).
std::string pseudonym_key_check(std::string_view key);
// Compares `key` with the check value the database holds: a database that has none (first start, or one
// made before the check) takes this key's; another value is kFailedPrecondition, naming `path` and what
// to do. Every server of a database must use the same key (STORE.md §12), and a data folder restored or
// moved without its key file would otherwise change every pseudonym silently.
Status check_pseudonym_key(store::SyncStore& store, std::string_view key, const std::string& path);
// Replaces the key with 256 new random bits (written to a temporary file with mode 0600, then renamed
// over the old one). Every pseudonym changes; a running server keeps its key until it restarts.
Status rotate_pseudonym_key(const Config& config);

}  // namespace akt::server

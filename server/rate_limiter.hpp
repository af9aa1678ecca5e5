// Token buckets keyed by a string (a token hash, a username, a client address). Thread-safe. In memory,
// or shared by every server of the database when the store's engine keeps shared buckets
// (share_through: the failed-login throttles, docs/STORE.md §12).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace akt::store {
class SyncStore;
}

namespace akt::server {

class RateLimiter {
 public:
  // `per_minute` refill rate, `burst` bucket size. per_minute == 0 disables limiting.
  RateLimiter(double per_minute, double burst) : per_minute_(per_minute), burst_(burst) {}
  // Takes one token for `key`. Returns 0 when allowed, else the seconds to wait (for Retry-After).
  std::int64_t acquire(const std::string& key, std::chrono::steady_clock::time_point now);
  // Peeks without taking: seconds to wait, 0 when a token is available.
  std::int64_t wait_seconds(const std::string& key, std::chrono::steady_clock::time_point now);
  // Keys must be valid UTF-8 text when shared (hex for hashes). From now on, counts in `store`'s shared buckets (SyncStore::shared_bucket, keys prefixed by `scope`)
  // when its engine keeps them; else, and for a call the database fails, in memory as before.
  void share_through(store::SyncStore* shared_store, std::string scope) {
    store_ = shared_store;
    scope_ = std::move(scope);
  }

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point at;
  };
  void refill(Bucket& b, std::chrono::steady_clock::time_point now) const;
  // The shared bucket's answer, or nullopt: count in memory.
  std::optional<std::int64_t> shared(const std::string& key, bool take);
  double per_minute_, burst_;
  store::SyncStore* store_ = nullptr;
  std::string scope_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
  std::chrono::steady_clock::time_point last_warned_{};  // the last "shared bucket unavailable" warning
};

}  // namespace akt::server

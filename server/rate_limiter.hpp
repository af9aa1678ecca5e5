// Token buckets keyed by a string (a token hash, a username, a client address). Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace akt::server {

class RateLimiter {
 public:
  // `per_minute` refill rate, `burst` bucket size. per_minute == 0 disables limiting.
  RateLimiter(double per_minute, double burst) : per_minute_(per_minute), burst_(burst) {}
  // Takes one token for `key`. Returns 0 when allowed, else the seconds to wait (for Retry-After).
  std::int64_t acquire(const std::string& key, std::chrono::steady_clock::time_point now);
  // Peeks without taking: seconds to wait, 0 when a token is available.
  std::int64_t wait_seconds(const std::string& key, std::chrono::steady_clock::time_point now);

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point at;
  };
  void refill(Bucket& b, std::chrono::steady_clock::time_point now) const;
  double per_minute_, burst_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace akt::server

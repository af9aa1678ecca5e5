#include "server/rate_limiter.hpp"

#include "schema/store/sync_store.hpp"
#include "server/log.hpp"

#include <algorithm>
#include <cmath>

namespace akt::server {

void RateLimiter::refill(Bucket& b, std::chrono::steady_clock::time_point now) const {
  const double elapsed = std::chrono::duration<double>(now - b.at).count();
  b.tokens = std::min(burst_, b.tokens + elapsed * per_minute_ / 60.0);
  b.at = now;
}

std::optional<std::int64_t> RateLimiter::shared(const std::string& key, bool take) {
  if (!store_) return std::nullopt;
  auto r = store_->shared_bucket(scope_ + key, per_minute_, burst_, take);
  if (!r.ok()) {
    // The database failed: this server's own count still limits. Said at most once a minute.
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mu_);
    if (now - last_warned_ > std::chrono::minutes(1)) {
      last_warned_ = now;
      log(LogLevel::kWarn, "shared rate limit bucket unavailable, counting on this server only: " + r.status().message());
    }
    return std::nullopt;
  }
  return *r;
}

std::int64_t RateLimiter::acquire(const std::string& key, std::chrono::steady_clock::time_point now) {
  if (per_minute_ <= 0) return 0;
  if (auto s = shared(key, true)) return *s;
  std::lock_guard lock(mu_);
  if (buckets_.size() > 100000) buckets_.clear();  // bounded memory under a flood of distinct keys
  auto [it, inserted] = buckets_.try_emplace(key, Bucket{burst_, now});
  Bucket& b = it->second;
  refill(b, now);
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil((1.0 - b.tokens) * 60.0 / per_minute_)));
}

std::int64_t RateLimiter::wait_seconds(const std::string& key, std::chrono::steady_clock::time_point now) {
  if (per_minute_ <= 0) return 0;
  if (auto s = shared(key, false)) return *s;
  std::lock_guard lock(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) return 0;
  refill(it->second, now);
  if (it->second.tokens >= 1.0) return 0;
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil((1.0 - it->second.tokens) * 60.0 / per_minute_)));
}

}  // namespace akt::server

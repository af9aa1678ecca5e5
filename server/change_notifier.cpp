#include "server/change_notifier.hpp"

#include <vector>

namespace akt::server {

std::uint64_t ChangeNotifier::wait(std::int64_t since, std::int64_t current, Callback cb) {
  std::unique_lock lock(mu_);
  const std::uint64_t id = next_id_++;
  if (current > since) {
    lock.unlock();
    cb();
    return id;
  }
  waiters_.emplace(id, Waiter{since, std::move(cb)});
  return id;
}

bool ChangeNotifier::cancel(std::uint64_t id) {
  std::lock_guard lock(mu_);
  return waiters_.erase(id) > 0;
}

void ChangeNotifier::notify(std::int64_t last_seq) {
  std::vector<Callback> ready;
  {
    std::lock_guard lock(mu_);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->second.since < last_seq) {
        ready.push_back(std::move(it->second.cb));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& cb : ready) cb();
}

void ChangeNotifier::notify_all() {
  std::map<std::uint64_t, Waiter> all;
  {
    std::lock_guard lock(mu_);
    all.swap(waiters_);
  }
  for (auto& [id, w] : all) w.cb();
}

std::size_t ChangeNotifier::waiting() {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

}  // namespace akt::server

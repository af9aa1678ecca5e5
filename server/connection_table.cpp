#include "server/connection_table.hpp"

#include <vector>

namespace akt::server {

std::optional<std::uint64_t> ConnectionTable::admit(const std::string& address) {
  std::vector<std::function<void()>> closers;
  std::optional<std::uint64_t> id;
  {
    std::lock_guard lock(mu_);
    auto make_room = [&](const std::string* of) {
      auto c = evict_oldest_locked(of);
      if (!c) return false;
      closers.push_back(std::move(*c));
      return true;
    };
    bool ok = true;
    if (per_address_ > 0) {
      auto it = per_address_count_.find(address);
      if (it != per_address_count_.end() && it->second >= per_address_) ok = make_room(&address);
    }
    if (ok && (unauthenticated_ >= max_total_ - reserved_ || entries_.size() >= max_total_)) ok = make_room(nullptr);
    if (ok) {
      id = next_id_++;
      Entry e;
      e.address = address;
      entries_.emplace(*id, std::move(e));
      silent_.insert(*id);
      silent_by_address_[address].insert(*id);
      ++per_address_count_[address];
      ++unauthenticated_;
    }
  }
  for (auto& c : closers)
    if (c) c();
  return id;
}

bool ConnectionTable::attach(std::uint64_t id, std::function<void()> closer) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return false;
  it->second.closer = std::move(closer);
  return true;
}

void ConnectionTable::set_silent_locked(std::uint64_t id, Entry& e, bool silent) {
  if (e.silent == silent) return;
  e.silent = silent;
  if (silent) {
    silent_.insert(id);
    silent_by_address_[e.address].insert(id);
  } else {
    silent_.erase(id);
    auto a = silent_by_address_.find(e.address);
    if (a != silent_by_address_.end()) {
      a->second.erase(id);
      if (a->second.empty()) silent_by_address_.erase(a);
    }
  }
}

void ConnectionTable::set_waiting(std::uint64_t id, bool waiting) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.authenticated) return;
  set_silent_locked(id, it->second, waiting);
}

void ConnectionTable::set_authenticated(std::uint64_t id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.authenticated) return;
  set_silent_locked(id, it->second, false);
  it->second.authenticated = true;
  --unauthenticated_;
}

void ConnectionTable::remove_locked(std::map<std::uint64_t, Entry>::iterator it) {
  set_silent_locked(it->first, it->second, false);
  if (!it->second.authenticated) --unauthenticated_;
  auto c = per_address_count_.find(it->second.address);
  if (c != per_address_count_.end() && --c->second == 0) per_address_count_.erase(c);
  entries_.erase(it);
}

void ConnectionTable::release(std::uint64_t id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it != entries_.end()) remove_locked(it);
}

std::optional<std::function<void()>> ConnectionTable::evict_oldest_locked(const std::string* address) {
  std::uint64_t victim = 0;
  if (address) {
    auto a = silent_by_address_.find(*address);
    if (a == silent_by_address_.end() || a->second.empty()) return std::nullopt;
    victim = *a->second.begin();
  } else {
    if (silent_.empty()) return std::nullopt;
    victim = *silent_.begin();
  }
  auto it = entries_.find(victim);
  std::function<void()> closer = std::move(it->second.closer);
  remove_locked(it);
  ++evictions_;
  return closer;
}

std::size_t ConnectionTable::total() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

std::size_t ConnectionTable::evictions() const {
  std::lock_guard lock(mu_);
  return evictions_;
}

}  // namespace akt::server

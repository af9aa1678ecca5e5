// Wakes long-polling pulls when the change feed moves. Thread-safe; callbacks run on the notifying
// thread and must only post work elsewhere (sessions post to their own strand).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

namespace akt::server {

class ChangeNotifier {
 public:
  using Callback = std::function<void()>;
  // Registers a one-shot callback, run once the feed passes `since` (at once if it already has,
  // per `current`). Returns an id for cancel().
  std::uint64_t wait(std::int64_t since, std::int64_t current, Callback cb);
  // Removes a waiter; false when it already fired.
  bool cancel(std::uint64_t id);
  // Fires every waiter whose `since` is below `last_seq`.
  void notify(std::int64_t last_seq);
  // Fires every waiter (shutdown).
  void notify_all();
  // Waiters registered and not yet fired (tests wait on it to order a push after a waiting pull).
  std::size_t waiting();

 private:
  struct Waiter {
    std::int64_t since;
    Callback cb;
  };
  std::mutex mu_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, Waiter> waiters_;
};

}  // namespace akt::server

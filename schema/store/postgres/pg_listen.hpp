// The feed's wake-ups across servers on one PostgreSQL database (docs/STORE.md §10): a commit that moves
// the feed sends NOTIFY on kFeedChannel with the new feed head (inside its transaction, so PostgreSQL
// delivers it only once committed), and every PgStore that listens keeps one connection of its own, on a
// thread of its own, in LISTEN. Each head it hears, or reads, goes to `on_head`, which raises the store's
// last_seq and wakes the long polls as a commit of this process does.
// While that connection is down (PostgreSQL restarting, the backend terminated, the network) no
// notification can arrive: the thread reads the feed head through `read_head` (the store's pool) every
// `fallback_interval` and tries to connect again at the same pace; once listening again it reads the head
// once more on its own connection, so a commit made while nobody listened wakes the polls all the same.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "sync/status.hpp"

namespace akt::store::pg {

inline constexpr const char* kFeedChannel = "aktsync_feed";

struct ListenerOptions {
  std::string url;
  std::function<void(std::int64_t head)> on_head;       // any thread-safe sink; called on the listener thread
  std::function<Result<std::int64_t>()> read_head;      // the committed feed head, read another way
  std::function<void(const std::string& event)> on_event;  // "listening", "lost: why" (for the log); may be null
  std::chrono::milliseconds fallback_interval{1000};
  // With the connection up and silent this long, the head is read on it: a health check of a link that
  // died without a word (no FIN), and a safety net.
  std::chrono::milliseconds idle_check{10000};
};

class FeedListener {
 public:
  // Starts the thread; it connects in the background (a database that cannot be reached yet is the
  // fallback's case, not an error).
  explicit FeedListener(ListenerOptions options);
  ~FeedListener();  // stop()s
  FeedListener(const FeedListener&) = delete;
  FeedListener& operator=(const FeedListener&) = delete;
  void stop();

  // For tests and metrics: whether the LISTEN connection is up, its backend's pid (0 when down), how
  // many times it connected, and how many heads it took from notifications.
  bool listening() const { return backend_pid_.load() != 0; }
  int backend_pid() const { return backend_pid_.load(); }
  std::uint64_t connects() const { return connects_.load(); }
  std::uint64_t notifications() const { return notifications_.load(); }

 private:
  void run();
  // Waits for input on `fd` (-1: none) or stop(), at most `d`; true when `fd` is readable.
  bool wait(int fd, std::chrono::milliseconds d);
  ListenerOptions o_;
  int wake_[2] = {-1, -1};  // a pipe: stop() writes to it
  std::atomic<bool> stop_{false};
  std::atomic<int> backend_pid_{0};
  std::atomic<std::uint64_t> connects_{0}, notifications_{0};
  std::thread thread_;
};

}  // namespace akt::store::pg

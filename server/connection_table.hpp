// Who holds the server's connections, against lock-out by connection floods (SECURITY.md §9.1).
// No Asio here: a session hands in a `closer` that the table calls to evict it.
//
// Every connection is admitted on accept and released when its session ends. A connection is
// *silent* while it waits for the first bytes of a request and has never made an authenticated
// request (a bare TCP connect, a TLS handshake in progress, an idle connection that only fetched
// public pages); once an authenticated request was answered on it, it is *authenticated* for good.
// Admission, in this order:
//  1. at most `per_address` connections per client address: beyond, the oldest silent connection of
//     that address is evicted for the new one, or the new one is refused when there is none;
//  2. not-yet-authenticated connections hold at most `max_total - reserved`, and all connections at most
//     `max_total`: beyond either, the oldest silent connection (any address) is evicted, or the new one
//     is refused.
// So a flood of connections that never speak cannot keep a client out: each newcomer displaces the
// oldest silent one, and a client that sends its request at once is no longer silent. Authenticated
// connections (tablets long-polling) are never evicted, and the reserve keeps room for them.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

namespace akt::server {

class ConnectionTable {
 public:
  ConnectionTable(std::size_t max_total, std::size_t per_address, std::size_t reserved)
      : max_total_(max_total), per_address_(per_address), reserved_(reserved < max_total ? reserved : 0) {}

  // On accept: the connection's id, or nullopt when it must be refused. Evicted connections are
  // removed from the table at once and their closers called (outside the lock).
  std::optional<std::uint64_t> admit(const std::string& address);
  // The session's way to close itself from another thread. False when the connection was evicted
  // meanwhile (the session must close at once).
  bool attach(std::uint64_t id, std::function<void()> closer);
  // The connection waits for the first bytes of a request (`silent` true) or is reading/serving one.
  // Ignored once the connection is authenticated.
  void set_waiting(std::uint64_t id, bool waiting);
  // An authenticated request was answered on this connection: never evicted from now on.
  void set_authenticated(std::uint64_t id);
  // The session ended (no effect when it was evicted before).
  void release(std::uint64_t id);

  std::size_t total() const;
  std::size_t evictions() const;

 private:
  struct Entry {
    std::string address;
    std::function<void()> closer;
    bool silent = true;
    bool authenticated = false;
  };
  // Removes the oldest silent connection (of `address` when given); its closer, or nullopt if none.
  std::optional<std::function<void()>> evict_oldest_locked(const std::string* address);
  void remove_locked(std::map<std::uint64_t, Entry>::iterator it);
  void set_silent_locked(std::uint64_t id, Entry& e, bool silent);

  const std::size_t max_total_, per_address_, reserved_;
  mutable std::mutex mu_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, Entry> entries_;
  std::set<std::uint64_t> silent_;                                        // ids, oldest first
  std::unordered_map<std::string, std::set<std::uint64_t>> silent_by_address_;
  std::unordered_map<std::string, std::size_t> per_address_count_;
  std::size_t unauthenticated_ = 0;
  std::size_t evictions_ = 0;
};

}  // namespace akt::server

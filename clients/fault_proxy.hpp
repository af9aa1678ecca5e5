// A fault-injecting HTTP/1.1 proxy on loopback for the fleet simulator and tests: tablets talk to it,
// it talks to aktsyncd. It frames each request and answer (Content-Length or chunked) so that it can act
// per request, and with seeded probabilities it
//   - drops the connection before forwarding the request (drop_before),
//   - forwards it, lets the server commit, then drops before the answer reaches the client (drop_after),
//   - sends only part of the answer, then drops (cut_response),
//   - sends only a random prefix of the request to the server, then drops both sides (cut_request: a
//     link cut in the middle of an upload chunk),
//   - waits a little before forwarding (delay),
//   - forwards a push twice and checks that the second answer is the first one replayed (duplicate),
//   - holds a push back (the client sees a dropped connection on it and on its retries) and delivers it
//     to the server after a later push from another connection (reorder).
// It also emulates a bad link (LinkOptions): a rate limit per direction shared by all connections,
// added one-way delay, stalls in the middle of an answer, a cut of every open connection at a fixed
// period, and a silent mode that accepts connections and reads requests but never answers (from the
// start, or once a given number of requests were served).
// Pure Asio, blocking sockets: one thread accepts, one thread serves each client connection; each
// request goes to the upstream on a fresh connection, so a restarted upstream (set_upstream_port) is
// picked up at once. Not for production: no TLS, no limits beyond sanity checks.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sync/status.hpp"

namespace akt::client {

// A slow, lossy link between the clients and the proxy. All zero: a loopback link.
struct LinkOptions {
  std::uint64_t rate_bytes_per_s = 0;  // each direction, shared by every connection (0 = unlimited)
  int delay_ms = 0;                    // one way: a request reaches the server, an answer starts, this much later
  double stall = 0;                    // probability per answer of a stall of stall_ms in its middle
  int stall_ms = 5000;
  int cut_every_ms = 0;                // every open client connection is cut at each multiple of this (0 = never)
  bool silent = false;                 // accept and read, never answer (set_silent() toggles it later)
  // The link dies midway: after this many requests were read (and served), it turns silent for good,
  // as if set_silent(true) had been called between two requests (0 = never).
  std::size_t silent_after = 0;
  // A request cut off by the link (cut_every_ms) after its header crossed: the bytes that crossed reach
  // the server, and then its connection closes, as on a real link where the server reads a request while
  // it arrives. Off: the proxy forwards whole requests only (the server never sees a cut request).
  bool deliver_cut_requests = false;
};

struct FaultOptions {
  // Probabilities in [0, 1], rolled per request (duplicate and reorder: per push only).
  double drop_before = 0, drop_after = 0, cut_response = 0, delay = 0, duplicate = 0, reorder = 0;
  int max_delay_ms = 20;
  std::uint64_t seed = 1;
  LinkOptions link;  // applies even with set_faults(false): it is the link, not a fault
  // Last, so that positional initialisers of the members above keep their meaning. Rolled only when
  // > 0, so seeded runs without it keep their random sequences.
  double cut_request = 0;
  // Called on the proxy's threads at each step of each request (arrived whole, forwarded, answered
  // upstream, the answer's first and last piece written), for a benchmark's timeline. Empty: none.
  std::function<void(const std::string& event)> trace{};  // {}: positional initialisers may stop before it
};

struct FaultCounts {
  std::size_t requests = 0;        // requests read from clients
  std::size_t drop_before = 0, drop_after = 0, cut_response = 0, delay = 0, duplicate = 0;
  std::size_t reorder = 0;         // pushes held back and later delivered after another push
  std::size_t held_drops = 0;      // retries of a held push dropped while it was held
  std::size_t upstream_errors = 0; // the upstream could not be reached or answered nothing
  std::size_t replay_mismatch = 0; // a duplicated push whose second answer differed (a server bug)
  std::size_t cut_request = 0;     // requests of which only a prefix reached the server
  std::size_t connections = 0;     // client connections accepted
  std::size_t link_cuts = 0;       // client connections cut by the link's periodic cut
  std::size_t stalls = 0;          // answers stalled by the link
  std::uint64_t bytes_up = 0;      // request bytes read from clients
  std::uint64_t bytes_down = 0;    // answer bytes written to clients
  std::size_t upstream_failovers = 0;  // upstream ports that refused a connection, skipped for the next
};

class FaultProxy {
 public:
  // Listens on 127.0.0.1:`listen_port` (0 = any free port) and forwards to 127.0.0.1:`upstream_port`.
  // kIOError when it cannot listen. Faults start enabled.
  static Result<std::unique_ptr<FaultProxy>> start(std::uint16_t upstream_port, const FaultOptions& options,
                                                   std::uint16_t listen_port = 0);
  ~FaultProxy();  // stop()s
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  std::uint16_t port() const;
  void set_upstream_port(std::uint16_t port);
  // Several servers behind the proxy (one database, docs/STORE.md §10): each new upstream connection
  // (one per request) goes to the next port in turn, round robin; a port that refuses the connection is
  // skipped for the next one. Replaces set_upstream_port's port while not empty.
  void set_upstream_ports(std::vector<std::uint16_t> ports);
  // Called on the proxy's thread with the upstream port each time a whole request was written to it,
  // before its answer is read (the simulator SIGKILLs a server there: a request in flight). Empty: none.
  void set_on_forwarded(std::function<void(std::uint16_t port)> hook);
  // With faults off the proxy forwards faithfully. Turning them off first delivers a held push.
  void set_faults(bool on);
  // Silent link: requests are read and never answered (connections stay open until cut or stop()).
  void set_silent(bool on);
  FaultCounts counts() const;
  // Closes the listener and every connection, and joins the threads. Idempotent.
  void stop();

 private:
  struct Impl;
  explicit FaultProxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// HTTP/1.1 framing used by the proxy, exposed for its tests. Given bytes received so far, returns the
// length of the first complete message in `data` (head + body), 0 when more bytes are needed, or -1 when
// the head is malformed. `response`: a message without a length runs to the end of the connection, which
// this reports as -1 too (aktsyncd always frames its answers).
long long http_message_length(const std::string& data, bool response);

}  // namespace akt::client

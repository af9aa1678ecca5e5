// A small synchronous HTTP/1.1 client with keep-alive, for the CLI, the fleet simulator, benchmarks and
// tests. Beast stays inside http_client.cpp. Not thread-safe: one client per thread.
//
// It cannot hang: every step runs as an Asio async operation under a deadline on the client's own
// io_context (resolving an IP address, connecting, the TLS handshake and the wait for the answer to
// start: `timeout`; every write and read once a transfer moves: `stall_timeout`, restarted whenever a
// byte moves), so a silent or stalled link ends the request with kIOError. Name resolution of a host
// name is the system resolver's (getaddrinfo has its own timeouts).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sync/status.hpp"

namespace akt::client {

struct HttpResult {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;                                          // decoded when it came zstd or gzip
  std::string header(const std::string& name) const;
};

struct HttpOptions {
  // Deadline for connecting (TCP and TLS handshake) and for the answer to start once the request was sent.
  // The defaults are generous for tools and tests on a loaded machine (a big export may think a while
  // before its first byte); the field CLI sets 30 s for both (`--timeout-ms`, `--stall-timeout`).
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
  // A transfer (request or answer) during which no byte moved for this long is aborted.
  std::chrono::milliseconds stall_timeout{std::chrono::minutes(2)};
  // Send bodies compressed: Content-Encoding zstd once an answer of this server advertised it
  // (`Accept-Encoding: zstd, ...` on an answer, PROTOCOL §1) and zstd_requests is on, gzip otherwise.
  // A 415 to a zstd body (a server that stopped taking it) sends the request again in gzip, once.
  bool gzip_requests = false;
  bool zstd_requests = true;
  int zstd_level = 0;           // the level of zstd request bodies (1-19); 0 = the client's choice
  bool accept_gzip = true;      // ask for gzip answers
  bool accept_zstd = true;      // ask for zstd answers (preferred over gzip)
  // TLS: off for plain HTTP. With tls, the server's certificate is verified against `ca_pem` (PEM text)
  // or else `ca_file` (PEM; both empty = the system's trust store) and the host name, unless
  // verify_peer is false. With `pin_sha256` (the SHA-256 of the server certificate's DER, 64 hex digits,
  // colons allowed) the certificate is trusted when it is exactly that one, whoever signed it.
  bool tls = false;
  std::string ca_file;
  std::string ca_pem;
  std::string pin_sha256;
  bool verify_peer = true;
  int max_tls_version = 0;      // e.g. TLS1_1_VERSION to test that old versions are refused; 0 = any
  // A request sent on a kept-alive connection that fails before any byte of its answer (the server may
  // have closed the idle connection) is sent once more on a new connection, unseen by the caller. Off:
  // the caller sees every failure and decides, e.g. an uploader that asks the server's offset before it
  // sends a chunk again (the lost answer may be of a chunk the server stored).
  bool retry_stale_connection = true;
  // Called whenever bytes moved on the connection (counts of this call: bytes sent, bytes received).
  std::function<void(std::size_t sent, std::size_t received)> on_bytes;
};

// What went over the wire since the client was made (HTTP bytes: head and body as sent, compressed).
struct TransferStats {
  std::uint64_t requests = 0;          // requests started
  std::uint64_t failed = 0;            // requests whose answer never arrived whole
  std::uint64_t bytes_sent = 0, bytes_received = 0;
  std::uint64_t bytes_sent_failed = 0; // bytes of the requests whose answer never arrived (sent again on retry)
  std::uint64_t connects = 0;          // connections opened
  std::uint64_t stale_retries = 0;     // requests sent again by the client itself (retry_stale_connection)
  std::uint64_t zstd_uploads = 0;      // request bodies sent zstd (each attempt)
};

// Errors of request():
//   kIOError          the network failed (refused, reset, cut, a deadline passed): worth retrying
//   kInvalidArgument  retrying cannot help: the server's certificate is not trusted, does not match the
//                     host or pin, or is not valid at this device's clock; the CA file cannot be read;
//                     the server speaks TLS and the client plain HTTP or the other way round. The message
//                     says what is wrong and what to do.
class HttpClient {
 public:
  HttpClient(std::string host, std::uint16_t port, HttpOptions options = {});
  ~HttpClient();
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;

  // Sends one request on the kept-alive connection (connecting when needed). A request on a reused
  // connection that the server had closed (before any byte of an answer) is retried once on a fresh one,
  // unless options.retry_stale_connection is off.
  Result<HttpResult> request(const std::string& method, const std::string& target, const std::string& body = {},
                             const std::vector<std::pair<std::string, std::string>>& headers = {});
  void close();
  const TransferStats& stats() const;
  // After request() failed: the part of a 200 answer's body that arrived before the failure
  // (decompressed as far as it goes), so that a caller can keep what it received whole (PROTOCOL §5.1,
  // resuming a cut page); empty otherwise. Cleared by the next request().
  const std::string& partial_answer() const;
  // True once an answer of the server said that it takes zstd request bodies (then uploads go zstd).
  bool server_takes_zstd() const;
  // What an earlier run learnt of this server (the tablet store keeps it, recall_upload_coding): true
  // sends the first upload zstd already; a 415 to it falls back to gzip as always.
  void set_server_takes_zstd(bool takes);
  // The throughput the caller expects of uploads, in JSON bytes per second (the sync client's measure,
  // SyncOptions::upload_rate; 0 = unknown): with options.zstd_level 0, zstd uploads are coded at
  // zstd_level_for(it).
  void set_upload_rate(double json_bytes_per_s);
  // The level of the last zstd upload (0: none yet).
  int last_zstd_level() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The zstd level of an upload over a link that moves `json_bytes_per_s` bytes of JSON a second: 6 when
// unknown (0) or fast; a higher level where the CPU time it adds stays under a quarter of the link time
// it saves, with the CPU time of a tablet's core taken as four times this machine's (akt_link_bench
// --levels measures both on the bench's push batches; the figures are in http_client.cpp).
int zstd_level_for(double json_bytes_per_s);

// "ab:CD:…" or "abcd…" to 64 lower-case hex digits; empty when it is not a SHA-256 fingerprint.
std::string normalize_pin(const std::string& pin);

}  // namespace akt::client

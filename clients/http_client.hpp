// A small blocking HTTP/1.1 client with keep-alive, for the CLI, the fleet simulator, benchmarks and
// tests. Beast stays inside http_client.cpp. Not thread-safe: one client per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sync/status.hpp"

namespace akt::client {

struct HttpResult {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;                                          // decompressed when it came gzipped
  std::string header(const std::string& name) const;
};

struct HttpOptions {
  std::chrono::milliseconds timeout{30000};
  bool gzip_requests = false;   // send bodies with Content-Encoding: gzip
  bool accept_gzip = true;      // ask for gzip answers
  // TLS: off for plain HTTP. With tls, the server's certificate is verified against `ca_file` (PEM;
  // empty = the system's trust store) and the host name, unless verify_peer is false.
  bool tls = false;
  std::string ca_file;
  bool verify_peer = true;
  int max_tls_version = 0;      // e.g. TLS1_1_VERSION to test that old versions are refused; 0 = any
};

class HttpClient {
 public:
  HttpClient(std::string host, std::uint16_t port, HttpOptions options = {});
  ~HttpClient();
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;

  // Sends one request on the kept-alive connection (connecting when needed). A request on a reused
  // connection that the server had closed is retried once on a fresh one. kIOError on network failure.
  Result<HttpResult> request(const std::string& method, const std::string& target, const std::string& body = {},
                             const std::vector<std::pair<std::string, std::string>>& headers = {});
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace akt::client

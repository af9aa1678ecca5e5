// Memory per idle TLS connection of aktsyncd (SECURITY.md §9.1): starts aktsyncd as a child process with a
// throwaway certificate, opens N TLS connections to it and reads the server's resident memory (VmRSS)
// before and after. Two kinds of idle connection are measured: handshaken only, and handshaken with one
// request answered (a kept-alive tablet between syncs). Not a timed test; prints KiB per connection.
//
//   akt_conn_mem_bench [--connections N] [--server PATH] [--max-kib K]
//     PATH: another aktsyncd, e.g. an older build. With --max-kib, exits 1 ("failed") when either kind
//     costs more than K KiB per connection: CTest runs it so as a bound (conn_mem_bound).
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/temp_dir.hpp"
#include "tests/support/test_tls.hpp"

namespace {

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

struct Conn {
  int fd = -1;
  SSL* ssl = nullptr;
};

bool open_conn(SSL_CTX* ctx, std::uint16_t port, bool one_request, Conn& c) {
  c.fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(c.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return false;
  c.ssl = SSL_new(ctx);
  SSL_set_fd(c.ssl, c.fd);
  if (SSL_connect(c.ssl) != 1) return false;
  if (!one_request) return true;
  const std::string req = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";
  if (SSL_write(c.ssl, req.data(), static_cast<int>(req.size())) <= 0) return false;
  char buf[4096];
  std::string got;
  while (got.find("\r\n\r\n") == std::string::npos || got.back() != '}') {
    int n = SSL_read(c.ssl, buf, sizeof buf);
    if (n <= 0) return false;
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got.rfind("HTTP/1.1 200", 0) == 0;
}

void close_all(std::vector<Conn>& conns) {
  for (Conn& c : conns) {
    if (c.ssl) SSL_free(c.ssl);
    if (c.fd >= 0) close(c.fd);
  }
  conns.clear();
}

// Starts `server` with the config in `dir`; its pid and port (0 when it did not start).
std::pair<pid_t, std::uint16_t> start_server(const std::string& server, const akt::test::TempDir& dir) {
  std::remove(dir.file("port").c_str());
  const pid_t pid = fork();
  if (pid == 0) {
    execl(server.c_str(), "aktsyncd", "--config", dir.file("aktsyncd.json").c_str(), "--port-file",
          dir.file("port").c_str(), "--log-level", "warn", static_cast<char*>(nullptr));
    _exit(127);
  }
  std::uint16_t port = 0;
  // Generous (60 s): a loaded machine may start it slowly. A server that exited is not waited for.
  for (int i = 0; i < 6000 && port == 0; ++i) {
    if (waitpid(pid, nullptr, WNOHANG) == pid) return {0, 0};  // it exited (and is reaped)
    std::ifstream in(dir.file("port"));
    int p = 0;
    if (in >> p) port = static_cast<std::uint16_t>(p);
    else std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return {pid, port};
}

}  // namespace

int main(int argc, char** argv) {
  int n = 500;
  double max_kib = 0;  // no bound
  std::string server = AKTSYNCD_PATH;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--connections") n = std::stoi(argv[i + 1]);
    if (std::string(argv[i]) == "--server") server = argv[i + 1];
    if (std::string(argv[i]) == "--max-kib") max_kib = std::stod(argv[i + 1]);
  }
  akt::test::TempDir dir;
  auto cert = akt::test::make_test_cert(dir.path());
  std::ofstream(dir.file("aktsyncd.json"))
      << R"({"listen":"127.0.0.1:0","data_dir":")" << dir.file("data") << R"(","tls":{"cert_file":")" << cert.cert_file
      << R"(","key_file":")" << cert.key_file
      << R"("},"limits":{"max_connections":100000,"max_connections_per_address":100000,"reserved_connections":0,)"
      << R"("first_byte_timeout_ms":600000,"handshake_timeout_ms":600000,"read_timeout_ms":600000,)"
      << R"("idle_timeout_ms":600000}})";
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  int rc = 0;
  for (bool one_request : {false, true}) {
    // A fresh server for each kind, so that memory freed by the previous run does not hide the cost.
    auto [pid, port] = start_server(server, dir);
    if (port == 0) {
      std::fprintf(stderr, "failed: aktsyncd did not start\n");
      if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
      return 1;
    }
    std::vector<Conn> conns;
    // Warm up the server's allocator and TLS state with a few connections first.
    for (int i = 0; i < 20; ++i) {
      conns.emplace_back();
      open_conn(ctx, port, one_request, conns.back());
    }
    close_all(conns);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const long before = rss_kib(pid);
    for (int i = 0; i < n; ++i) {
      conns.emplace_back();
      if (!open_conn(ctx, port, one_request, conns.back())) {
        std::fprintf(stderr, "failed: connection %d\n", i);
        rc = 1;
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const long after = rss_kib(pid);
    const double per_conn =
        conns.empty() ? 0.0 : static_cast<double>(after - before) / static_cast<double>(conns.size());
    std::printf("%d idle TLS connections (%s): server RSS %ld -> %ld KiB, %.1f KiB per connection\n",
                static_cast<int>(conns.size()), one_request ? "after one request" : "handshaken only", before, after,
                per_conn);
    if (max_kib > 0 && per_conn > max_kib) {
      std::printf("failed: %.1f KiB per idle TLS connection is above the bound of %.1f KiB\n", per_conn, max_kib);
      rc = 1;
    }
    close_all(conns);
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
  }
  SSL_CTX_free(ctx);
  return rc;
}

// Certificate renewal without a restart: aktsyncd (a real process) re-reads its certificate chain and key
// on SIGHUP. New connections get the new certificate, an open one keeps working, and a broken or
// mismatched new pair is logged with its reason while the previous certificate stays in use.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "tests/support/temp_dir.hpp"
#include "tests/support/test_tls.hpp"

using namespace akt;

namespace {

constexpr auto kDeadline = std::chrono::seconds(60);  // generous: the machine may be loaded

std::string hex(const unsigned char* p, unsigned n) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out += d[p[i] >> 4];
    out += d[p[i] & 15];
  }
  return out;
}

std::string fingerprint(X509* x) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  if (!x || X509_digest(x, EVP_sha256(), md, &n) != 1) return "";
  return hex(md, n);
}

std::string file_fingerprint(const std::string& pem) {
  FILE* f = std::fopen(pem.c_str(), "r");
  if (!f) return "";
  X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  std::string fp = fingerprint(x);
  X509_free(x);
  return fp;
}

// A TLS connection to 127.0.0.1:port made with plain OpenSSL (no verification: the test compares the
// certificate's fingerprint itself).
struct TlsConn {
  int fd = -1;
  SSL* ssl = nullptr;
  TlsConn(SSL_CTX* ctx, std::uint16_t port) {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return;
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1) {
      SSL_free(ssl);
      ssl = nullptr;
    }
  }
  ~TlsConn() {
    if (ssl) SSL_free(ssl);
    if (fd >= 0) close(fd);
  }
  TlsConn(const TlsConn&) = delete;
  TlsConn& operator=(const TlsConn&) = delete;

  std::string peer_fingerprint() const {
    if (!ssl) return "";
    X509* x = SSL_get1_peer_certificate(ssl);
    std::string fp = fingerprint(x);
    X509_free(x);
    return fp;
  }
  // GET /healthz on this connection (kept alive); its status line, empty on failure.
  std::string healthz() {
    if (!ssl) return "";
    const std::string req = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";
    if (SSL_write(ssl, req.data(), static_cast<int>(req.size())) <= 0) return "";
    std::string got;
    char buf[4096];
    while (got.find("\r\n\r\n") == std::string::npos || got.back() != '}') {
      const int n = SSL_read(ssl, buf, sizeof buf);
      if (n <= 0) return "";
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got.substr(0, got.find("\r\n"));
  }
};

void copy_pair(const test::TestCert& from, const std::string& dir) {
  namespace fs = std::filesystem;
  // Written aside and renamed, as a renewal tool does: the server never reads half a file.
  fs::copy_file(from.cert_file, dir + "/cert.pem.new", fs::copy_options::overwrite_existing);
  fs::copy_file(from.key_file, dir + "/key.pem.new", fs::copy_options::overwrite_existing);
  fs::rename(dir + "/cert.pem.new", dir + "/cert.pem");
  fs::rename(dir + "/key.pem.new", dir + "/key.pem");
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Waits until `cond` holds or kDeadline passes; whether it held.
template <class F>
bool wait_for(F cond) {
  const auto until = std::chrono::steady_clock::now() + kDeadline;
  while (std::chrono::steady_clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

}  // namespace

TEST_CASE("tls: SIGHUP reloads the certificate for new connections, a bad new pair keeps the old one") {
  test::TempDir dir;
  std::filesystem::create_directories(dir.file("a"));
  std::filesystem::create_directories(dir.file("b"));
  const test::TestCert a = test::make_test_cert(dir.file("a"));
  const test::TestCert b = test::make_test_cert(dir.file("b"));
  const std::string fp_a = file_fingerprint(a.cert_file);
  const std::string fp_b = file_fingerprint(b.cert_file);
  REQUIRE(!fp_a.empty());
  REQUIRE(fp_a != fp_b);
  copy_pair(a, dir.path());
  std::ofstream(dir.file("aktsyncd.json"))
      << R"({"listen":"127.0.0.1:0","data_dir":")" << dir.file("data") << R"(","tls":{"cert_file":")"
      << dir.file("cert.pem") << R"(","key_file":")" << dir.file("key.pem") << R"("}})";

  const std::string log = dir.file("log");
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::FILE* out = std::freopen(log.c_str(), "w", stderr);
    if (!out) _exit(126);
    execl(AKTSYNCD_PATH, "aktsyncd", "--config", dir.file("aktsyncd.json").c_str(), "--port-file",
          dir.file("port").c_str(), "--log-level", "info", static_cast<char*>(nullptr));
    _exit(127);
  }
  struct Stop {
    pid_t pid;
    ~Stop() {
      kill(pid, SIGTERM);
      waitpid(pid, nullptr, 0);
    }
  } stop{pid};
  std::uint16_t port = 0;
  REQUIRE(wait_for([&] {
    std::ifstream in(dir.file("port"));
    int p = 0;
    if (in >> p) port = static_cast<std::uint16_t>(p);
    return port != 0;
  }));

  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  struct FreeCtx {
    SSL_CTX* ctx;
    ~FreeCtx() { SSL_CTX_free(ctx); }
  } free_ctx{ctx};

  TlsConn before(ctx, port);
  CHECK(before.peer_fingerprint() == fp_a);
  CHECK(before.healthz() == "HTTP/1.1 200 OK");

  // Renewal: B replaces A on disk, then SIGHUP.
  copy_pair(b, dir.path());
  REQUIRE(kill(pid, SIGHUP) == 0);
  CHECK(wait_for([&] { return TlsConn(ctx, port).peer_fingerprint() == fp_b; }));
  CHECK(wait_for([&] { return count(read_file(log), "certificate " + dir.file("cert.pem") + " reloaded") == 1; }));
  // The connection opened before keeps its certificate and keeps working.
  CHECK(before.peer_fingerprint() == fp_a);
  CHECK(before.healthz() == "HTTP/1.1 200 OK");

  // A broken certificate file: logged with its reason, B stays, the server keeps serving.
  std::ofstream(dir.file("cert.pem")) << "-----BEGIN CERTIFICATE-----\nnot base64 at all\n";
  REQUIRE(kill(pid, SIGHUP) == 0);
  CHECK(wait_for([&] { return count(read_file(log), "not reloaded") == 1; }));
  CHECK(read_file(log).find("cannot use certificate") != std::string::npos);
  {
    TlsConn after(ctx, port);
    CHECK(after.peer_fingerprint() == fp_b);
    CHECK(after.healthz() == "HTTP/1.1 200 OK");
  }

  // A certificate with another certificate's key: the mismatch is named, B stays.
  std::filesystem::copy_file(a.cert_file, dir.file("cert.pem"), std::filesystem::copy_options::overwrite_existing);
  REQUIRE(kill(pid, SIGHUP) == 0);
  CHECK(wait_for([&] { return count(read_file(log), "not reloaded") == 2; }));
  CHECK(read_file(log).find("does not match") != std::string::npos);
  {
    TlsConn after(ctx, port);
    CHECK(after.peer_fingerprint() == fp_b);
    CHECK(after.healthz() == "HTTP/1.1 200 OK");
  }
  CHECK(waitpid(pid, nullptr, WNOHANG) == 0);  // still running
}

// Connection limits against lock-out (SECURITY.md §9.1): a per-address cap, a first-byte timeout, and
// eviction of silent not-yet-authenticated connections, so a flood of bare TCP connections cannot keep
// a tablet from syncing.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "sync/wire_json.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"

using namespace akt;

namespace {

// A bare TCP connection from 127.0.0.`host` that never sends anything.
class Silent {
 public:
  Silent(std::uint16_t port, int host) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    from.sin_addr.s_addr = htonl(0x7f000000u | static_cast<std::uint32_t>(host));
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from) == 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0);
  }
  ~Silent() { close(fd_); }
  Silent(const Silent&) = delete;
  Silent& operator=(const Silent&) = delete;

  // True once the server closed the connection (EOF or reset), waiting at most `deadline`.
  bool closed_by_server(std::chrono::milliseconds deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(deadline.count())) <= 0) return false;
    char c;
    return recv(fd_, &c, 1, MSG_DONTWAIT) <= 0;
  }

 private:
  int fd_ = -1;
};

std::vector<std::unique_ptr<Silent>> flood(std::uint16_t port, int count, int first_host, int hosts) {
  std::vector<std::unique_ptr<Silent>> out;
  for (int i = 0; i < count; ++i) out.push_back(std::make_unique<Silent>(port, first_host + i % hosts));
  // Let the server accept them all (accepting is asynchronous; nothing below depends on the timing).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  return out;
}

// A tablet's round: push one edit and pull, each on a fresh connection. True when both answered 200.
bool tablet_syncs(test::TestServer& srv, int n) {
  auto c1 = srv.client();
  sync::PushRequest req{"flood-" + std::to_string(n),
                        {test::make_edit(test::uuid7(7, static_cast<std::uint64_t>(n)), srv.a.actor,
                                         n, {}, R"({"a":1})", {"a"})}};
  auto pushed = c1.request("POST", "/v1/push", sync::encode_push_request(req), srv.a.auth());
  if (!pushed.ok() || pushed->status != 200) {
    MESSAGE("push: " << (pushed.ok() ? pushed->body : pushed.status().message()));
    return false;
  }
  auto c2 = srv.client();
  auto pulled = c2.request("GET", "/v1/changes", {}, srv.a.auth());
  if (!pulled.ok() || pulled->status != 200) {
    MESSAGE("pull: " << (pulled.ok() ? pulled->body : pulled.status().message()));
    return false;
  }
  return true;
}

server::Limits small_caps() {
  server::Limits lim;
  lim.max_connections = 24;
  lim.reserved_connections = 8;
  lim.max_connections_per_address = 12;
  lim.first_byte_timeout_ms = 60000;  // the flood stays: only the caps and eviction let the tablet in
  lim.read_timeout_ms = 60000;
  return lim;
}

}  // namespace

TEST_CASE("connections: a flood of silent connections from the tablet's own address does not lock it out") {
  test::TestServer srv(small_caps());
  auto f = flood(srv.port(), 40, 1, 1);  // 127.0.0.1, like the tablet
  for (int n = 1; n <= 3; ++n) CHECK(tablet_syncs(srv, n));
}

TEST_CASE("connections: a flood from many addresses filling the server does not lock a tablet out") {
  test::TestServer srv(small_caps());
  auto f = flood(srv.port(), 40, 2, 10);  // 127.0.0.2 .. 127.0.0.11, 4 each: under the per-address cap
  for (int n = 1; n <= 3; ++n) CHECK(tablet_syncs(srv, n));
}

TEST_CASE("connections: over TLS too, a flood does not lock a tablet out") {
  test::TestServer srv(small_caps(), {}, /*tls=*/true);
  auto f = flood(srv.port(), 40, 2, 10);
  for (int n = 1; n <= 2; ++n) CHECK(tablet_syncs(srv, n));
}

TEST_CASE("connections: a connection that sends nothing is cut after first_byte_timeout_ms") {
  for (bool tls : {false, true}) {
    CAPTURE(tls);
    server::Limits lim;
    lim.first_byte_timeout_ms = 300;
    lim.read_timeout_ms = 120000;       // before the first-byte timeout existed, this applied
    lim.handshake_timeout_ms = 120000;
    test::TestServer srv(lim, {}, tls);
    auto f = flood(srv.port(), 6, 1, 1);
    for (auto& s : f) CHECK(s->closed_by_server(std::chrono::seconds(20)));
    CHECK(tablet_syncs(srv, 1));
  }
}

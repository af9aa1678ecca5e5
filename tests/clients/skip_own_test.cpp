// The tablet's own versions left out of the feed (PROTOCOL §5.1 skip_own): the sync client asks for it,
// and its store ends as if the feed had shown them (check_converged: the server's live versions, none
// still a local edit); a record another device changed still comes. The bytes a pull saves. And the
// server's zstd advertisement kept per server between runs (PROTOCOL §1): the next run's first upload
// goes zstd, a 415 falls back to gzip and forgets it. Real server on loopback.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <thread>

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "clients/sync_client.hpp"
#include "tests/clients/client_support.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;

namespace {

std::string body_of(int i) {
  return R"({"pct_complete":)" + std::to_string(i % 100) + R"(,"notes":"visit )" + std::to_string(i) +
         R"( of the water supply works"})";
}

// A transport over `http` that logs each request's target and the answer bytes of the feed requests.
struct Counting {
  explicit Counting(client::HttpClient& h) : http(h) {}
  client::HttpClient& http;
  std::vector<std::string> targets;
  std::size_t feed_bytes = 0;
  client::Transport transport() {
    return [this](const std::string& m, const std::string& t, const std::string& b,
                  const client::Headers& h) -> Result<client::HttpResult> {
      targets.push_back(m + " " + t);
      auto r = http.request(m, t, b, h);
      if (r.ok() && t.rfind("/v1/changes", 0) == 0) feed_bytes += r->body.size();
      return r;
    };
  }
  std::size_t count(const std::string& part) const {
    std::size_t n = 0;
    for (const std::string& t : targets) n += t.find(part) != std::string::npos ? 1 : 0;
    return n;
  }
};

client::SyncOptions options(bool skip_own) {
  client::SyncOptions o;
  o.max_attempts = 6;
  o.sleep = [](std::chrono::milliseconds) {};
  o.skip_own = skip_own;
  return o;
}

}  // namespace

TEST_CASE("skip_own: the tablet's own records do not come back, and its store ends as if they had") {
  test::TestServer srv;
  test::TempDir dir;
  test::Tablet a(dir.file("a.db"), srv.a, srv.port(), 11);
  test::Tablet b(dir.file("b.db"), srv.b, srv.port(), 12);
  std::vector<std::string> ids;
  for (int i = 0; i < 12; ++i) ids.push_back(a.create(body_of(i), {"notes", "pct_complete"}));
  a.edit(ids[1], body_of(101), {"pct_complete"});  // an own record edited twice before its first sync
  Counting link(a.http);
  {
    client::SyncClient c(*a.store, link.transport(), options(true));
    auto s = c.sync(1700000100000);
    REQUIRE_MESSAGE(s.ok(), s.status().message());
    CHECK(s->pushed == 13);
    CHECK(s->pulled == 0);  // every record is A's own as pushed: none came back
  }
  CHECK(link.count("skip_own=1") == 1);
  test::check_converged(a, test::pull_all(a.http, srv.a, "", 500));
  for (const std::string& id : ids) {
    const store::LocalRecord r = a.get(id);
    CHECK(r.seq > 0);  // the feed position its push answer gave
    CHECK_FALSE(r.is_conflict());
  }
  // Another device edits one of A's records and adds one; A edits another of its own and deletes one.
  REQUIRE(b.sync().ok());
  b.edit(ids[3], body_of(203), {"pct_complete"});
  const std::string theirs = b.create(body_of(300), {"notes", "pct_complete"});
  REQUIRE(b.sync().ok());
  a.edit(ids[5], body_of(105), {"pct_complete"});
  REQUIRE(a.store->remove(ids[7], a.now + 1).ok());
  {
    client::SyncClient c(*a.store, link.transport(), options(true));
    auto s = c.sync(1700000200000);
    REQUIRE_MESSAGE(s.ok(), s.status().message());
    CHECK(s->pulled == 2);  // B's edit of ids[3] and B's record; A's edit and deletion stay out
  }
  test::check_converged(a, test::pull_all(a.http, srv.a, "", 500));
  CHECK(a.get(ids[3]).live[0].dot.actor == srv.b.actor);
  CHECK(a.get(theirs).live[0].dot.actor == srv.b.actor);
  CHECK(a.get(ids[7]).is_deleted());
  // Nothing is left to re-queue wrongly: a later round has nothing to push or pull.
  client::SyncClient c(*a.store, link.transport(), options(true));
  auto s = c.sync(1700000300000);
  REQUIRE(s.ok());
  CHECK(s->pushed == 0);
  CHECK(s->pulled == 0);
}

TEST_CASE("skip_own: a server that ignores it sends every record, and the tablet ends the same") {
  test::TestServer srv;
  test::TempDir dir;
  test::Tablet a(dir.file("a.db"), srv.a, srv.port(), 21);
  for (int i = 0; i < 5; ++i) a.create(body_of(i), {"notes", "pct_complete"});
  Counting inner(a.http);
  auto base = inner.transport();
  // A server before skip_own: it ignores the parameter (the request goes without it).
  client::Transport old = [&](const std::string& m, const std::string& t, const std::string& b, const client::Headers& h) {
    std::string target = t;
    if (auto p = target.find("&skip_own=1"); p != std::string::npos) target.erase(p, 11);
    return base(m, target, b, h);
  };
  client::SyncClient c(*a.store, old, options(true));
  auto s = c.sync(1700000100000);
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  CHECK(s->pulled == 5);  // every own record came back with its body_hash
  test::check_converged(a, test::pull_all(a.http, srv.a, "", 500));
}

TEST_CASE("skip_own: wire size of a tablet's pull after it pushed 100 records") {
  std::size_t bytes[2] = {0, 0};
  for (int skip = 0; skip < 2; ++skip) {
    test::TestServer srv;
    test::TempDir dir;
    test::Tablet a(dir.file("a.db"), srv.a, srv.port(), 31);
    for (int i = 0; i < 100; ++i) a.create(body_of(i), {"notes", "pct_complete"});
    Counting link(a.http);
    client::SyncClient c(*a.store, link.transport(), options(skip == 1));
    auto s = c.sync(1700000100000);
    REQUIRE_MESSAGE(s.ok(), s.status().message());
    test::check_converged(a, test::pull_all(a.http, srv.a, "", 500));
    bytes[skip] = link.feed_bytes;
  }
  MESSAGE("feed bytes after a push of 100 records (JSON, before compression): echo=0 " << bytes[0]
                                                                                        << ", skip_own " << bytes[1]);
  CHECK(bytes[0] > 100 * 30);  // about 37 B of JSON per own record with body_hash
  CHECK(bytes[1] < 200);       // one empty page: the envelope and the cursor
}

namespace {

// A server that refuses zstd request bodies with 415 and answers anything else 200 "{}" (a server that
// stopped taking zstd, or a proxy in between), on a loopback port of its own.
struct RefusesZstd {
  int listener = -1;
  std::uint16_t port = 0;
  std::atomic<bool> stop{false};
  std::thread thread;
  RefusesZstd() {
    listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port = ntohs(addr.sin_port);
    REQUIRE(::listen(listener, 4) == 0);
    thread = std::thread([this] { serve(); });
  }
  ~RefusesZstd() {
    stop = true;
    ::shutdown(listener, SHUT_RDWR);
    ::close(listener);
    thread.join();
  }
  void serve() {
    while (!stop) {
      const int fd = ::accept(listener, nullptr, nullptr);
      if (fd < 0) return;
      std::string in;
      char buf[4096];
      for (;;) {
        const std::size_t head_end = in.find("\r\n\r\n");
        if (head_end != std::string::npos) {
          std::string head = in.substr(0, head_end);
          for (char& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          std::size_t length = 0;
          if (auto p = head.find("content-length:"); p != std::string::npos)
            length = std::stoul(head.substr(p + 15));
          if (in.size() >= head_end + 4 + length) {
            const bool zstd = head.find("content-encoding: zstd") != std::string::npos;
            const std::string answer =
                zstd ? "HTTP/1.1 415 Unsupported Media Type\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
                     : "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
            if (::write(fd, answer.data(), answer.size()) < 0) break;
            in.erase(0, head_end + 4 + length);
            continue;
          }
        }
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        in.append(buf, static_cast<std::size_t>(n));
      }
      ::close(fd);
    }
  }
};

}  // namespace

TEST_CASE("upload coding: a server's zstd advertisement is kept, so the next run's first upload goes zstd") {
  test::TestServer srv;
  test::TempDir dir;
  test::Tablet a(dir.file("a.db"), srv.a, srv.port(), 41);
  const std::string url = "127.0.0.1:" + std::to_string(srv.port());
  client::HttpOptions ho;
  ho.gzip_requests = true;  // as the aktsync CLI: compressed uploads
  auto run = [&](int records) {
    for (int i = 0; i < records; ++i) a.create(body_of(i), {"notes", "pct_complete"});
    client::HttpClient http("127.0.0.1", srv.port(), ho);  // a new run: nothing heard of the server yet
    REQUIRE(client::recall_upload_coding(*a.store, url, http).ok());
    client::SyncClient c(*a.store, client::http_transport(http), options(true));
    auto s = c.sync(1700000100000);
    REQUIRE_MESSAGE(s.ok(), s.status().message());
    CHECK(s->pushed == static_cast<std::size_t>(records));
    REQUIRE(client::remember_upload_coding(*a.store, url, http).ok());
    return http.stats().zstd_uploads;
  };
  CHECK(*a.store->server_takes_zstd(url) == false);
  CHECK(run(2) == 0);  // the first run's one upload: nothing heard yet, gzip
  CHECK(*a.store->server_takes_zstd(url) == true);
  CHECK(run(2) == 1);  // the next run's first (and only) upload: zstd
  CHECK(*a.store->server_takes_zstd("127.0.0.1:1") == false);  // per server

  // A server that refuses zstd bodies (415): the upload goes again in gzip, and the store forgets zstd.
  RefusesZstd refusing;
  const std::string other = "127.0.0.1:" + std::to_string(refusing.port);
  REQUIRE(a.store->set_server_takes_zstd(other, true).ok());
  client::HttpClient http("127.0.0.1", refusing.port, ho);
  REQUIRE(client::recall_upload_coding(*a.store, other, http).ok());
  auto r = http.request("POST", "/v1/push", R"({"v":1,"batch_id":"x","edits":[]})",
                        {{"Content-Type", "application/json"}});
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  CHECK(http.stats().zstd_uploads == 1);
  CHECK(http.stats().requests >= 2);
  REQUIRE(client::remember_upload_coding(*a.store, other, http).ok());
  CHECK(*a.store->server_takes_zstd(other) == false);
  CHECK(*a.store->server_takes_zstd(url) == true);
}

// The photo uploader over a bad link: every lost answer reaches it (the HTTP client resends nothing on
// its own), so it asks the server's offset instead of sending a stored chunk again; and its chunks follow
// the link's rate (a few seconds each), halving after a loss. Real server on loopback; the link's time is
// a fake clock that each request advances by its bytes at the emulated rate, so nothing here is timed.
#include <random>

#include <doctest/doctest.h>

#include "clients/attachments.hpp"
#include "clients/fault_proxy.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;

namespace {

std::string random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng() & 0xff);
  return out;
}

}  // namespace

TEST_CASE("attachments: after a lost answer the uploader asks the offset, nothing is sent behind its back") {
  test::TestServer srv;
  client::FaultOptions f;
  f.drop_after = 0.3;  // the server stores the chunk, the answer is lost
  f.seed = 11;
  auto proxy = client::FaultProxy::start(srv.port(), f);
  REQUIRE(proxy.ok());
  test::TempDir dir;
  auto box = client::AttachmentBox::open(dir.file("box"));
  REQUIRE(box.ok());
  const std::string photo = random_bytes(200000, 3);
  REQUIRE(box->add(photo, "image/jpeg").ok());
  client::HttpOptions ho;
  ho.retry_stale_connection = false;
  client::HttpClient http("127.0.0.1", (*proxy)->port(), ho);
  std::size_t calls = 0;
  const client::Transport counted = [&](const std::string& m, const std::string& t, const std::string& b,
                                        const client::Headers& h) {
    ++calls;
    return http.request(m, t, b, h);
  };
  client::UploadOptions o;
  o.chunk_bytes = 16384;
  o.max_attempts = 50;
  o.sleep = [](std::chrono::milliseconds) {};
  auto s = client::upload_attachments(*box, counted, srv.a.token, o);
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  CHECK((*proxy)->counts().drop_after > 0);
  CHECK(s->lost_chunks > 0);
  CHECK(http.stats().requests == calls);      // every request sent was one the uploader asked for
  CHECK(http.stats().stale_retries == 0);
  CHECK(s->bytes_sent == photo.size());       // and no stored chunk went out twice
  CHECK(s->file_bytes == photo.size());
  CHECK(box->unsent().empty());
}

TEST_CASE("attachments: chunks sized by time follow the link's rate, within bounds, halving after a loss") {
  test::TestServer srv;
  test::TempDir dir;
  client::HttpClient http("127.0.0.1", srv.port());
  // The emulated link: a request takes its bytes at `rate` plus a round trip, on a fake clock.
  std::chrono::steady_clock::time_point clock{};
  double rate = 16000;  // bytes per second: 128 kbit/s
  const auto rtt = std::chrono::milliseconds(300);
  std::vector<std::size_t> patches;
  int lose_patch = -1;  // the index of a PATCH whose answer is lost (after the server stored it)
  const client::Transport link = [&](const std::string& m, const std::string& t, const std::string& b,
                                     const client::Headers& h) -> Result<client::HttpResult> {
    clock += rtt + std::chrono::microseconds(static_cast<std::int64_t>(1e6 * static_cast<double>(b.size()) / rate));
    auto r = http.request(m, t, b, h);
    if (m == "PATCH") {
      patches.push_back(b.size());
      if (static_cast<int>(patches.size()) - 1 == lose_patch) return Status::io_error("receive: end of stream");
    }
    return r;
  };
  client::UploadOptions o;
  o.chunk_time = std::chrono::seconds(3);
  o.chunk_bytes = 8192;
  o.min_chunk_bytes = 4096;
  o.max_chunk_bytes = 256 * 1024;
  o.now = [&] { return clock; };
  o.sleep = [&](std::chrono::milliseconds d) { clock += d; };
  auto upload = [&](std::size_t size, std::uint64_t seed) {
    auto box = client::AttachmentBox::open(dir.file("box" + std::to_string(seed)));
    REQUIRE(box.ok());
    REQUIRE(box->add(random_bytes(size, seed), "image/png").ok());
    patches.clear();
    auto s = client::upload_attachments(*box, link, srv.a.token, o);
    REQUIRE_MESSAGE(s.ok(), s.status().message());
    CHECK(s->files == 1);
    return *s;
  };
  SUBCASE("128 kbit/s, 300 ms: chunks of 3 s of link time, round trip included") {
    auto s = upload(600000, 1);
    // The first chunks double from 8 KiB, then hold at rate * (3 s - 300 ms) = 43,200 bytes.
    REQUIRE(patches.size() >= 6);
    CHECK(patches[1] == 16384);
    CHECK(patches[2] == 32768);
    CHECK(s.last_chunk_bytes >= 42000);
    CHECK(s.last_chunk_bytes <= 44500);
    CHECK(s.bytes_sent == 600000);
  }
  SUBCASE("a fast link: capped at max_chunk_bytes") {
    rate = 50e6;
    auto s = upload(2000000, 2);
    CHECK(s.last_chunk_bytes == 256 * 1024);
  }
  SUBCASE("a slow link: down to what 3 s carry, not below the minimum") {
    rate = 1000;  // 8 kbit/s
    o.chunk_bytes = 16384;
    auto s = upload(40000, 3);
    REQUIRE(patches.size() >= 2);
    CHECK(patches[0] == 16384);
    CHECK(patches[1] == 4096);          // 3 s of this link are 2,700 bytes: the minimum
    CHECK(s.last_chunk_bytes == 4096);
  }
  SUBCASE("a lost chunk halves the next, and the upload resumes from the server's offset") {
    lose_patch = 4;
    auto s = upload(600000, 4);
    REQUIRE(patches.size() > 6);
    CHECK(patches[5] == patches[4] / 2);
    CHECK(s.lost_chunks == 1);
    CHECK(s.bytes_sent == 600000);  // the lost answer's chunk was stored: it is not sent again
  }
}

// Attachment uploads over a bad link and through a server crash (PROTOCOL §14.2): the client library
// resumes at the server's offset, never re-sends stored bytes, and no partial file is ever a blob.
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <random>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "clients/attachments.hpp"
#include "clients/fault_proxy.hpp"
#include "clients/server_process.hpp"
#include "schema/store/blob_store.hpp"
#include "server/auth.hpp"
#include "server/router.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;

namespace {

std::string random_bytes(std::size_t n, std::mt19937_64& rng) {
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng() & 0xff);
  return out;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

client::UploadOptions no_wait(int attempts) {
  client::UploadOptions o;
  o.max_attempts = attempts;
  o.sleep = [](std::chrono::milliseconds) {};
  return o;
}

// Sends `head` and `part` of a request on a new connection to 127.0.0.1:port (TLS when `tls`), then
// drops the connection as a cut link does: no TLS close_notify, the body shorter than announced.
void send_cut(std::uint16_t port, bool tls, const std::string& head, const std::string& part) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  const std::string all = head + part;
  if (tls) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    const bool up = SSL_connect(ssl) == 1;
    const bool sent = up && SSL_write(ssl, all.data(), static_cast<int>(all.size())) == static_cast<int>(all.size());
    SSL_free(ssl);  // no SSL_shutdown: the link is gone
    SSL_CTX_free(ctx);
    REQUIRE(up);
    REQUIRE(sent);
  } else {
    REQUIRE(::send(fd, all.data(), all.size(), 0) == static_cast<ssize_t>(all.size()));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the bytes reach the server before the cut
  ::close(fd);
}

// The server's offset of upload `id`, once it stops changing (the cut chunk is stored asynchronously).
std::int64_t settled_offset(client::HttpClient& c, const test::Device& dev, const std::string& id, std::int64_t want) {
  std::int64_t offset = -1;
  for (int i = 0; i < 100; ++i) {
    auto r = c.request("GET", "/v1/uploads/" + id, "", dev.auth());
    REQUIRE(r.ok());
    REQUIRE(r->status == 200);
    offset = nlohmann::json::parse(r->body)["offset"].get<std::int64_t>();
    if (offset == want) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // and nothing arrives later
  auto r = c.request("GET", "/v1/uploads/" + id, "", dev.auth());
  REQUIRE(r.ok());
  return nlohmann::json::parse(r->body)["offset"].get<std::int64_t>();
}

}  // namespace

TEST_CASE("attachments: a chunk cut off in transit keeps the bytes that arrived, over HTTP and HTTPS") {
  // A rural link drops mid-chunk: the server stores what arrived, so the client resends only what was
  // still in the air (PROTOCOL §14.2). A cut chunk at the wrong offset, or another device's, stores nothing.
  for (const bool tls : {false, true}) {
    CAPTURE(tls);
    test::TestServer srv({}, {}, tls);
    std::mt19937_64 rng(11);
    const std::string photo = random_bytes(400000, rng);
    const std::string digest = store::sha256_hex_of(photo);
    client::HttpClient c = srv.client();
    auto created = c.request("POST", "/v1/uploads",
                             nlohmann::json{{"v", 1}, {"digest", digest}, {"size", photo.size()}, {"type", "image/jpeg"}}.dump(),
                             srv.a.auth());
    REQUIRE(created.ok());
    REQUIRE(created->status == 201);
    const std::string id = nlohmann::json::parse(created->body)["upload"].get<std::string>();
    const auto head = [&](const test::Device& dev, std::int64_t offset, std::size_t length) {
      return "PATCH /v1/uploads/" + id + " HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + dev.token +
             "\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: " + std::to_string(offset) +
             "\r\nContent-Length: " + std::to_string(length) + "\r\n\r\n";
    };

    // 150,000 of a 300,000-byte chunk arrive, then the link drops: the 150,000 are kept.
    send_cut(srv.port(), tls, head(srv.a, 0, 300000), photo.substr(0, 150000));
    CHECK(settled_offset(c, srv.a, id, 150000) == 150000);
    // A cut chunk at an offset the server does not hold, or from another device, changes nothing.
    send_cut(srv.port(), tls, head(srv.a, 100000, 300000), photo.substr(100000, 120000));
    send_cut(srv.port(), tls, head(srv.b, 150000, 250000), photo.substr(150000, 100000));
    CHECK(settled_offset(c, srv.a, id, 150000) == 150000);
    // The rest, whole: the file is the photo.
    auto rest = c.request("PATCH", "/v1/uploads/" + id, photo.substr(150000),
                          {{"Authorization", "Bearer " + srv.a.token},
                           {"Content-Type", "application/offset+octet-stream"},
                           {"Upload-Offset", "150000"}});
    REQUIRE(rest.ok());
    CHECK(rest->status == 200);
    CHECK(nlohmann::json::parse(rest->body)["complete"] == true);
    auto blobs = store::FileBlobStore::open(srv.data_dir());
    REQUIRE(blobs.ok());
    CHECK(slurp((*blobs)->path_of(digest)) == photo);
  }
  // Only an upload chunk is acted on when cut: any other request cut off is refused before routing.
  test::TestServer srv;
  server::HttpRequest cut;
  cut.method = "POST";
  cut.target = "/v1/push";
  cut.headers = {{"authorization", "Bearer " + srv.a.token}, {"content-type", "application/json"}};
  cut.body = R"({"v":1,"batch_id":"b1","edits":[)";
  cut.cut = true;
  const server::HttpResponse r = server::route(cut, srv.app());
  CHECK(r.status == 400);
  CHECK(r.body.find("request_cut") != std::string::npos);
}

TEST_CASE("attachments: a throttled answer between lost requests shows the link works (failures in a row restart)") {
  // A bad link and a busy server together: lost requests alternate with 429s. Each 429 is an answer, so
  // the uploader must not add the losses around it up to max_attempts and give up.
  test::TestServer srv;
  test::TempDir dir;
  auto box = client::AttachmentBox::open(dir.file("box"));
  REQUIRE(box.ok());
  std::mt19937_64 rng(7);
  const std::string photo = random_bytes(50000, rng);
  REQUIRE(box->add(photo, "image/jpeg").ok());
  client::HttpClient http("127.0.0.1", srv.port());
  const client::Transport real = client::http_transport(http);
  int calls = 0;
  const client::Transport flaky = [&](const std::string& method, const std::string& target, const std::string& body,
                                      const client::Headers& headers) -> Result<client::HttpResult> {
    if (++calls <= 12) {  // lost, 429, lost, 429, ...: never two losses in a row
      if (calls % 2 == 1) return Status::io_error("receive: end of stream");
      client::HttpResult busy;
      busy.status = 429;
      busy.headers = {{"retry-after", "1"}};
      busy.body = R"({"code":"rate_limited","detail":"busy","status":429})";
      return busy;
    }
    return real(method, target, body, headers);
  };
  client::UploadOptions o = no_wait(3);
  auto s = client::upload_attachments(*box, flaky, srv.a.token, o);
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  CHECK(s->files == 1);
  CHECK(box->unsent().empty());
  auto blobs = store::FileBlobStore::open(srv.data_dir());
  REQUIRE(blobs.ok());
  CHECK(slurp((*blobs)->path_of(store::sha256_hex_of(photo))) == photo);
}

TEST_CASE("attachments: uploads through a link that drops requests and answers resume and never corrupt") {
  std::uint64_t seed = std::random_device{}();
  if (const char* env = std::getenv("AKT_SEED")) seed = std::strtoull(env, nullptr, 10);
  INFO("seed " << seed);
  MESSAGE("attachment fault seed " << seed << " (AKT_SEED=" << seed << " replays the faults; thread timing may differ)");
  std::mt19937_64 rng(seed);
  test::TestServer srv;
  client::FaultOptions f;
  f.drop_before = 0.15;
  f.drop_after = 0.15;
  f.cut_response = 0.15;
  f.cut_request = 0.15;  // a prefix of the chunk reaches the server, then the link is cut
  f.seed = seed;
  auto proxy = client::FaultProxy::start(srv.port(), f);
  REQUIRE(proxy.ok());
  test::TempDir dir;
  auto box = client::AttachmentBox::open(dir.file("box"));
  REQUIRE(box.ok());
  std::vector<std::string> files;
  std::uint64_t total = 0;
  for (int i = 0; i < 6; ++i) {
    files.push_back(random_bytes(30000 + rng() % 470000, rng));
    total += files.back().size();
    REQUIRE(box->add(files.back(), "image/jpeg").ok());
  }
  client::HttpOptions ho;
  ho.timeout = std::chrono::milliseconds(10000);
  client::HttpClient http("127.0.0.1", (*proxy)->port(), ho);
  client::UploadOptions o = no_wait(60);
  o.chunk_bytes = 10000 + rng() % 60000;  // chunk boundaries, hence cut offsets, differ per seed
  auto s = client::upload_attachments(*box, client::http_transport(http), srv.a.token, o);
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  CHECK(s->files == files.size());
  CHECK(s->file_bytes == total);
  CHECK(s->bytes_sent >= total);
  const auto faults = (*proxy)->counts();
  CHECK(faults.cut_request > 0);
  CHECK(faults.drop_before + faults.drop_after + faults.cut_response > 0);
  // A lost chunk costs at most itself: never more than one chunk per fault is sent again.
  CHECK(s->bytes_sent <=
        total + (faults.drop_before + faults.drop_after + faults.cut_response + faults.cut_request) * o.chunk_bytes);
  auto blobs = store::FileBlobStore::open(srv.data_dir());
  REQUIRE(blobs.ok());
  CHECK((*blobs)->digests().size() == files.size());
  CHECK((*blobs)->part_ids().empty());
  for (const std::string& bytes : files) CHECK(slurp((*blobs)->path_of(store::sha256_hex_of(bytes))) == bytes);
  CHECK(box->unsent().empty());

  // The same photos on a reinstalled box of the same device: nothing is sent again.
  test::TempDir dir2;
  auto box2 = client::AttachmentBox::open(dir2.file("box"));
  for (const std::string& bytes : files) REQUIRE(box2->add(bytes, "image/jpeg").ok());
  (*proxy)->set_faults(false);
  auto again = client::upload_attachments(*box2, client::http_transport(http), srv.a.token, no_wait(6));
  REQUIRE(again.ok());
  CHECK(again->skipped == files.size());
  CHECK(again->bytes_sent == 0);
}

TEST_CASE("attachments: kill -9 of aktsyncd in the middle of a chunk leaves no blob, and the upload resumes") {
  test::TempDir dir;
  const test::Device dev{test::uuid_n(0x61), "tok-attach-kill"};
  std::ofstream(dir.file("aktsyncd.json"))
      << R"({"listen":"127.0.0.1:0","log_level":"warn","forms":{"validate":false},"data_dir":")" << dir.file("data")
      << R"(","devices":[{"actor":")" << dev.actor << R"(","name":"k","token_sha256":")"
      << server::sha256_hex(dev.token) << R"("}]})";
  auto proc = client::ServerProcess::start(AKTSYNCD_PATH, dir.file("aktsyncd.json"), dir.path());
  REQUIRE(proc.ok());
  std::mt19937_64 rng(42);
  const std::string photo = random_bytes(1 << 20, rng);
  const std::string digest = store::sha256_hex_of(photo);

  // 200,000 bytes acknowledged, then a chunk whose body is cut by the crash.
  client::HttpClient c("127.0.0.1", (*proc)->port());
  auto created = c.request("POST", "/v1/uploads",
                           nlohmann::json{{"v", 1}, {"digest", digest}, {"size", photo.size()}, {"type", "image/jpeg"}}.dump(),
                           dev.auth());
  REQUIRE(created.ok());
  REQUIRE(created->status == 201);
  const std::string id = nlohmann::json::parse(created->body)["upload"].get<std::string>();
  auto first = c.request("PATCH", "/v1/uploads/" + id, photo.substr(0, 200000),
                         {{"Authorization", "Bearer " + dev.token},
                          {"Content-Type", "application/offset+octet-stream"},
                          {"Upload-Offset", "0"}});
  REQUIRE(first.ok());
  REQUIRE(first->status == 200);
  {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((*proc)->port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    const std::string head = "PATCH /v1/uploads/" + id + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + dev.token +
                             "\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: 200000\r\n"
                             "Content-Length: 300000\r\n\r\n";
    const std::string part = head + photo.substr(200000, 120000);
    REQUIRE(::send(fd, part.data(), part.size(), 0) == static_cast<ssize_t>(part.size()));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    (*proc)->kill9();
    ::close(fd);
  }
  {
    auto blobs = store::FileBlobStore::open(dir.file("data"));
    REQUIRE(blobs.ok());
    CHECK((*blobs)->digests().empty());  // nothing partial is ever a blob
    CHECK(*(*blobs)->part_size(id) == 200000);
  }
  REQUIRE((*proc)->restart().ok());
  test::TempDir boxdir;
  auto box = client::AttachmentBox::open(boxdir.file("box"));
  REQUIRE(box->add(photo, "image/jpeg").ok());
  client::HttpClient again("127.0.0.1", (*proc)->port());
  auto s = client::upload_attachments(*box, client::http_transport(again), dev.token, no_wait(6));
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  CHECK(s->files == 1);
  CHECK(s->resumes == 1);
  CHECK(s->bytes_sent == photo.size() - 200000);  // the stored bytes were not sent again
  auto blobs = store::FileBlobStore::open(dir.file("data"));
  CHECK(slurp((*blobs)->path_of(digest)) == photo);
  CHECK((*blobs)->part_ids().empty());
  CHECK((*proc)->stop().ok());
}

// Benchmark of attachments: N photos of S bytes uploaded through the client library (resumable
// chunks, digest verified, fsynced, renamed) to an in-process aktsyncd on 127.0.0.1, then downloaded
// (GET /v1/blobs/{digest}, each referenced by a pushed record). In the same run and the same folder, the
// disk's sequential write rate: the same number of bytes written in 1 MiB writes and fsynced once.
// Prints MB/s and the ratios to the disk rate; with --faults, also the bytes sent / photo bytes through
// the fault proxy (dropped requests and answers at the given probability). With --cut-every-ms, also
// uploads through the proxy's emulated link (--rate bytes/s, --delay-ms one way, every connection cut at
// that period) as the aktsync CLI does (no resend behind the uploader's back; chunks of --chunk-time-ms of
// link time, or fixed --chunk bytes with --chunk-time-ms 0), and prints the chunk bytes and the wire bytes
// sent per photo byte, and the time over the photos' bytes at link rate. The bytes of a chunk that crossed
// the link before a cut reach the server (which keeps them, PROTOCOL §14.2), as on a real link;
// --deliver-cut 0 forwards whole requests only, the server never seeing a cut chunk. Scale the link to save time:
// 128 kbit/s, 300 ms and a cut every 30 s are --rate 160000 --delay-ms 15 --cut-every-ms 3000 ten times faster.
//
//   build/release/tests/bench/akt_attach_bench --photos 1000 --size 1048576 --chunk 1048576
//   build/dev/tests/bench/akt_attach_bench --photos 0 --size 1000000 --link-photos 4 --chunk 32768
//       --rate 160000 --delay-ms 15 --cut-every-ms 3000 --chunk-time-ms 300
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "clients/attachments.hpp"
#include "clients/fault_proxy.hpp"
#include "clients/http_client.hpp"
#include "schema/store/blob_store.hpp"
#include "server/auth.hpp"
#include "server/log.hpp"
#include "server/server.hpp"
#include "sync/wire_json.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;
using Clock = std::chrono::steady_clock;

namespace {

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "attach_bench: failed: %s\n", why.c_str());
  std::exit(1);
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The disk's sequential write rate in MB/s: `bytes` written in 1 MiB pieces, one fsync at the end.
double disk_rate(const std::string& path, std::uint64_t bytes) {
  std::string buf(1 << 20, 'x');
  const auto t = Clock::now();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) die("open " + path);
  for (std::uint64_t at = 0; at < bytes; at += buf.size())
    if (::write(fd, buf.data(), buf.size()) != static_cast<ssize_t>(buf.size())) die("write");
  ::fsync(fd);
  ::close(fd);
  const double s = seconds_since(t);
  ::unlink(path.c_str());
  return static_cast<double>(bytes) / 1e6 / s;
}

}  // namespace

int main(int argc, char** argv) {
  int photos = 1000;
  std::size_t size = 1 << 20, chunk = 1 << 20;
  double faults = 0;
  int link_photos = 4, delay_ms = 0, cut_every_ms = 0, chunk_time_ms = 3000, deliver_cut = 1;
  std::uint64_t rate = 16000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--photos") photos = std::stoi(v);
    else if (k == "--link-photos") link_photos = std::stoi(v);
    else if (k == "--rate") rate = std::stoull(v);
    else if (k == "--delay-ms") delay_ms = std::stoi(v);
    else if (k == "--cut-every-ms") cut_every_ms = std::stoi(v);
    else if (k == "--deliver-cut") deliver_cut = std::stoi(v);
    else if (k == "--chunk-time-ms") chunk_time_ms = std::stoi(v);
    else if (k == "--size") size = std::stoul(v);
    else if (k == "--chunk") chunk = std::stoul(v);
    else if (k == "--faults") faults = std::stod(v);
    else die("unknown option " + k);
  }
  server::set_log_level(std::getenv("AKT_BENCH_LOG") ? std::getenv("AKT_BENCH_LOG") : "warn");
  test::TempDir dir;
  const std::string actor = "0190f5c2-7a1e-4cc0-9a4b-2f1e3d4c5b6a", token = "bench-device-token-0123456789";
  server::Config c;
  c.listen_address = "127.0.0.1";
  c.listen_port = 0;
  c.data_dir = dir.file("server");
  c.io_threads = 2;
  c.workers = 4;
  c.log_level = std::getenv("AKT_BENCH_LOG") ? std::getenv("AKT_BENCH_LOG") : "warn";
  c.forms.validate = false;
  c.limits.requests_per_minute = 0;
  c.attachments.max_bytes = static_cast<std::int64_t>(size) + 1;
  c.devices = {{actor, "bench", server::sha256_hex(token)}};
  auto app = server::make_app_state(c);
  if (!app.ok()) die("app state: " + app.status().message());
  auto srv = server::Server::start(*app);
  if (!srv.ok()) die("server start");

  // The photos, kept in the client's box (written before the clock starts).
  auto box = client::AttachmentBox::open(dir.file("box"));
  if (!box.ok()) die("box");
  std::mt19937_64 rng(1);
  std::vector<sync::AttachmentRef> refs;
  for (int i = 0; i < photos; ++i) {
    std::string bytes(size, '\0');
    for (std::size_t j = 0; j < size; j += 8) {
      const std::uint64_t r = rng();
      std::memcpy(bytes.data() + j, &r, std::min<std::size_t>(8, size - j));
    }
    auto ref = box->add(bytes, "image/jpeg");
    if (!ref.ok()) die("add");
    refs.push_back(*ref);
  }
  const std::uint64_t total = static_cast<std::uint64_t>(photos) * size;
  const double disk = disk_rate(dir.file("server/disk_probe"), total);

  client::HttpClient http("127.0.0.1", (*srv)->port());
  client::UploadOptions o;
  o.chunk_bytes = chunk;
  auto t = Clock::now();
  auto up = client::upload_attachments(*box, client::http_transport(http), token, o);
  if (!up.ok()) die("upload: " + up.status().message());
  const double up_rate = static_cast<double>(total) / 1e6 / seconds_since(t);

  // One record per photo, so each file has a reader.
  sync::PushRequest req{"bench-refs", {}};
  for (int i = 0; i < photos; ++i) {
    sync::Edit e;
    char id[37];
    std::snprintf(id, sizeof id, "0190f5c2-7a1e-7cc0-9a4b-%012d", i);
    e.record_id = id;
    e.form_id = "t_bench";
    e.form_version = 1;
    e.scope = {"gracanice", "serb", "SO1"};
    e.dot = {actor, i + 1};
    e.changed = {"p"};
    e.body = nlohmann::json{{"p", sync::format_attachment_ref(refs[static_cast<std::size_t>(i)])}}.dump();
    req.edits.push_back(e);
  }
  const std::vector<std::pair<std::string, std::string>> h{{"Authorization", "Bearer " + token},
                                                           {"Content-Type", "application/json"}};
  for (std::size_t at = 0; at < req.edits.size(); at += 500) {
    sync::PushRequest part{"bench-" + std::to_string(at), {}};
    for (std::size_t i = at; i < std::min(req.edits.size(), at + 500); ++i) part.edits.push_back(req.edits[i]);
    auto r = http.request("POST", "/v1/push", sync::encode_push_request(part), h);
    if (!r.ok() || r->status != 200) die("push");
  }
  t = Clock::now();
  std::uint64_t got = 0;
  for (const auto& ref : refs) {
    auto r = http.request("GET", "/v1/blobs/" + ref.digest, "", h);
    if (!r.ok() || r->status != 200) die("download " + ref.digest);
    got += r->body.size();
  }
  const double down_rate = static_cast<double>(got) / 1e6 / seconds_since(t);
  std::printf("photos %d x %zu bytes, chunk %zu\n", photos, size, chunk);
  std::printf("disk sequential write  %8.1f MB/s\n", disk);
  std::printf("upload                 %8.1f MB/s  (%.2f of disk)\n", up_rate, up_rate / disk);
  std::printf("download               %8.1f MB/s  (%.2f of disk write rate)\n", down_rate, down_rate / disk);

  if (faults > 0) {
    client::FaultOptions f;
    f.drop_before = f.drop_after = f.cut_response = f.cut_request = faults;
    auto proxy = client::FaultProxy::start((*srv)->port(), f);
    if (!proxy.ok()) die("proxy");
    test::TempDir dir2;
    auto box2 = client::AttachmentBox::open(dir2.file("box"));
    std::mt19937_64 rng2(2);
    for (int i = 0; i < std::min(photos, 50); ++i) {
      std::string bytes(size, '\0');
      for (char& ch : bytes) ch = static_cast<char>(rng2());
      if (!box2->add(bytes, "image/jpeg").ok()) die("add");
    }
    client::HttpClient via("127.0.0.1", (*proxy)->port());
    client::UploadOptions fo;
    fo.chunk_bytes = chunk;
    fo.max_attempts = 100;
    fo.sleep = [](std::chrono::milliseconds) {};
    auto s = client::upload_attachments(*box2, client::http_transport(via), token, fo);
    if (!s.ok()) die("upload through faults: " + s.status().message());
    std::printf("through faults (p=%.2f each): bytes sent / photo bytes = %.3f (%zu resumes)\n", faults,
                static_cast<double>(s->bytes_sent) / static_cast<double>(s->file_bytes), s->resumes);
  }
  if (cut_every_ms > 0) {
    client::FaultOptions f;
    f.link.rate_bytes_per_s = rate;
    f.link.delay_ms = delay_ms;
    f.link.cut_every_ms = cut_every_ms;
    f.link.deliver_cut_requests = deliver_cut != 0;  // what crossed before a cut reaches the server
    auto proxy = client::FaultProxy::start((*srv)->port(), f);
    if (!proxy.ok()) die("proxy");
    test::TempDir dir3;
    auto box3 = client::AttachmentBox::open(dir3.file("box"));
    std::mt19937_64 rng3(3);
    for (int i = 0; i < link_photos; ++i) {
      std::string bytes(size, '\0');
      for (char& ch : bytes) ch = static_cast<char>(rng3());
      if (!box3->add(bytes, "image/jpeg").ok()) die("add");
    }
    client::HttpOptions ho;
    ho.retry_stale_connection = false;
    ho.timeout = ho.stall_timeout = std::chrono::seconds(30);
    client::HttpClient via("127.0.0.1", (*proxy)->port(), ho);
    client::UploadOptions lo;
    lo.chunk_bytes = chunk;
    lo.chunk_time = std::chrono::milliseconds(chunk_time_ms);
    lo.max_attempts = 0;
    lo.retry_for = std::chrono::minutes(10);
    lo.backoff_initial = std::chrono::milliseconds(25);  // scaled like the link
    t = Clock::now();
    auto s = client::upload_attachments(*box3, client::http_transport(via), token, lo);
    const double took = seconds_since(t);
    if (!s.ok()) die("upload through the link: " + s.status().message());
    const double bytes = static_cast<double>(s->file_bytes);
    std::printf("link %llu B/s, %d ms one way, cut every %d ms%s, chunk %s: chunk bytes / photo bytes = %.3f, "
                "wire bytes up / photo bytes = %.3f, time / (photo bytes at link rate) = %.2f; %zu chunks, %zu lost, "
                "%llu cuts, last chunk %zu\n",
                static_cast<unsigned long long>(rate), delay_ms, cut_every_ms,
                deliver_cut ? "" : " (cut chunks never reach the server)",
                chunk_time_ms > 0 ? (std::to_string(chunk_time_ms) + " ms of link").c_str()
                                  : (std::to_string(chunk) + " bytes").c_str(),
                static_cast<double>(s->bytes_sent) / bytes, static_cast<double>(via.stats().bytes_sent) / bytes,
                took / (bytes / static_cast<double>(rate)), s->chunks, s->lost_chunks,
                static_cast<unsigned long long>((*proxy)->counts().link_cuts), s->last_chunk_bytes);
  }
  (*srv)->stop();
  return 0;
}

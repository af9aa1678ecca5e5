// DESIGN §7.6 at the process level: aktsyncd killed with SIGKILL while clients push loses no
// acknowledged edit, and restarts on an intact database.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <thread>

#include "clients/http_client.hpp"
#include "server/auth.hpp"
#include "sync/wire_json.hpp"
#include "tests/support/feed.hpp"
#include "tests/support/edits.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;

namespace {

struct Daemon {
  pid_t pid = -1;
  std::uint16_t port = 0;
};

Daemon start_daemon(const std::string& dir) {
  std::remove((dir + "/port").c_str());
  Daemon d;
  d.pid = fork();
  REQUIRE(d.pid >= 0);
  if (d.pid == 0) {
    const std::string cfg = dir + "/aktsyncd.json";
    execl(AKTSYNCD_PATH, "aktsyncd", "--config", cfg.c_str(), "--port-file", (dir + "/port").c_str(),
          "--log-level", "warn", static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 500 && d.port == 0; ++i) {
    std::ifstream in(dir + "/port");
    int p = 0;
    if (in >> p) d.port = static_cast<std::uint16_t>(p);
    else std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(d.port != 0);
  return d;
}

}  // namespace

TEST_CASE("process: SIGKILL of aktsyncd during pushes loses no acknowledged edit") {
  test::TempDir dir;
  const test::Device devs[] = {{test::uuid_n(0x51), "tok-kill-1"}, {test::uuid_n(0x52), "tok-kill-2"}};
  std::ofstream(dir.file("aktsyncd.json"))
      << R"({"listen":"127.0.0.1:0","forms":{"validate":false},"data_dir":")" << dir.file("data") << R"(","devices":[)"
      << R"({"actor":")" << devs[0].actor << R"(","name":"k1","token_sha256":")" << server::sha256_hex(devs[0].token)
      << R"("},{"actor":")" << devs[1].actor << R"(","name":"k2","token_sha256":")"
      << server::sha256_hex(devs[1].token) << R"("}]})";
  Daemon d = start_daemon(dir.path());

  std::mutex mu;
  std::map<std::string, std::string> acked;  // record -> body acknowledged
  std::atomic<int> acks{0};
  std::atomic<bool> stop{false};
  std::atomic<int> finished{0};  // pushers that stopped (the server refused or died)
  std::vector<std::thread> pushers;
  for (int t = 0; t < 2; ++t) {
    pushers.emplace_back([&, t] {
      struct Done {
        std::atomic<int>& n;
        ~Done() { ++n; }
      } done{finished};
      client::HttpClient c("127.0.0.1", d.port);
      std::int64_t n = 0;
      for (int b = 0; !stop; ++b) {
        sync::PushRequest req{"k" + std::to_string(b), {}};
        for (int i = 0; i < 10; ++i) {
          ++n;
          req.edits.push_back(test::make_edit(test::uuid7(1700000000000 + static_cast<std::uint64_t>(n),
                                                          static_cast<std::uint64_t>(t)),
                                              devs[t].actor, n, {}, R"({"n":)" + std::to_string(n) + "}", {"n"}));
        }
        auto r = c.request("POST", "/v1/push", sync::encode_push_request(req), devs[t].auth());
        if (!r.ok() || r->status != 200) return;  // the server died: stop pushing
        std::lock_guard lock(mu);
        for (const auto& e : req.edits) acked[e.record_id] = e.body;
        ++acks;
      }
    });
  }
  // Until 30 batches are acknowledged; not forever if the pushers stop first or the server stalls.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
  while (acks < 30 && finished < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(acks >= 30);
  kill(d.pid, SIGKILL);
  waitpid(d.pid, nullptr, 0);
  stop = true;
  for (auto& t : pushers) t.join();
  REQUIRE(acked.size() >= 300);

  Daemon again = start_daemon(dir.path());
  client::HttpClient c("127.0.0.1", again.port);
  auto feed = test::pull_all(c, devs[0], "", 5000);
  for (const auto& [id, body] : acked) {
    auto it = feed.records.find(id);
    const std::string& record = id;  // the message's lambda cannot take a structured binding (clang 14)
    REQUIRE_MESSAGE(it != feed.records.end(), "acknowledged record lost: " << record);
    CHECK(it->second.live.at(0).body == body);
  }
  kill(again.pid, SIGTERM);
  int status = 0;
  waitpid(again.pid, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

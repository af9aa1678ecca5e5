// Durability: a child process pushes batches and reports each acknowledgement through a pipe; the
// parent kills it with SIGKILL right after an acknowledgement, reopens the store, and checks that
// every acknowledged edit is there and the database is intact (DESIGN §7.6).
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>

#include "schema/store/server_store.hpp"
#include "tests/support/edits.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;

namespace {

const std::string kDev = test::uuid_n(0xD);

std::string record_of(int batch, int i) { return test::uuid_n(static_cast<std::uint64_t>(batch) * 1000 + i + 1); }

[[noreturn]] void child_pushes(const std::string& path, int fd) {
  store::ServerStoreOptions o;
  o.path = path;
  auto s = store::ServerStore::open(o);
  if (!s.ok()) _exit(2);
  std::int64_t n = 0;
  for (int b = 0; b < 100000; ++b) {
    sync::PushRequest req;
    req.batch_id = "k" + std::to_string(b);
    for (int i = 0; i < 20; ++i)
      req.edits.push_back(test::make_edit(record_of(b, i), kDev, ++n, {}, R"({"pct":)" + std::to_string(i) + "}",
                                          {"pct"}));
    store::PushInput in{kDev, &req, 1};
    if (!(*s)->push(in).ok()) _exit(3);
    // Acknowledge only after push() returned, i.e. after COMMIT.
    if (write(fd, &b, sizeof b) != sizeof b) _exit(4);
  }
  _exit(0);
}

}  // namespace

TEST_CASE("durability: SIGKILL right after an acknowledgement loses nothing") {
  test::TempDir dir;
  const std::string path = dir.file("kill.db");
  std::mt19937 rng(std::random_device{}());
  for (int round = 0; round < 3; ++round) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    const int kill_after = 5 + static_cast<int>(rng() % 40);
    INFO("round " << round << ", kill after ack " << kill_after);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      close(fds[0]);
      child_pushes(path + std::to_string(round), fds[1]);
    }
    close(fds[1]);
    int last_acked = -1, got = 0, b = 0;
    while (got < kill_after && read(fds[0], &b, sizeof b) == sizeof b) {
      last_acked = b;
      ++got;
    }
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    close(fds[0]);
    REQUIRE(last_acked >= 0);

    store::ServerStoreOptions o;
    o.path = path + std::to_string(round);
    auto s = store::ServerStore::open(o);
    REQUIRE(s.ok());
    CHECK((*s)->integrity_check().ok());
    for (int bb = 0; bb <= last_acked; ++bb) {
      for (int i = 0; i < 20; ++i) {
        auto r = (*s)->record(record_of(bb, i));
        REQUIRE(r.ok());
        REQUIRE(r->has_value());
        CHECK((*r)->live[0].body == R"({"pct":)" + std::to_string(i) + "}");
      }
    }
    // The feed is dense up to what survived.
    auto page = (*s)->changes(0, 1000000);
    REQUIRE(page.ok());
    CHECK(page->records.size() == static_cast<std::size_t>((*s)->last_seq()));
    CHECK(page->records.size() >= static_cast<std::size_t>((last_acked + 1) * 20));
  }
}

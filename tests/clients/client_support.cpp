#include "tests/clients/client_support.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

extern char** environ;

namespace akt::test {

std::array<std::uint8_t, 10> random10(std::mt19937_64& rng) {
  std::array<std::uint8_t, 10> r{};
  for (auto& b : r) b = static_cast<std::uint8_t>(rng());
  return r;
}

store::NewRecord infra_record(const std::string& body, std::vector<std::string> changed) {
  return {"so1_infra_monitoring", 1, {"gracanice", "serb", "SO1"}, nlohmann::json::parse(body).dump(),
          std::move(changed)};
}

std::unique_ptr<store::TabletStore> open_tablet(const std::string& path, const Device& dev, std::uint16_t port) {
  auto s = store::TabletStore::open(path);
  REQUIRE(s.ok());
  if (!(*s)->device().ok()) {
    REQUIRE((*s)->init({dev.actor, "127.0.0.1:" + std::to_string(port), dev.token}, std::hash<std::string>()(path),
                       1700000000000)
                .ok());
  }
  return std::move(*s);
}

Tablet::Tablet(const std::string& path, const Device& dev, std::uint16_t port, std::uint64_t seed)
    : store(open_tablet(path, dev, port)), http("127.0.0.1", port), rng(seed) {}

std::string Tablet::create(const std::string& body, std::vector<std::string> changed) {
  now += 1000;
  auto id = store->create(infra_record(body, std::move(changed)), now, random10(rng));
  REQUIRE(id.ok());
  return *id;
}

void Tablet::edit(const std::string& record, const std::string& body, std::vector<std::string> changed) {
  now += 1000;
  auto d = store->edit(record, nlohmann::json::parse(body).dump(), changed, now);
  REQUIRE_MESSAGE(d.ok(), d.status().message());
}

store::LocalRecord Tablet::get(const std::string& record) {
  auto r = store->record(record);
  REQUIRE(r.ok());
  REQUIRE(r->has_value());
  return std::move(**r);
}

Result<client::SyncSummary> Tablet::sync(client::Transport transport) {
  client::SyncOptions o;
  o.batch_edits = 3;  // small, so that tests cross batch boundaries
  o.pull_limit = 2;   // and page boundaries
  o.max_attempts = 6;
  o.sleep = [this](std::chrono::milliseconds) { ++sleeps; };
  o.partial_answer = [this] { return http.partial_answer(); };
  client::SyncClient c(*store, transport ? transport : client::http_transport(http), o);
  now += 1000;
  return c.sync(now);
}

Run run_program(const std::string& path, const std::vector<std::string>& args, const TempDir& dir) {
  const std::string out = dir.file("stdout.txt"), err = dir.file("stderr.txt");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  // stdin is /dev/null: a program that would ask for input (a password prompt when the suite runs on a
  // developer's terminal) sees end of input at once instead of waiting for the keyboard.
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> argv{const_cast<char*>(path.c_str())};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, path.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  REQUIRE(rc == 0);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  auto slurp = [](const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

void check_converged(Tablet& t, const Feed& server) {
  auto ids = t.store->record_ids();
  REQUIRE(ids.ok());
  CHECK(ids->size() == server.records.size());
  for (const auto& id_state : server.records) {
    const auto& id = id_state.first;  // named, not bound: clang 14 cannot capture a binding in a message
    const auto& state = id_state.second;
    auto r = t.store->record(id);
    REQUIRE(r.ok());
    REQUIRE_MESSAGE(r->has_value(), "record missing on the tablet: " << id);
    const store::LocalRecord& lr = **r;
    CHECK(lr.unsynced == 0);
    REQUIRE(lr.live.size() == state.live.size());
    for (std::size_t i = 0; i < state.live.size(); ++i) {
      CHECK(lr.live[i].dot == state.live[i].dot);
      CHECK(lr.live[i].body == state.live[i].body);
      CHECK(lr.live[i].deleted == state.live[i].deleted);
      CHECK_FALSE(lr.live[i].is_local);
    }
  }
}

}  // namespace akt::test

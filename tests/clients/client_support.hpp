// Helpers for the client tests: a tablet (local store + sync client) against a TestServer, and the
// convergence check of DESIGN §7.1.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "clients/http_client.hpp"
#include "clients/sync_client.hpp"
#include "schema/store/tablet_store.hpp"
#include "tests/support/feed.hpp"
#include "tests/support/temp_dir.hpp"

namespace akt::test {

std::array<std::uint8_t, 10> random10(std::mt19937_64& rng);
// A new record of the infra monitoring form in gracanice/serb/SO1 with `body` (any JSON object text).
store::NewRecord infra_record(const std::string& body, std::vector<std::string> changed);
// Opens (creating) a tablet database and makes it `dev`'s device unless it already is one.
std::unique_ptr<store::TabletStore> open_tablet(const std::string& path, const Device& dev, std::uint16_t port);

// One tablet: its store and an HTTP connection to the server; time moves one second per save.
struct Tablet {
  Tablet(const std::string& path, const Device& dev, std::uint16_t port, std::uint64_t seed);
  std::string create(const std::string& body, std::vector<std::string> changed);
  void edit(const std::string& record, const std::string& body, std::vector<std::string> changed);
  store::LocalRecord get(const std::string& record);
  // One sync round; `transport` defaults to the tablet's own HTTP connection.
  Result<client::SyncSummary> sync(client::Transport transport = {});

  std::unique_ptr<store::TabletStore> store;
  client::HttpClient http;
  std::mt19937_64 rng;
  std::int64_t now = 1700000000000;
  int sleeps = 0;  // backoff waits the sync client asked for (they do not really wait)
};

struct Run {
  int code = -1;  // exit code, -1 when killed by a signal
  std::string out, err;
};
// Runs the program at `path` with `args` (stdout and stderr through files in `dir`) and waits for it.
Run run_program(const std::string& path, const std::vector<std::string>& args, const TempDir& dir);

// CHECKs DESIGN §7.1 for one tablet: the same records as the server's feed, each with the same live
// versions (dots and bodies) and deletions, and nothing left unsynced.
void check_converged(Tablet& t, const Feed& server);

}  // namespace akt::test

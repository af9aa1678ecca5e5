// The fleet simulator: N tablets (each its own TabletStore and HTTP connection, in this process) make
// random offline creates, edits and deletes, sync at random moments against a real aktsyncd, then sync
// until nothing moves, and check DESIGN §7.1 (every tablet equals the server's feed). Deterministic
// for a seed, apart from the server's own timing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sync/status.hpp"

namespace akt::client {

struct SimDevice {
  std::string actor;  // canonical UUID known to the server
  std::string token;
};

struct SimOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::vector<SimDevice> devices;  // one tablet each; at least one
  std::string work_dir;            // the tablets' databases go here (must exist)
  int rounds = 10;
  int ops_per_round = 4;           // saves per tablet per round
  int sync_percent = 40;           // chance (%) that a tablet syncs at the end of a round
  std::uint64_t seed = 1;
  int max_attempts = 6;            // per request (see SyncOptions)
  std::int64_t start_ms = 1475280000000;  // simulated device clock start
};

struct SimReport {
  bool converged = false;
  std::size_t tablets = 0, records = 0, saves = 0, syncs = 0;
  std::size_t conflicts = 0;             // records in conflict at the end
  std::size_t rejected = 0;              // edits the server rejected (expected: 0)
  int settle_passes = 0;                 // sync passes needed until nothing moved
  std::vector<std::string> problems;     // what differs, when not converged (at most 20)
};

// Runs the simulation. kIOError when the server cannot be reached; other Status codes from the
// tablets' stores. Divergence is not an error: it is reported in SimReport::problems.
Result<SimReport> run_fleet(const SimOptions& options);

}  // namespace akt::client

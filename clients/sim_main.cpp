// aktsync-sim: runs a fleet of simulated tablets against a running aktsyncd and checks that they all
// converge to the server's state (DESIGN §7.1). Exit 0 converged, 1 diverged or rejected edits,
// 2 usage, 3 server unreachable.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include <stdlib.h>

#include "clients/fleet_sim.hpp"

using namespace akt;

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: aktsync-sim --server HOST:PORT --device ACTOR:TOKEN [--device ACTOR:TOKEN ...]\n"
               "                   [--rounds N] [--ops N] [--sync-percent P] [--seed S] [--attempts N] [--dir DIR]\n"
               "  One simulated tablet per --device (each must be registered with the server). Each round,\n"
               "  every tablet makes --ops random saves offline (create, edit, delete) and syncs with\n"
               "  probability P%%; then all sync until nothing moves, and every tablet is compared with\n"
               "  the server's feed. DIR (default: a new folder in /tmp) keeps the tablets' databases.\n");
  return 2;
}

bool to_int(const std::string& s, long long lo, long long hi, long long& out) {
  char* end = nullptr;
  out = std::strtoll(s.c_str(), &end, 10);
  return !s.empty() && *end == '\0' && out >= lo && out <= hi;
}

int run(int argc, char** argv) {
  client::SimOptions o;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    if (f == "--help" || f == "-h") return usage(), 0;
    if (i + 1 >= argc) return usage();
    const std::string v = argv[++i];
    long long n = 0;
    if (f == "--server") {
      const auto colon = v.rfind(':');
      if (colon == std::string::npos || !to_int(v.substr(colon + 1), 1, 65535, n)) return usage();
      o.host = v.substr(0, colon);
      o.port = static_cast<std::uint16_t>(n);
    } else if (f == "--device") {
      const auto colon = v.find(':');
      if (colon == std::string::npos) return usage();
      o.devices.push_back({v.substr(0, colon), v.substr(colon + 1)});
    } else if (f == "--rounds" && to_int(v, 0, 1000000, n)) {
      o.rounds = static_cast<int>(n);
    } else if (f == "--ops" && to_int(v, 0, 100000, n)) {
      o.ops_per_round = static_cast<int>(n);
    } else if (f == "--sync-percent" && to_int(v, 0, 100, n)) {
      o.sync_percent = static_cast<int>(n);
    } else if (f == "--seed" && to_int(v, 0, (1LL << 62), n)) {
      o.seed = static_cast<std::uint64_t>(n);
    } else if (f == "--attempts" && to_int(v, 1, 100, n)) {
      o.max_attempts = static_cast<int>(n);
    } else if (f == "--dir") {
      o.work_dir = v;
    } else {
      return usage();
    }
  }
  if (o.port == 0 || o.devices.empty()) return usage();
  if (o.work_dir.empty()) {
    char tmpl[] = "/tmp/aktsync-sim-XXXXXX";
    if (!mkdtemp(tmpl)) return std::fprintf(stderr, "aktsync-sim: cannot make a temporary folder\n"), 1;
    o.work_dir = tmpl;
  }
  std::printf("seed %llu, %zu tablets, %d rounds x %d saves, databases in %s\n",
              static_cast<unsigned long long>(o.seed), o.devices.size(), o.rounds, o.ops_per_round, o.work_dir.c_str());
  auto r = client::run_fleet(o);
  if (!r.ok()) {
    std::fprintf(stderr, "aktsync-sim: %s\n", r.status().message().c_str());
    return r.status().code() == Status::Code::kIOError ? 3 : 1;
  }
  std::printf("saves %zu, syncs %zu, records %zu, conflicts %zu, rejected %zu, settled after %d passes\n", r->saves,
              r->syncs, r->records, r->conflicts, r->rejected, r->settle_passes);
  for (const auto& p : r->problems) std::printf("DIVERGED %s\n", p.c_str());
  std::printf("%s\n", r->converged ? "converged" : "NOT converged");
  return r->converged && r->rejected == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "aktsync-sim: internal error: %s\n", e.what());
    return 1;
  }
}

// The fleet simulator against a real in-process aktsyncd with four registered tablets: random offline
// saves and syncs, then DESIGN §7.1 (every tablet equals the server). Also runs the aktsync-sim binary.
#include "clients/fleet_sim.hpp"

#include <doctest/doctest.h>

#include "server/app_state.hpp"
#include "server/auth.hpp"
#include "server/log.hpp"
#include "server/server.hpp"
#include "tests/clients/client_support.hpp"
#include "tests/support/edits.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;

namespace {

// An in-process server on 127.0.0.1:0 that knows `n` tablets.
struct FleetServer {
  explicit FleetServer(int n) {
    server::Config c;
    c.listen_address = "127.0.0.1";
    c.listen_port = 0;
    c.data_dir = dir.path();
    c.io_threads = 2;
    c.workers = 4;
    c.log_level = "warn";
    c.accounts.password_kdf_n = 1024;  // fast hashing in tests, as TestServer does
    c.forms.validate = false;          // the simulator's bodies are free-form (TODO(#5): valid Form B bodies)
    for (int k = 0; k < n; ++k) {
      devices.push_back({test::uuid_n(0x5100 + static_cast<std::uint64_t>(k)), "fleet-token-" + std::to_string(k)});
      c.devices.push_back({devices.back().actor, "sim-" + std::to_string(k), server::sha256_hex(devices.back().token)});
    }
    server::set_log_level(c.log_level);
    REQUIRE(server::check_config(c).ok());
    auto app = server::make_app_state(c);
    REQUIRE(app.ok());
    auto s = server::Server::start(*app);
    REQUIRE(s.ok());
    srv = std::move(*s);
  }
  ~FleetServer() { srv->stop(); }
  test::TempDir dir;
  std::vector<client::SimDevice> devices;
  std::unique_ptr<server::Server> srv;
};

}  // namespace

TEST_CASE("fleet: four tablets with random offline edits converge") {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    CAPTURE(seed);
    FleetServer fs(4);  // a fresh server per run: new databases under old actors would reuse dots
    test::TempDir work;
    const std::string sub = work.file("seed-" + std::to_string(seed));
    REQUIRE(std::system(("mkdir -p " + sub).c_str()) == 0);
    client::SimOptions o;
    o.port = fs.srv->port();
    o.devices = fs.devices;
    o.work_dir = sub;
    o.rounds = 6;
    o.ops_per_round = 4;
    o.seed = seed;
    auto r = client::run_fleet(o);
    REQUIRE_MESSAGE(r.ok(), r.status().message());
    for (const auto& p : r->problems) MESSAGE(p);
    CHECK(r->converged);
    CHECK(r->rejected == 0);
    CHECK(r->saves > 0);
    CHECK(r->settle_passes <= 3);
  }
}

TEST_CASE("fleet: the aktsync-sim binary reports convergence") {
  FleetServer fs(3);
  test::TempDir work;
  std::vector<std::string> args{"--server", "127.0.0.1:" + std::to_string(fs.srv->port()), "--rounds", "4",
                                "--seed", "42", "--dir", work.path()};
  for (const auto& d : fs.devices) {
    args.push_back("--device");
    args.push_back(d.actor + ":" + d.token);
  }
  auto r = test::run_program(AKTSYNC_SIM_PATH, args, work);
  CHECK_MESSAGE(r.code == 0, (r.out + r.err));
  CHECK(r.out.find("converged") != std::string::npos);
  test::TempDir other;
  auto bad = test::run_program(AKTSYNC_SIM_PATH, {"--server", "127.0.0.1:1", "--device", "x:y", "--dir", other.path()},
                               other);
  CHECK(bad.code == 1);  // "x" is not a UUID
  CHECK(bad.err.find("UUID") != std::string::npos);
  test::TempDir off;
  auto down = test::run_program(AKTSYNC_SIM_PATH, {"--server", "127.0.0.1:1", "--device", fs.devices[0].actor + ":t",
                                                   "--rounds", "1", "--attempts", "1", "--dir", off.path()},
                                off);
  CHECK(down.code == 3);  // unreachable
}

// aktsync-sim: a fleet of simulated tablets against aktsyncd, through a fault-injecting proxy, with an
// oracle that checks DESIGN §7 at the end (see clients/fleet_sim.hpp). Exit 0 when every invariant
// held, 1 on any violation, 2 usage, 3 server unreachable or not startable.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include <stdlib.h>

#include "clients/fleet_sim.hpp"

using namespace akt;

namespace {

constexpr const char* kUsage =
    "usage: aktsync-sim --aktsyncd PATH --forms-dir DIR --tablets N [options]    (a server it runs itself)\n"
    "       aktsync-sim --server HOST:PORT --device ACTOR:TOKEN [--device ...] [--admin-token T] [options]\n"
    "       aktsync-sim --order-check --aktsyncd PATH --forms-dir DIR [order options]\n"
    "\n"
    "Simulated tablets make random offline saves of valid Form A records (creates, edits, deletes), sync at\n"
    "random moments, then all sync until nothing moves (fault-free), and an oracle checks DESIGN §7:\n"
    "convergence, no acknowledged edit lost, no false merge or false conflict (needs the inbox: an admin),\n"
    "identical replays, feed completeness. With --aktsyncd the simulator starts that binary on DIR/server\n"
    "with forms validation on, publishes the forms of --forms-dir and uses N static devices and an admin.\n"
    "\n"
    "options:\n"
    "  --rounds N          rounds (default 10); each tablet makes --ops saves per round\n"
    "  --ops N             saves per tablet per round (default 4)\n"
    "  --sync-percent P    chance that a tablet syncs after a round (default 40)\n"
    "  --delete-percent P  chance that a save deletes (default 2); --create-percent P (default 10)\n"
    "  --old-form-percent P  chance that a tablet runs Form A v1 while a v2 (one more field) is published\n"
    "                      beside it (default 0; needs --aktsyncd); v1 tablets send back or omit the v2 field\n"
    "  --photos N          N small photos (2-6 KB): half the records created take one (shared); photo i is\n"
    "                      uploaded before its push (i%3=0), after it (1) or never (2); checked at the end:\n"
    "                      each uploaded one readable by digest, pending_upload exactly for the others\n"
    "                      (default 0; needs the forms published: --aktsyncd or an admin)\n"
    "  --seed S            seed of everything random (default 1)\n"
    "  --attempts N        attempts per request before a sync gives up (default 6)\n"
    "  --backoff-ms N      first retry pause (default 250; doubles, capped at 16x)\n"
    "  --faults P          sync through a fault proxy; P = probability of each fault per request\n"
    "                      (drop before, drop after commit, cut answer, delay, duplicate push, reorder push)\n"
    "  --drop-before P --drop-after P --cut P --delay P --duplicate P --reorder P   one fault each\n"
    "  --restart           (with --aktsyncd) SIGKILL the server during a sync in a seeded round, restart it\n"
    "  --postgres URL      (with --aktsyncd) the server's store is PostgreSQL's at URL (an existing database)\n"
    "  --instances N       (with --postgres) N aktsyncd on that one database, each its own data folder, behind\n"
    "                      the proxy's round robin (each request to the next instance; a refused one is\n"
    "                      skipped); --restart then SIGKILLs the last instance with a request in flight on\n"
    "                      it and restarts it, or with --kill-no-restart leaves it down for the rest of the run\n"
    "  --dir DIR           where databases go (default: a new folder in /tmp)\n"
    "  --inject-lost-ack   self-test: the oracle invents an acknowledged edit; the run must fail\n"
    "\n"
    "--order-check (DESIGN §7.4): per history, --tablets N tablets (default 5) pull --records R records\n"
    "(default 3) and --rule-records infrastructure cards (default 1; their rules can break in a merge),\n"
    "each saves --saves S times offline (default 1) pushing after each save; the same pushes\n"
    "are then replayed on fresh aktsyncd servers in --orders K interleavings (default 4, the recorded one\n"
    "included) keeping each device's own order; every outcome must have the same flagged paths, unflagged\n"
    "values and inbox entries. --histories H (default 10), --seed, --delete-percent (default 20),\n"
    "--old-form-percent (default 30) apply. With S > 1, semantic entries are left out (DESIGN §7.4).\n"
    "--other-records: a device's saves are each on another record (no device saves a record twice).\n";

int usage(bool help = false) {
  std::fputs(kUsage, help ? stdout : stderr);
  return help ? 0 : 2;
}

bool to_int(const std::string& s, long long lo, long long hi, long long& out) {
  char* end = nullptr;
  out = std::strtoll(s.c_str(), &end, 10);
  return !s.empty() && *end == '\0' && out >= lo && out <= hi;
}

bool to_prob(const std::string& s, double& out) {
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return !s.empty() && *end == '\0' && out >= 0 && out <= 1;
}

int run_order(const client::SimOptions& o, client::OrderOptions oc, bool delete_given, bool old_given) {
  if (o.aktsyncd.empty() || o.forms_dir.empty() || o.port != 0 || !o.devices.empty()) return usage();
  if (o.tablets > 0) oc.tablets = o.tablets;
  if (oc.tablets < 2) return usage();
  if (!delete_given) oc.delete_percent = 20;
  if (!old_given) oc.old_form_percent = 30;
  oc.seed = o.seed;
  oc.forms_dir = o.forms_dir;
  oc.work_dir = o.work_dir;
  if (oc.work_dir.empty()) {
    char tmpl[] = "/tmp/aktsync-sim-XXXXXX";
    if (!mkdtemp(tmpl)) return std::fprintf(stderr, "aktsync-sim: cannot make a temporary folder\n"), 1;
    oc.work_dir = tmpl;
  }
  int started = 0;
  const std::string binary = o.aktsyncd, base = oc.work_dir;
  const int devices = oc.tablets + 1;
  const std::uint64_t seed = oc.seed;
  oc.fresh = [&started, binary, base, devices, seed]() {
    return client::start_aktsyncd(binary, base + "/server-" + std::to_string(started++), devices, seed);
  };
  std::printf("order check: seed %llu, %d histories x %d orders, %d tablets x %d saves on %d records, deletes %d%%, "
              "v1 tablets %d%%, in %s\n",
              static_cast<unsigned long long>(oc.seed), oc.histories, oc.orders, oc.tablets, oc.saves, oc.records,
              oc.delete_percent, oc.old_form_percent, oc.work_dir.c_str());
  std::fflush(stdout);
  auto r = client::run_order_check(oc);
  if (!r.ok()) {
    std::fprintf(stderr, "aktsync-sim: %s\n", r.status().message().c_str());
    return r.status().code() == Status::Code::kIOError ? 3 : 1;
  }
  const client::OrderReport& x = *r;
  std::printf("runs %zu, pushes %zu, saves %zu (edits %zu, deletes %zu, by v1 tablets %zu), recorded entries %zu, "
              "flagged paths %zu, rejected %zu, records with semantic entries left out %zu\n",
              x.runs, x.pushes, x.saves, x.edits, x.deletes, x.old_form_saves, x.entries, x.flagged, x.rejected,
              x.semantic_skipped);
  for (const auto& v : x.violations) std::printf("VIOLATION %s\n", v.c_str());
  std::printf("violations %zu, %.1f s\n%s\n", x.violation_count, x.seconds,
              x.ok() ? "every order gave the same outcome" : "ORDER DEPENDENCE FOUND");
  return x.ok() ? 0 : 1;
}

int run(int argc, char** argv) {
  client::SimOptions o;
  client::OrderOptions oc;
  bool restart = false, order = false, order_delete = false, order_old = false;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    if (f == "--help" || f == "-h") return usage(true);
    if (f == "--restart") {
      restart = true;
      continue;
    }
    if (f == "--kill-no-restart") {
      restart = true;
      o.restart_killed = false;
      continue;
    }
    if (f == "--inject-lost-ack") {
      o.inject_lost_ack = true;
      continue;
    }
    if (f == "--order-check") {
      order = true;
      continue;
    }
    if (f == "--other-records") {
      oc.repeat_record = false;
      continue;
    }
    if (i + 1 >= argc) return usage();
    const std::string v = argv[++i];
    long long n = 0;
    double p = 0;
    if (f == "--server") {
      const auto colon = v.rfind(':');
      if (colon == std::string::npos || !to_int(v.substr(colon + 1), 1, 65535, n)) return usage();
      o.host = v.substr(0, colon);
      o.port = static_cast<std::uint16_t>(n);
    } else if (f == "--device") {
      const auto colon = v.find(':');
      if (colon == std::string::npos) return usage();
      o.devices.push_back({v.substr(0, colon), v.substr(colon + 1)});
    } else if (f == "--admin-token") {
      o.admin_token = v;
    } else if (f == "--aktsyncd") {
      o.aktsyncd = v;
    } else if (f == "--forms-dir") {
      o.forms_dir = v;
    } else if (f == "--tablets" && to_int(v, 1, 100000, n)) {
      o.tablets = static_cast<int>(n);
    } else if (f == "--rounds" && to_int(v, 0, 1000000, n)) {
      o.rounds = static_cast<int>(n);
    } else if (f == "--ops" && to_int(v, 0, 100000, n)) {
      o.ops_per_round = static_cast<int>(n);
    } else if (f == "--sync-percent" && to_int(v, 0, 100, n)) {
      o.sync_percent = static_cast<int>(n);
    } else if (f == "--delete-percent" && to_int(v, 0, 50, n)) {
      o.delete_percent = oc.delete_percent = static_cast<int>(n);
      order_delete = true;
    } else if (f == "--old-form-percent" && to_int(v, 0, 100, n)) {
      o.old_form_percent = oc.old_form_percent = static_cast<int>(n);
      order_old = true;
    } else if (f == "--photos" && to_int(v, 0, 1000, n)) {
      o.photos = static_cast<int>(n);
    } else if (f == "--histories" && to_int(v, 1, 100000, n)) {
      oc.histories = static_cast<int>(n);
    } else if (f == "--orders" && to_int(v, 2, 1000, n)) {
      oc.orders = static_cast<int>(n);
    } else if (f == "--records" && to_int(v, 1, 10000, n)) {
      oc.records = static_cast<int>(n);
    } else if (f == "--rule-records" && to_int(v, 0, 10000, n)) {
      oc.rule_records = static_cast<int>(n);
    } else if (f == "--saves" && to_int(v, 1, 100, n)) {
      oc.saves = static_cast<int>(n);
    } else if (f == "--create-percent" && to_int(v, 0, 50, n)) {
      o.create_percent = static_cast<int>(n);
    } else if (f == "--seed" && to_int(v, 0, (1LL << 62), n)) {
      o.seed = static_cast<std::uint64_t>(n);
    } else if (f == "--attempts" && to_int(v, 1, 100, n)) {
      o.max_attempts = static_cast<int>(n);
    } else if (f == "--backoff-ms" && to_int(v, 1, 60000, n)) {
      o.backoff_ms = static_cast<int>(n);
    } else if (f == "--faults" && to_prob(v, p)) {
      o.use_proxy = true;
      o.faults.drop_before = o.faults.drop_after = o.faults.cut_response = o.faults.delay = o.faults.duplicate =
          o.faults.reorder = p;
    } else if ((f == "--drop-before" || f == "--drop-after" || f == "--cut" || f == "--delay" || f == "--duplicate" ||
                f == "--reorder") &&
               to_prob(v, p)) {
      o.use_proxy = true;
      (f == "--drop-before" ? o.faults.drop_before
       : f == "--drop-after" ? o.faults.drop_after
       : f == "--cut"        ? o.faults.cut_response
       : f == "--delay"      ? o.faults.delay
       : f == "--duplicate"  ? o.faults.duplicate
                             : o.faults.reorder) = p;
    } else if (f == "--postgres") {
      o.postgres_url = v;
    } else if (f == "--instances" && to_int(v, 1, 16, n)) {
      o.instances = static_cast<int>(n);
    } else if (f == "--dir") {
      o.work_dir = v;
    } else {
      std::fprintf(stderr, "aktsync-sim: bad option or value: %s %s\n", f.c_str(), v.c_str());
      return usage();
    }
  }
  const bool managed = !o.aktsyncd.empty();
  if (order) return run_order(o, oc, order_delete, order_old);
  if (managed ? (o.forms_dir.empty() || o.tablets < 1 || o.port != 0 || !o.devices.empty())
              : (o.port == 0 || o.devices.empty() || restart))
    return usage();
  if (o.instances > 1 && o.postgres_url.empty()) return usage();
  if (!o.restart_killed && o.instances < 2) return usage();
  if (restart) o.restart_at_round = client::kSeededRestart;
  if (o.work_dir.empty()) {
    char tmpl[] = "/tmp/aktsync-sim-XXXXXX";
    if (!mkdtemp(tmpl)) return std::fprintf(stderr, "aktsync-sim: cannot make a temporary folder\n"), 1;
    o.work_dir = tmpl;
  }
  const std::size_t n_tablets = managed ? static_cast<std::size_t>(o.tablets) : o.devices.size();
  std::printf("seed %llu, %zu tablets, %d rounds x %d saves, databases in %s%s\n",
              static_cast<unsigned long long>(o.seed), n_tablets, o.rounds, o.ops_per_round, o.work_dir.c_str(),
              o.instances > 1 ? (", " + std::to_string(o.instances) + " servers on one PostgreSQL").c_str()
              : o.postgres_url.empty() ? "" : ", server on PostgreSQL");
  std::fflush(stdout);
  auto r = client::run_fleet(o);
  if (!r.ok()) {
    std::fprintf(stderr, "aktsync-sim: %s\n", r.status().message().c_str());
    return r.status().code() == Status::Code::kIOError ? 3 : 1;
  }
  const client::SimReport& x = *r;
  std::printf("saves %zu (creates %zu, edits %zu, deletes %zu), acknowledged %zu, syncs %zu (%zu gave up under "
              "faults), settled after %d passes\n",
              x.saves, x.creates, x.edits, x.deletes, x.acked, x.syncs, x.failed_syncs, x.settle_passes);
  std::printf("records %zu, in conflict %zu, inbox entries %zu, rejected %zu, fields checked %zu, kills %zu (%zu with "
              "a request in flight), restarts %zu, feeds from a mid-run cursor %zu\n",
              x.records, x.conflicts, x.entries, x.rejected, x.fields_checked, x.kills, x.kills_in_flight, x.restarts,
              x.cursor_checks);
  if (o.use_proxy || o.instances > 1) {
    const auto& f = x.faults;
    std::printf("faults: requests %zu, drop-before %zu, drop-after-commit %zu, cut-answer %zu, delay %zu, "
                "duplicate %zu, reorder %zu (held retries dropped %zu), upstream errors %zu, upstream failovers %zu\n",
                f.requests, f.drop_before, f.drop_after, f.cut_response, f.delay, f.duplicate, f.reorder, f.held_drops,
                f.upstream_errors, f.upstream_failovers);
  }
  if (o.old_form_percent > 0)
    std::printf("tablets on form v1 %zu, their saves %zu; acknowledged deletes checked %zu\n", x.old_form_tablets,
                x.old_form_saves, x.deletes_checked);
  else
    std::printf("acknowledged deletes checked %zu\n", x.deletes_checked);
  if (o.photos > 0)
    std::printf("photos: %zu referenced, %zu read back by digest, %zu never uploaded; %zu records with a photo, %zu "
                "pending_upload; %zu files uploaded (%llu chunk bytes for %llu file bytes), %zu uploads gave up "
                "under faults\n",
                x.photos_referenced, x.photos_read, x.photos_never, x.photo_records, x.pending_records,
                x.photo_files_sent, static_cast<unsigned long long>(x.photo_bytes_sent),
                static_cast<unsigned long long>(x.photo_file_bytes), x.photo_upload_failures);
  if (!x.inbox_checked) std::printf("note: no admin token: no-false-merge/conflict checks skipped\n");
  for (const auto& p : x.problems) std::printf("DIVERGED %s\n", p.c_str());
  for (const auto& v : x.violations) std::printf("VIOLATION %s\n", v.c_str());
  std::printf("violations %zu, %.1f s\n%s\n", x.violation_count, x.seconds,
              x.ok() ? "all invariants held" : "INVARIANTS BROKEN");
  return x.ok() ? 0 : 1;
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

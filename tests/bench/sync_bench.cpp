// Benchmark of the core sync path against what the disk and SQLite allow.
//
// One run = for each profile, interleaved: N records pushed in batches over C keep-alive connections
// to an in-process aktsyncd on 127.0.0.1, pulled back (plain, gzip and zstd), exported (CSV and JSON Lines),
// and, on the same machine in the same run, two raw SQLite ceilings over the same rows:
//   - insert ceiling: the best raw shape for the server's writes: time-ordered UUIDv7 keys as BLOB,
//     INTEGER PRIMARY KEY tables (records + versions, five B-trees per row: rowids, the record key,
//     the feed order, the dot), 16 KiB pages, WAL with auto-checkpoint 10000, synchronous=FULL, one
//     commit per C batches (a perfect group commit);
//   - read-splice ceiling: the stored JSON bodies read back in keyset pages and spliced verbatim into
//     a page of text, no sort, no parse.
// Printed: push / insert ceiling, pull / read-splice at each page size of --limits (the first is the one
// gzip, zstd and the summary use), pull gzip / pull, pull zstd / pull, export / read-splice, the database's bytes per body byte,
// and, to choose the answer's gzip level, the pulled pages deflated in-process at each of --gzip-levels
// (records per second of one core and bytes per record), and the same for zstd at each of --zstd-levels
// (flushed as the server flushes its answers); with --runs > 1, medians with min-max.
// --compact N pulls the feed with compact=N (tablets ask 2; 0, the default, is the full feed).
// --keep-db DIR copies the SQLite server's data folder of each profile to DIR/<profile> (for dbstat).
//
// Profiles: "survey": Form A bodies of about 2.1 KB with a `changed` list of every field (68 names) per
// create, the project's own workload; "small": the same bodies cut to about 1 KB, no `changed` list,
// to compare with systems whose documents are small and carry no field list.
//
//   build/rel/tests/bench/akt_sync_bench --records 50000 --runs 3 --limits 500,1000,5000 --gzip-levels 1,3,5,6
//
// With --pg-url (a libpq keyword string naming a maintenance database, e.g. "host=/run/postgresql
// dbname=postgres"), each run also runs the server on PostgreSQL (store.engine "postgres", a fresh
// database made from that url per run, named akt_bench_<pid>_<n>, dropped afterwards) with the same
// workload, right after SQLite's: push, pull and export rates side by side, and PostgreSQL / SQLite
// ratios (medians of the per-run ratios). --engine sqlite|postgres|both chooses (both by default when
// --pg-url is given). The raw ceilings stay SQLite's. With --instances N (N > 1), each PostgreSQL run is
// followed by one with N servers on one fresh database (as N aktsyncd behind a load balancer; here in one
// process, each with its own store, connection pool and LISTEN connection): the pushing connections take
// the servers in turn, then N devices pull the whole feed at once, one through each server. Printed: the
// N-server rates over the one-server rates of the same run, and where the push time goes: CPU seconds of
// this process (servers and bench clients) and of PostgreSQL's processes over the push's wall time.
#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "clients/http_client.hpp"
#include "clients/record_gen.hpp"
#include "schema/store/accounts_store.hpp"
#ifdef AKT_HAVE_POSTGRES
#include "schema/store/postgres/pg_conn.hpp"
#include "schema/store/postgres/pg_store.hpp"
#endif
#include "schema/store/server_store.hpp"
#include "schema/store/store_tx.hpp"
#include "server/auth.hpp"
#include "server/log.hpp"
#include "server/password.hpp"
#include "server/server.hpp"
#include "server/router.hpp"
#include "sync/gzip.hpp"
#include "sync/zstd.hpp"
#include "sync/uuid.hpp"
#include "sync/wire_json.hpp"
#include "tests/bench/bench_support.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;
using namespace akt::bench;

namespace {

const std::string kForm = "so1_interethnic_survey";
const std::string kPw = "bench password 123";

struct Options {
  int records = 200000, batch = 500, connections = 16, runs = 1;
  std::vector<int> limits = {500, 5000};  // pull page sizes, measured in turn; the first is the default's
  std::vector<int> gzip_levels = {1, 3, 5, 6};
  std::vector<int> zstd_levels = {1, 3, 6};
  int compact = 0;  // the pulls' compact= (0: the full feed)
  std::string profile = "both";
  bool breakdown = false;
  std::string pg_url;           // maintenance database url; "" = SQLite only
  std::string engine = "sqlite";  // sqlite, postgres or both
  int instances = 1;              // > 1: a PostgreSQL run with that many servers on one database too
  std::string keep_db;            // a folder to copy the SQLite server's data folder into, per profile, for dbstat
};

struct Figures {
  double push = 0, insert_ceiling = 0, pull = 0, pull_gzip = 0, pull_zstd = 0, splice_ceiling = 0, csv = 0,
         jsonl = 0;
  double db_bytes_per_body_byte = 0;
  double db_pages_per_body_byte = 0;  // the database's pages alone (page_count x page_size, the WAL's applied)
  std::vector<double> pull_at, splice_at;       // per --limits entry (pull and splice are the first's)
  std::vector<double> gzip_rate, gzip_bytes;    // per --gzip-levels entry: records/s, bytes per record
  std::vector<double> zstd_rate, zstd_bytes;    // per --zstd-levels entry (flushed as the answers are)
  double page_bytes = 0;                        // plain answer bytes per record at the first limit
  // Where the push time went (PostgreSQL runs): CPU seconds of this process and of PostgreSQL's
  // processes, and the push's wall seconds.
  double push_cpu_self = 0, push_cpu_pg = 0, push_wall = 0;
  double pull_all = 0;  // several servers: records per second of every device's pull together
};

struct Row {
  std::string id;  // 16 bytes
  std::string actor;
  std::int64_t n = 0;
  sync::Scope scope;
  std::string body;
};

struct Workload {
  std::string name;
  std::vector<std::string> actors, tokens;
  std::vector<std::vector<std::string>> batches;  // per connection: encoded push bodies
  std::vector<Row> rows;
  std::size_t body_bytes = 0, changed_names = 0, wire_bytes = 0;
};

// A Form A body cut to at most `max` bytes: whole answers are dropped from the end, the header kept.
std::string cut_body(const std::string& body, std::size_t max) {
  auto j = nlohmann::ordered_json::parse(body);
  while (j.dump().size() > max && j.size() > 8) j.erase(std::prev(j.end()).key());
  return j.dump();
}

Workload make_workload(const Options& o, bool small) {
  Workload w;
  w.name = small ? "small" : "survey";
  std::mt19937_64 rng(7);
  for (int c = 0; c < o.connections; ++c) {
    std::array<std::uint8_t, 16> r{};
    for (auto& b : r) b = static_cast<std::uint8_t>(rng());
    w.actors.push_back(sync::format_uuid(sync::make_uuid_v4(r)));
    w.tokens.push_back("bench-token-" + std::to_string(c));
  }
  w.batches.resize(static_cast<std::size_t>(o.connections));
  std::vector<std::int64_t> counters(static_cast<std::size_t>(o.connections), 0);
  const std::uint64_t t0 = 1700000000000;
  for (int i = 0, b = 0; i < o.records; ++b) {
    const auto c = static_cast<std::size_t>(b % o.connections);
    sync::PushRequest req{w.name + "-" + std::to_string(b), {}};
    for (int k = 0; k < o.batch && i < o.records; ++k, ++i) {
      client::GeneratedRecord g = client::generate_survey_record(rng);
      sync::Edit e;
      e.record_id = client::new_record_id(t0 + static_cast<std::uint64_t>(i), rng);
      e.form_id = kForm;
      e.form_version = 1;
      e.scope = g.scope;
      e.dot = {w.actors[c], ++counters[c]};
      if (small) {
        e.body = cut_body(g.body, 1066);
      } else {
        e.changed = g.changed;
        e.body = g.body;
      }
      e.device_time = static_cast<std::int64_t>(t0) + i;
      w.body_bytes += e.body.size();
      w.changed_names += e.changed.size();
      auto id = *sync::parse_uuid(e.record_id);
      w.rows.push_back({std::string(reinterpret_cast<const char*>(id.data()), id.size()), e.dot.actor, e.dot.n,
                        e.scope, e.body});
      req.edits.push_back(std::move(e));
    }
    w.batches[c].push_back(sync::encode_push_request(req));
    w.wire_bytes += w.batches[c].back().size();
  }
  return w;
}

std::size_t folder_bytes(const std::string& dir) {
  std::size_t total = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec))
    if (e.is_regular_file(ec) && e.path().string().find("/blobs/") == std::string::npos) total += e.file_size(ec);
  return total;
}

// Raw SQLite, no wrapper: the ceilings must not carry our own store's costs.
struct RawDb {
  sqlite3* db = nullptr;
  explicit RawDb(const std::string& path, bool setup = true) {
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) die("raw open");
    if (!setup) return;
    exec("PRAGMA page_size=16384");
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    exec("PRAGMA wal_autocheckpoint=10000");
  }
  ~RawDb() { sqlite3_close(db); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;
  void exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) die(std::string("raw: ") + (err ? err : sql));
  }
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) die("raw prepare");
    return s;
  }
};

// The insert ceiling: the rows in the server's shape, one commit per `group` rows.
double insert_ceiling(RawDb& raw, const Workload& w, int group) {
  raw.exec(
      "CREATE TABLE records(rid INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE, form TEXT NOT NULL, "
      "municipality TEXT NOT NULL, community TEXT NOT NULL, component TEXT NOT NULL, seq INTEGER NOT NULL);"
      "CREATE INDEX records_seq ON records(seq);"
      "CREATE TABLE versions(vid INTEGER PRIMARY KEY, rid INTEGER NOT NULL, actor BLOB NOT NULL, "
      "n INTEGER NOT NULL, body TEXT NOT NULL);"
      "CREATE INDEX versions_dot ON versions(actor, n);");
  sqlite3_stmt* rec = raw.prepare(
      "INSERT INTO records(rid, id, form, municipality, community, component, seq) VALUES(?1,?2,?3,?4,?5,?6,?1)");
  sqlite3_stmt* ver = raw.prepare("INSERT INTO versions(vid, rid, actor, n, body) VALUES(?1,?1,?2,?3,?4)");
  const auto t = Clock::now();
  for (std::size_t i = 0; i < w.rows.size();) {
    raw.exec("BEGIN IMMEDIATE");
    for (int k = 0; k < group && i < w.rows.size(); ++k, ++i) {
      const Row& r = w.rows[i];
      const auto key = static_cast<sqlite3_int64>(i + 1);
      sqlite3_bind_int64(rec, 1, key);
      sqlite3_bind_blob(rec, 2, r.id.data(), static_cast<int>(r.id.size()), SQLITE_STATIC);
      sqlite3_bind_text(rec, 3, kForm.data(), static_cast<int>(kForm.size()), SQLITE_STATIC);
      sqlite3_bind_text(rec, 4, r.scope.municipality.data(), static_cast<int>(r.scope.municipality.size()),
                        SQLITE_STATIC);
      sqlite3_bind_text(rec, 5, r.scope.community.data(), static_cast<int>(r.scope.community.size()), SQLITE_STATIC);
      sqlite3_bind_text(rec, 6, r.scope.component.data(), static_cast<int>(r.scope.component.size()), SQLITE_STATIC);
      if (sqlite3_step(rec) != SQLITE_DONE) die("raw insert record");
      sqlite3_reset(rec);
      sqlite3_bind_int64(ver, 1, key);
      sqlite3_bind_blob(ver, 2, r.actor.data(), static_cast<int>(r.actor.size()), SQLITE_STATIC);
      sqlite3_bind_int64(ver, 3, r.n);
      sqlite3_bind_text(ver, 4, r.body.data(), static_cast<int>(r.body.size()), SQLITE_STATIC);
      if (sqlite3_step(ver) != SQLITE_DONE) die("raw insert version");
      sqlite3_reset(ver);
    }
    raw.exec("COMMIT");
  }
  const double rate = static_cast<double>(w.rows.size()) / seconds_since(t);
  sqlite3_finalize(rec);
  sqlite3_finalize(ver);
  return rate;
}

// The read-splice ceiling: keyset pages of `limit` rows, each body spliced verbatim after its seq.
double splice_ceiling(RawDb& raw, std::size_t expected, int limit) {
  sqlite3_stmt* s = raw.prepare("SELECT vid, body FROM versions WHERE vid > ?1 ORDER BY vid LIMIT ?2");
  std::string page;
  std::size_t rows = 0;
  sqlite3_int64 after = 0;
  const auto t = Clock::now();
  for (;;) {
    page.assign("{\"changes\":[");
    sqlite3_bind_int64(s, 1, after);
    sqlite3_bind_int(s, 2, limit);
    std::size_t in_page = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
      after = sqlite3_column_int64(s, 0);
      if (in_page++) page.push_back(',');
      page += "{\"seq\":";
      page += std::to_string(after);
      page += ",\"body\":";
      page.append(reinterpret_cast<const char*>(sqlite3_column_text(s, 1)),
                  static_cast<std::size_t>(sqlite3_column_bytes(s, 1)));
      page.push_back('}');
    }
    sqlite3_reset(s);
    page += "]}";
    rows += in_page;
    if (in_page < static_cast<std::size_t>(limit)) break;
  }
  const double rate = static_cast<double>(rows) / seconds_since(t);
  sqlite3_finalize(s);
  if (rows != expected) die("read-splice read " + std::to_string(rows) + " rows");
  return rate;
}

struct Server {
  test::TempDir dir;
  std::string pg_url;  // the run's own PostgreSQL database, "" on SQLite
  std::shared_ptr<server::AppState> app;
  std::unique_ptr<server::Server> srv;
  std::string admin;  // session token
};

// `first`: the database is new (users and forms are made); else the server joins one another server made.
void start(Server& s, const Options& o, const Workload& w, bool first = true) {
  server::Config c;
  c.listen_address = "127.0.0.1";
  c.listen_port = 0;
  c.data_dir = s.dir.file("server");
  c.io_threads = 2;
  c.workers = o.connections + 2;
  c.log_level = "warn";
  c.accounts.password_kdf_n = 1024;
  c.forms.validate = false;  // the bare sync path; form validation runs beside it on the worker pool
  if (!s.pg_url.empty()) c.store = {"postgres", s.pg_url};
  for (std::size_t i = 0; i < w.actors.size(); ++i)
    c.devices.push_back({w.actors[i], "bench-" + std::to_string(i), server::sha256_hex(w.tokens[i])});
  auto app = server::make_app_state(c);
  if (!app.ok()) die("app state: " + app.status().message());
  s.app = *app;
  auto srv = server::Server::start(s.app);
  if (!srv.ok()) die("server start");
  s.srv = std::move(*srv);
  if (!first) {
    client::HttpClient cl("127.0.0.1", s.srv->port());
    auto login = cl.request("POST", "/v1/login", nlohmann::json{{"username", "admin"}, {"password", kPw}}.dump(),
                            {{"Content-Type", "application/json"}});
    if (!login.ok() || login->status != 200) die("login on a second server");
    s.admin = nlohmann::json::parse(login->body)["token"].get<std::string>();
    return;
  }
  store::User u;
  u.username = "admin";
  u.role = sync::Role::kAdmin;
  u.password_hash = server::hash_password(kPw, {1024, 8, 1});
  u.created_at = 1;
  if (!s.app->store->update([&](store::StoreWriter& tx) { return tx.insert_user(u).status(); }).ok())
    die("user");
  client::HttpClient cl("127.0.0.1", s.srv->port());
  auto login = cl.request("POST", "/v1/login", nlohmann::json{{"username", "admin"}, {"password", kPw}}.dump(),
                          {{"Content-Type", "application/json"}});
  if (!login.ok() || login->status != 200) die("login");
  s.admin = nlohmann::json::parse(login->body)["token"].get<std::string>();
  const std::vector<std::pair<std::string, std::string>> h{{"Authorization", "Bearer " + s.admin},
                                                           {"Content-Type", "application/json"}};
  std::ifstream in(std::string(AKT_SOURCE_DIR) + "/schema/forms/programme/" + kForm + ".json", std::ios::binary);
  const std::string form((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto up = cl.request("POST", "/v1/admin/forms", form, h);
  if (!up.ok() || up->status != 201) die("form upload");
  if (cl.request("POST", "/v1/admin/forms/" + kForm + "/1/publish", "{}", h)->status != 200) die("publish");
}

enum class Coding { kPlain, kGzip, kZstd };

// `compact`: the feed's compact= (0: every member, as this bench always measured; tablets ask 2).
double pull(std::uint16_t port, const std::string& token, int limit, int compact, Coding coding, std::size_t expected,
            std::vector<std::string>* pages = nullptr) {
  client::HttpOptions ho;
  ho.accept_gzip = coding != Coding::kPlain;
  ho.accept_zstd = coding == Coding::kZstd;  // "zstd, gzip;q=0.5": the server answers zstd
  client::HttpClient cl("127.0.0.1", port, ho);
  std::vector<std::pair<std::string, std::string>> h{{"Authorization", "Bearer " + token}};
  std::string cursor;
  std::size_t pulled = 0;
  const auto t = Clock::now();
  for (;;) {
    auto r = cl.request("GET",
                        "/v1/changes?limit=" + std::to_string(limit) +
                            (compact > 0 ? "&compact=" + std::to_string(compact) : std::string()) + "&since=" + cursor,
                        {}, h);
    if (!r.ok() || r->status != 200) die("pull");
    // Count and read the cursor with a scan: the bench measures the server, not a client's JSON DOM.
    const std::string& b = r->body;
    for (std::size_t p = b.find("{\"record\":"); p != std::string::npos; p = b.find("{\"record\":", p + 1)) ++pulled;
    if (pages) pages->push_back(b);
    const std::size_t next = b.rfind("\"next\":\"");
    cursor = b.substr(next + 8, b.find('"', next + 8) - (next + 8));
    if (b.find("\"more\":true", b.size() - 16) == std::string::npos) break;
  }
  const double rate = static_cast<double>(pulled) / seconds_since(t);
  if (pulled != expected) die("pulled " + std::to_string(pulled) + " records, expected " + std::to_string(expected));
  return rate;
}

// CPU seconds (user and system) of this process so far.
double self_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// CPU seconds (user and system) of the live processes named "postgres" (the server and its backends;
// the bench's connections stay open through a phase, so their backends are counted).
double postgres_cpu_seconds() {
  double ticks = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "stat");
    std::string line;
    if (!std::getline(in, line)) continue;
    const std::size_t open = line.find('('), close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos || line.substr(open + 1, close - open - 1) != "postgres")
      continue;
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int k = 3; k <= 15 && rest >> field; ++k) {  // fields 14 and 15: utime, stime (clock ticks)
      if (k == 14) utime = std::atof(field.c_str());
      if (k == 15) stime = std::atof(field.c_str());
    }
    ticks += utime + stime;
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

#ifdef AKT_HAVE_POSTGRES
// A fresh database for one run (and its url), made through the maintenance url.
std::string make_pg_database(const Options& o, const std::string& name) {
  if (Status st = store::pg_create_database(o.pg_url, name, ""); !st.ok()) die("create database: " + st.message());
  return o.pg_url + " dbname=" + name;
}
void drop_pg_database(const Options& o, const std::string& name) {
  auto c = store::pg::PgConn::connect(o.pg_url);
  if (!c.ok()) return;
  auto q = (*c)->quote_identifier(name);
  if (q.ok()) (void)(*c)->exec_script("DROP DATABASE IF EXISTS " + *q);
}
#endif

// One run on one engine; `postgres`: the server on a fresh PostgreSQL database (the ceilings are skipped:
// they are SQLite's, measured in the SQLite run), `instances` servers on it (the first makes the users
// and forms; pushes take the servers in turn; with more than one, every server's device pulls at once).
Figures run_once(const Options& o, const Workload& w, int run, bool postgres = false, int instances = 1) {
  Figures f;
  Server s;
  std::vector<std::unique_ptr<Server>> more;  // the second and later servers on the same database
  std::string pg_name;
#ifdef AKT_HAVE_POSTGRES
  static int databases = 0;
  if (postgres) {
    pg_name = "akt_bench_" + std::to_string(::getpid()) + "_" + std::to_string(++databases);
    s.pg_url = make_pg_database(o, pg_name);
  }
#else
  if (postgres) die("this build has no PostgreSQL engine");
#endif
  start(s, o, w);
  const std::uint16_t port = s.srv->port();
  const std::size_t n = w.rows.size();
  std::vector<std::uint16_t> ports{port};
  for (int k = 1; k < instances; ++k) {
    more.push_back(std::make_unique<Server>());
    more.back()->pg_url = s.pg_url;
    start(*more.back(), o, w, false);
    ports.push_back(more.back()->srv->port());
  }
  const double cpu_self0 = self_cpu_seconds(), cpu_pg0 = postgres ? postgres_cpu_seconds() : 0;

  std::atomic<int> failures{0};
  auto t = Clock::now();
  std::vector<std::thread> threads;
  for (int ci = 0; ci < o.connections; ++ci) {
    threads.emplace_back([&, ci] {
      client::HttpOptions ho;
      ho.accept_gzip = false;  // loopback: compression would only cost CPU
      ho.accept_zstd = false;
      client::HttpClient cl("127.0.0.1", ports[static_cast<std::size_t>(ci) % ports.size()], ho);
      const auto idx = static_cast<std::size_t>(ci);
      std::vector<std::pair<std::string, std::string>> h{{"Authorization", "Bearer " + w.tokens[idx]},
                                                         {"Content-Type", "application/json"}};
      for (const std::string& body : w.batches[idx]) {
        auto r = cl.request("POST", "/v1/push", body, h);
        if (!r.ok() || r->status != 200 || r->body.find("\"rejected\"") != std::string::npos) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  f.push_wall = seconds_since(t);
  f.push = static_cast<double>(n) / f.push_wall;
  f.push_cpu_self = self_cpu_seconds() - cpu_self0;
  if (postgres) f.push_cpu_pg = postgres_cpu_seconds() - cpu_pg0;
  if (failures) die(std::to_string(failures.load()) + " push requests failed");
  if (instances > 1) {
    // Every server's device pulls the whole feed at once, through its own server.
    std::vector<std::thread> pullers;
    t = Clock::now();
    for (std::size_t k = 0; k < ports.size(); ++k)
      pullers.emplace_back([&, k] { pull(ports[k], w.tokens[k % w.tokens.size()], o.limits[0], o.compact, Coding::kPlain, n); });
    for (auto& th : pullers) th.join();
    f.pull_all = static_cast<double>(n * ports.size()) / seconds_since(t);
  }

  // Page sizes in turn, then gzip at the first (the default's); the order rotates with the run so that
  // no size always goes first on a warming cache.
  for (std::size_t k = 0; k < o.limits.size(); ++k) f.pull_at.push_back(0);
  for (std::size_t k = 0; k < o.limits.size(); ++k) {
    const std::size_t at = (k + static_cast<std::size_t>(run)) % o.limits.size();
    f.pull_at[at] = pull(port, w.tokens[0], o.limits[at], o.compact, Coding::kPlain, n);
  }
  f.pull = f.pull_at[0];
  // gzip and zstd at the first page size, their order alternating with the run.
  for (int k = 0; k < 2; ++k) {
    if ((k + run) % 2 == 0) f.pull_gzip = pull(port, w.tokens[0], o.limits[0], o.compact, Coding::kGzip, n);
    else f.pull_zstd = pull(port, w.tokens[0], o.limits[0], o.compact, Coding::kZstd, n);
  }
  {
    // The answer's deflate alone, one core, over the pages the default page size gives.
    std::vector<std::string> pages;
    pull(port, w.tokens[0], o.limits[0], o.compact, Coding::kPlain, n, &pages);
    for (const std::string& p : pages) f.page_bytes += static_cast<double>(p.size());
    f.page_bytes /= static_cast<double>(n);
    for (int level : o.gzip_levels) {
      std::size_t bytes = 0;
      t = Clock::now();
      for (const std::string& p : pages) bytes += sync::gzip(p, level).size();
      f.gzip_rate.push_back(static_cast<double>(n) / seconds_since(t));
      f.gzip_bytes.push_back(static_cast<double>(bytes) / static_cast<double>(n));
    }
    for (int level : o.zstd_levels) {
      std::size_t bytes = 0;
      t = Clock::now();
      for (const std::string& p : pages) bytes += sync::zstd(p, level, server::kZstdAnswerFlushEvery).size();
      f.zstd_rate.push_back(static_cast<double>(n) / seconds_since(t));
      f.zstd_bytes.push_back(static_cast<double>(bytes) / static_cast<double>(n));
    }
  }
  for (const std::string format : {"csv", "jsonl"}) {
    t = Clock::now();
    Fetched got = fetch_chunked(port, "/v1/exports/" + kForm + "?format=" + format, s.admin);
    if (!got.complete || got.lines < n) die("export " + format + " incomplete");
    (format == "csv" ? f.csv : f.jsonl) = static_cast<double>(n) / seconds_since(t);
  }
  for (auto& m : more) m->srv->stop();
  more.clear();
  s.srv->stop();
  if (postgres) {
    s.srv.reset();
    s.app.reset();
#ifdef AKT_HAVE_POSTGRES
    drop_pg_database(o, pg_name);
#endif
    return f;
  }
  f.db_bytes_per_body_byte = static_cast<double>(folder_bytes(s.dir.file("server"))) / static_cast<double>(w.body_bytes);
  {
    // The WAL grows to the auto-checkpoint's size (10,000 pages) whatever the record count, then is reused:
    // the pages themselves are what each record costs.
    RawDb db(s.dir.file("server") + "/aktsync.db", false);
    sqlite3_stmt* st = db.prepare("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size");
    if (sqlite3_step(st) != SQLITE_ROW) die("page count");
    f.db_pages_per_body_byte = static_cast<double>(sqlite3_column_int64(st, 0)) / static_cast<double>(w.body_bytes);
    sqlite3_finalize(st);
  }
  if (!o.keep_db.empty()) {
    std::error_code ec;
    const std::filesystem::path to = std::filesystem::path(o.keep_db) / w.name;
    std::filesystem::remove_all(to, ec);
    std::filesystem::create_directories(to, ec);
    std::filesystem::copy(s.dir.file("server"), to, std::filesystem::copy_options::recursive, ec);
    if (ec) die("--keep-db: " + ec.message());
  }

  RawDb raw(s.dir.file("raw.db"));
  f.insert_ceiling = insert_ceiling(raw, w, o.batch * o.connections);
  for (int limit : o.limits) f.splice_at.push_back(splice_ceiling(raw, n, limit));
  f.splice_ceiling = f.splice_at[0];
  return f;
}

// Where the push time goes, without HTTP: decoding the batches alone, then applying the decoded
// batches straight to a ServerStore from one thread (no group commit across connections).
void breakdown(const Workload& w) {
  std::vector<sync::PushRequest> decoded;
  auto t = Clock::now();
  for (const auto& per_conn : w.batches)
    for (const std::string& body : per_conn) decoded.push_back(*sync::decode_push_request(body, sync::WireLimits{}));
  const double decode = static_cast<double>(w.rows.size()) / seconds_since(t);
  test::TempDir dir;
  store::ServerStoreOptions so;
  so.path = dir.file("direct.db");
  auto st = store::ServerStore::open(so);
  t = Clock::now();
  for (const auto& req : decoded) {
    store::PushInput in{req.edits.front().dot.actor, &req, 1};
    auto r = (*st)->push(in);
    if (!r.ok() || r->response.find("rejected") != std::string::npos) die("breakdown: push failed");
  }
  const double apply = static_cast<double>(w.rows.size()) / seconds_since(t);
  std::printf("  breakdown (%s): decode %.0f rec/s (one thread), store apply %.0f rec/s (one thread, one commit per "
              "batch)\n",
              w.name.c_str(), decode, apply);
}

struct Series {
  std::vector<double> push, insert, push_ratio, pull, pull_gzip, pull_zstd, splice, pull_ratio, gzip_ratio,
      zstd_ratio, csv, jsonl, export_ratio, db_ratio, db_pages;
  std::vector<std::vector<double>> pull_at, pull_at_ratio, gzip_rate, gzip_bytes, zstd_rate, zstd_bytes;
  std::vector<double> page_bytes;
  void add(const Figures& f) {
    page_bytes.push_back(f.page_bytes);
    pull_at.resize(f.pull_at.size());
    pull_at_ratio.resize(f.pull_at.size());
    for (std::size_t k = 0; k < f.pull_at.size(); ++k) {
      pull_at[k].push_back(f.pull_at[k]);
      pull_at_ratio[k].push_back(f.pull_at[k] / f.splice_at[k]);
    }
    gzip_rate.resize(f.gzip_rate.size());
    gzip_bytes.resize(f.gzip_rate.size());
    for (std::size_t k = 0; k < f.gzip_rate.size(); ++k) {
      gzip_rate[k].push_back(f.gzip_rate[k]);
      gzip_bytes[k].push_back(f.gzip_bytes[k]);
    }
    zstd_rate.resize(f.zstd_rate.size());
    zstd_bytes.resize(f.zstd_rate.size());
    for (std::size_t k = 0; k < f.zstd_rate.size(); ++k) {
      zstd_rate[k].push_back(f.zstd_rate[k]);
      zstd_bytes[k].push_back(f.zstd_bytes[k]);
    }
    push.push_back(f.push);
    insert.push_back(f.insert_ceiling);
    push_ratio.push_back(f.push / f.insert_ceiling);
    pull.push_back(f.pull);
    pull_gzip.push_back(f.pull_gzip);
    pull_zstd.push_back(f.pull_zstd);
    zstd_ratio.push_back(f.pull_zstd / f.pull);
    splice.push_back(f.splice_ceiling);
    pull_ratio.push_back(f.pull / f.splice_ceiling);
    gzip_ratio.push_back(f.pull_gzip / f.pull);
    csv.push_back(f.csv);
    jsonl.push_back(f.jsonl);
    export_ratio.push_back(std::min(f.csv, f.jsonl) / f.splice_ceiling);
    db_ratio.push_back(f.db_bytes_per_body_byte);
    db_pages.push_back(f.db_pages_per_body_byte);
  }
};

void print_figures(const Options& o, const char* label, const Figures& f) {
  std::printf(
      "  %s: push %.0f rec/s, insert ceiling %.0f, push/ceiling %.3f | pull %.0f, gzip %.0f, read-splice ceiling "
      "%.0f, pull/ceiling %.3f, gzip/plain %.2f, zstd %.0f, zstd/plain %.2f | csv %.0f, jsonl %.0f, export/ceiling %.3f | db %.2f B per body B "
      "(pages %.2f)\n",
      label, f.push, f.insert_ceiling, f.push / f.insert_ceiling, f.pull, f.pull_gzip, f.splice_ceiling,
      f.pull / f.splice_ceiling, f.pull_gzip / f.pull, f.pull_zstd, f.pull_zstd / f.pull, f.csv, f.jsonl, std::min(f.csv, f.jsonl) / f.splice_ceiling,
      f.db_bytes_per_body_byte, f.db_pages_per_body_byte);
  std::printf("    pull by limit:");
  for (std::size_t k = 0; k < o.limits.size(); ++k)
    std::printf(" %d: %.0f (ceiling %.0f, %.3f)", o.limits[k], f.pull_at[k], f.splice_at[k],
                f.pull_at[k] / f.splice_at[k]);
  std::printf("\n    gzip by level:");
  for (std::size_t k = 0; k < o.gzip_levels.size(); ++k)
    std::printf(" %d: %.0f rec/s %.0f B/rec", o.gzip_levels[k], f.gzip_rate[k], f.gzip_bytes[k]);
  std::printf("\n    zstd by level:");
  for (std::size_t k = 0; k < o.zstd_levels.size(); ++k)
    std::printf(" %d: %.0f rec/s %.0f B/rec", o.zstd_levels[k], f.zstd_rate[k], f.zstd_bytes[k]);
  std::printf("\n");
  std::fflush(stdout);
}

void print_series(const Options& o, const std::string& name, const Series& s, int runs) {
  std::printf("%s, median (min-max) of %d:\n", name.c_str(), runs);
  std::printf("  push %s rec/s; insert ceiling %s; push/ceiling %s\n", spread(s.push).c_str(),
              spread(s.insert).c_str(), spread(s.push_ratio, "%.3f").c_str());
  std::printf("  pull %s rec/s; read-splice ceiling %s; pull/ceiling %s; pull gzip %s, gzip/plain %s; pull zstd %s, "
              "zstd/plain %s\n",
              spread(s.pull).c_str(), spread(s.splice).c_str(), spread(s.pull_ratio, "%.3f").c_str(),
              spread(s.pull_gzip).c_str(), spread(s.gzip_ratio, "%.2f").c_str(), spread(s.pull_zstd).c_str(),
              spread(s.zstd_ratio, "%.2f").c_str());
  std::printf("  export csv %s rec/s, jsonl %s; slower of the two / read-splice ceiling %s\n", spread(s.csv).c_str(),
              spread(s.jsonl).c_str(), spread(s.export_ratio, "%.3f").c_str());
  std::printf("  database %s bytes per body byte (folder, WAL included); its pages alone %s\n",
              spread(s.db_ratio, "%.2f").c_str(), spread(s.db_pages, "%.2f").c_str());
  for (std::size_t k = 0; k < s.pull_at.size(); ++k)
    std::printf("  pull at limit %d: %s rec/s, / its read-splice ceiling %s\n", o.limits[k],
                spread(s.pull_at[k]).c_str(), spread(s.pull_at_ratio[k], "%.3f").c_str());
  for (std::size_t k = 0; k < s.gzip_rate.size(); ++k)
    std::printf("  deflate at level %d: %s rec/s on one core, %s bytes per record (plain %.0f)\n",
                o.gzip_levels[k], spread(s.gzip_rate[k]).c_str(), spread(s.gzip_bytes[k]).c_str(), median(s.page_bytes));
  for (std::size_t k = 0; k < s.zstd_rate.size(); ++k)
    std::printf("  zstd at level %d (flushed every %zu B): %s rec/s on one core, %s bytes per record\n",
                o.zstd_levels[k], server::kZstdAnswerFlushEvery, spread(s.zstd_rate[k]).c_str(),
                spread(s.zstd_bytes[k]).c_str());
}

// PostgreSQL beside SQLite: its rates, and its rate over SQLite's in the same run.
struct PgSeries {
  std::vector<double> push, pull, pull_gzip, csv, jsonl, push_ratio, pull_ratio, csv_ratio, jsonl_ratio;
  std::vector<double> cpu_self, cpu_pg;  // per second of push wall time
  // With several servers: their push and pull-together rates, and those over one server's rates.
  std::vector<double> multi_push, multi_pull_all, multi_push_ratio, multi_pull_ratio, multi_cpu_self, multi_cpu_pg;
  void add_multi(const Figures& m, const Figures& one) {
    multi_push.push_back(m.push);
    multi_pull_all.push_back(m.pull_all);
    multi_push_ratio.push_back(m.push / one.push);
    multi_pull_ratio.push_back(m.pull_all / one.pull);
    multi_cpu_self.push_back(m.push_cpu_self / m.push_wall);
    multi_cpu_pg.push_back(m.push_cpu_pg / m.push_wall);
  }
  void add(const Figures& pg, const Figures* lite) {
    cpu_self.push_back(pg.push_cpu_self / pg.push_wall);
    cpu_pg.push_back(pg.push_cpu_pg / pg.push_wall);
    push.push_back(pg.push);
    pull.push_back(pg.pull);
    pull_gzip.push_back(pg.pull_gzip);
    csv.push_back(pg.csv);
    jsonl.push_back(pg.jsonl);
    if (!lite) return;
    push_ratio.push_back(pg.push / lite->push);
    pull_ratio.push_back(pg.pull / lite->pull);
    csv_ratio.push_back(pg.csv / lite->csv);
    jsonl_ratio.push_back(pg.jsonl / lite->jsonl);
  }
};

void print_pg_figures(const char* label, const Figures& pg, const Figures* lite) {
  std::printf("  %s on postgres: push %.0f rec/s (cores busy: this process %.2f, postgres %.2f) | pull %.0f, gzip %.0f "
              "| csv %.0f, jsonl %.0f",
              label, pg.push, pg.push_cpu_self / pg.push_wall, pg.push_cpu_pg / pg.push_wall, pg.pull, pg.pull_gzip,
              pg.csv, pg.jsonl);
  if (lite)
    std::printf(" | postgres/sqlite: push %.3f, pull %.3f, csv %.3f, jsonl %.3f", pg.push / lite->push,
                pg.pull / lite->pull, pg.csv / lite->csv, pg.jsonl / lite->jsonl);
  std::printf("\n");
  std::fflush(stdout);
}

void print_multi_figures(const char* label, int instances, const Figures& m, const Figures& one) {
  std::printf("  %s on postgres, %d servers: push %.0f rec/s (cores busy: this process %.2f, postgres %.2f), %d pulls "
              "at once %.0f rec/s | over one server: push %.3f, pull %.3f\n",
              label, instances, m.push, m.push_cpu_self / m.push_wall, m.push_cpu_pg / m.push_wall, instances,
              m.pull_all, m.push / one.push, m.pull_all / one.pull);
  std::fflush(stdout);
}

void print_pg_series(const std::string& name, const PgSeries& s, int runs, int instances) {
  std::printf("%s on postgres, median (min-max) of %d:\n", name.c_str(), runs);
  std::printf("  push %s rec/s; pull %s; pull gzip %s; export csv %s, jsonl %s\n", spread(s.push).c_str(),
              spread(s.pull).c_str(), spread(s.pull_gzip).c_str(), spread(s.csv).c_str(), spread(s.jsonl).c_str());
  std::printf("  push: cores busy in this process %s, in postgres %s\n", spread(s.cpu_self, "%.2f").c_str(),
              spread(s.cpu_pg, "%.2f").c_str());
  if (!s.push_ratio.empty())
    std::printf("  postgres / sqlite, same run: push %s, pull %s, export csv %s, jsonl %s\n",
                spread(s.push_ratio, "%.3f").c_str(), spread(s.pull_ratio, "%.3f").c_str(),
                spread(s.csv_ratio, "%.3f").c_str(), spread(s.jsonl_ratio, "%.3f").c_str());
  if (!s.multi_push.empty()) {
    std::printf("  %d servers: push %s rec/s (cores busy: this process %s, postgres %s); %d pulls at once %s rec/s\n",
                instances, spread(s.multi_push).c_str(), spread(s.multi_cpu_self, "%.2f").c_str(),
                spread(s.multi_cpu_pg, "%.2f").c_str(), instances, spread(s.multi_pull_all).c_str());
    std::printf("  %d servers over one, same run: push %s, pull %s\n", instances,
                spread(s.multi_push_ratio, "%.3f").c_str(), spread(s.multi_pull_ratio, "%.3f").c_str());
  }
}

std::vector<int> int_list(const std::string& v) {
  std::vector<int> out;
  for (std::size_t p = 0; p <= v.size();) {
    const std::size_t comma = std::min(v.find(',', p), v.size());
    out.push_back(std::atoi(v.substr(p, comma - p).c_str()));
    p = comma + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], v = argv[i + 1];
    if (flag == "--records") o.records = std::atoi(v.c_str());
    else if (flag == "--batch") o.batch = std::atoi(v.c_str());
    else if (flag == "--connections") o.connections = std::atoi(v.c_str());
    else if (flag == "--runs") o.runs = std::atoi(v.c_str());
    else if (flag == "--limit") o.limits = {std::atoi(v.c_str())};
    else if (flag == "--limits") o.limits = int_list(v);
    else if (flag == "--gzip-levels") o.gzip_levels = int_list(v);
    else if (flag == "--zstd-levels") o.zstd_levels = int_list(v);
    else if (flag == "--compact") o.compact = std::atoi(v.c_str());
    else if (flag == "--profile") o.profile = v;
    else if (flag == "--breakdown") o.breakdown = v != "0";
    else if (flag == "--pg-url") o.pg_url = v;
    else if (flag == "--engine") o.engine = v;
    else if (flag == "--instances") o.instances = std::atoi(v.c_str());
    else if (flag == "--keep-db") o.keep_db = v;
    else {
      std::fprintf(stderr,
                   "usage: akt_sync_bench [--records N] [--batch N] [--connections N] [--runs N] [--limit N]\n"
                   "                      [--limits N,N,...] [--gzip-levels N,N,...] [--zstd-levels N,N,...]\n"
                   "                      [--compact 0|1|2]\n"
                   "                      [--profile survey|small|both] [--breakdown 1]\n"
                   "                      [--pg-url 'host=... dbname=postgres'] [--engine sqlite|postgres|both]\n"
                   "                      [--instances N] [--keep-db DIR]\n");
      return 2;
    }
  }
  const bool bad_list = o.limits.empty() || std::any_of(o.limits.begin(), o.limits.end(), [](int l) { return l < 1; }) ||
                        std::any_of(o.gzip_levels.begin(), o.gzip_levels.end(), [](int l) { return l < 1 || l > 9; });
  if (o.records < 1 || o.batch < 1 || o.connections < 1 || o.runs < 1 || bad_list || o.instances < 1 ||
      o.instances > o.connections ||
      (o.profile != "survey" && o.profile != "small" && o.profile != "both"))
    return 2;
  bool engine_given = false;
  for (int i = 1; i < argc; ++i) engine_given = engine_given || std::string(argv[i]) == "--engine";
  if (!o.pg_url.empty() && !engine_given) o.engine = "both";
  if (o.engine != "sqlite" && o.engine != "postgres" && o.engine != "both") return 2;
  if (o.engine != "sqlite" && o.pg_url.empty()) {
    std::fprintf(stderr, "--engine %s needs --pg-url\n", o.engine.c_str());
    return 2;
  }
  if (o.instances > 1 && o.pg_url.empty()) {
    std::fprintf(stderr, "--instances %d needs --pg-url (several servers share one PostgreSQL database)\n", o.instances);
    return 2;
  }
  const bool run_lite = o.engine != "postgres", run_pg = o.engine != "sqlite";
  server::set_log_level("warn");
  std::vector<Workload> loads;
  if (o.profile != "small") loads.push_back(make_workload(o, false));
  if (o.profile != "survey") loads.push_back(make_workload(o, true));
  for (const Workload& w : loads)
    std::printf("profile %s: %d records, %.0f bytes of body and %.1f changed names per record, %.0f bytes per record "
                "on the wire; batches of %d over %d connections, pull limit %d, compact=%d\n",
                w.name.c_str(), o.records, static_cast<double>(w.body_bytes) / o.records,
                static_cast<double>(w.changed_names) / o.records, static_cast<double>(w.wire_bytes) / o.records,
                o.batch, o.connections, o.limits[0], o.compact);
  if (o.breakdown)
    for (const Workload& w : loads) breakdown(w);
  std::vector<Series> series(loads.size());
  std::vector<PgSeries> pg_series(loads.size());
  for (int r = 0; r < o.runs; ++r) {
    std::printf("run %d\n", r + 1);
    for (std::size_t p = 0; p < loads.size(); ++p) {  // interleaved: profile by profile within each run
      Figures lite;
      if (run_lite) {
        lite = run_once(o, loads[p], r);
        print_figures(o, loads[p].name.c_str(), lite);
        series[p].add(lite);
      }
      if (run_pg) {
        Figures pg = run_once(o, loads[p], r, true);
        print_pg_figures(loads[p].name.c_str(), pg, run_lite ? &lite : nullptr);
        pg_series[p].add(pg, run_lite ? &lite : nullptr);
        if (o.instances > 1) {
          Figures multi = run_once(o, loads[p], r, true, o.instances);
          print_multi_figures(loads[p].name.c_str(), o.instances, multi, pg);
          pg_series[p].add_multi(multi, pg);
        }
      }
    }
  }
  for (std::size_t p = 0; p < loads.size(); ++p) {
    if (run_lite) print_series(o, loads[p].name, series[p], o.runs);
    if (run_pg) print_pg_series(loads[p].name, pg_series[p], o.runs, o.instances);
  }
  return 0;
}

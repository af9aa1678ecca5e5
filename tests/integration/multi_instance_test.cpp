// Several aktsyncd on one PostgreSQL database (issue #20 item 4, docs/STORE.md §10): two in-process
// servers, each with its own PgStore on the same database of the test binary's throwaway cluster. A long
// poll parked on B is woken by a push to A (LISTEN/NOTIFY), also after B's listener connection was
// terminated by PostgreSQL; a cursor A handed out is taken by B; with the listener unable to connect, the
// feed head is read every second instead. Without PostgreSQL each case prints "PostgreSQL engine skipped"
// (CTest: skipped) unless AKT_REQUIRE_POSTGRES=1.
#include <doctest/doctest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"
#include "tests/support/pg_database.hpp"
#ifdef AKT_HAVE_POSTGRES
#include "schema/store/postgres/pg_conn.hpp"
#include "schema/store/postgres/pg_listen.hpp"
#include "schema/store/postgres/pg_store.hpp"
#endif

using namespace akt;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

#ifdef AKT_HAVE_POSTGRES
namespace {

store::PgStore& pg_of(test::TestServer& srv) {
  auto* s = dynamic_cast<store::PgStore*>(srv.app().store.get());
  REQUIRE(s);
  return *s;
}

// Waits (up to 20 s) until `srv`'s feed listener is connected and, when `other_than` != 0, on another
// backend than that one; returns its backend pid (0: it never was).
int wait_listening(test::TestServer& srv, int other_than = 0) {
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  for (;;) {
    const int pid = pg_of(srv).listener_backend_pid();
    if (pid != 0 && pid != other_than) return pid;
    if (Clock::now() > deadline) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// The cursor of a full pull of `dev` on `srv`.
std::string cursor_of(test::TestServer& srv, const test::Device& dev) {
  auto c = srv.client();
  auto r = test::get(c, dev, "/v1/changes");
  REQUIRE_MESSAGE(r.status == 200, r.body);
  return json::parse(r.body)["next"].get<std::string>();
}

// A long poll on `waiter` from `cursor`, and a push of record `record` to `pusher` once it is parked;
// returns how long the poll took (REQUIREs that it answered with that record).
Clock::duration poll_woken_by_push(test::TestServer& waiter, test::TestServer& pusher, const std::string& cursor,
                                   const std::string& record, std::int64_t n) {
  client::HttpOptions lo;
  lo.timeout = std::chrono::seconds(120);
  auto lc = waiter.client(lo);
  bool parked = false;
  std::thread pushing([&] {
    parked = test::wait_for_waiters(waiter.app(), 1);
    auto pc = pusher.client();
    auto r = test::push(pc, pusher.b, {"wake-" + record, {test::make_edit(record, pusher.b.actor, n, {}, R"({"x":1})", {"x"})}});
    CHECK_MESSAGE(r.status == 200, r.body);
  });
  const auto start = Clock::now();
  auto woken = test::get(lc, waiter.a, "/v1/changes?wait=30000&since=" + cursor);
  const auto took = Clock::now() - start;
  pushing.join();
  REQUIRE(parked);
  REQUIRE_MESSAGE(woken.status == 200, woken.body);
  const json w = json::parse(woken.body);
  REQUIRE(w["changes"].size() == 1);
  CHECK(w["changes"][0]["record"] == record);
  return took;
}

}  // namespace
#endif

TEST_CASE("multi-instance: a push to server A wakes a long poll parked on server B at once") {
#ifdef AKT_HAVE_POSTGRES
  test::PgCluster* cluster = nullptr;
  const std::string url = test::fresh_pg_database("akt_multi", &cluster);
  if (url.empty()) return;
  test::TestServer a({}, {}, false, false, url);
  test::TestServer b({}, {}, false, false, url);
  REQUIRE(wait_listening(b) != 0);
  const std::string cursor = cursor_of(b, b.a);
  // B's only ways to learn of A's commit are A's NOTIFY and the listener's idle check (10 s), well
  // above this bound; the poll's own timeout is 30 s.
  const auto took = poll_woken_by_push(b, a, cursor, test::uuid7(1700000000000, 1), 1);
  CHECK_MESSAGE(took < std::chrono::seconds(3),
                "woken after " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  CHECK(b.app().store->last_seq() == a.app().store->last_seq());

  SUBCASE("and again after PostgreSQL terminated B's listener connection") {
    const int pid = wait_listening(b);
    REQUIRE(pid != 0);
    auto admin = store::pg::PgConn::connect(cluster->url("postgres"));
    REQUIRE(admin.ok());
    auto killed = (*admin)->exec("SELECT pg_terminate_backend($1::int)", {store::pg::int64(pid)});
    REQUIRE_MESSAGE(killed.ok(), killed.status().message());
    REQUIRE(killed->boolean(0, 0));
    // A push while B may still be reconnecting: its poll must not miss it (the head read after LISTEN).
    const std::string cursor2 = cursor_of(b, b.a);
    const auto took2 = poll_woken_by_push(b, a, cursor2, test::uuid7(1700000000000, 2), 2);
    CHECK(took2 < std::chrono::seconds(3));
    const int again = wait_listening(b, pid);
    CHECK(again != 0);
    CHECK(again != pid);
    // Listening again: woken by the NOTIFY, not the fallback.
    const std::string cursor3 = cursor_of(b, b.a);
    CHECK(poll_woken_by_push(b, a, cursor3, test::uuid7(1700000000000, 3), 3) < std::chrono::seconds(3));
  }

  SUBCASE("a cursor A handed out is taken by B, whatever B heard") {
    // A store of B's database that does not listen: it learns of A's commits only by asking.
    store::PgStoreOptions o;
    o.url = url;
    auto quiet = store::PgStore::open(o);
    REQUIRE(quiet.ok());
    const std::int64_t before = (*quiet)->last_seq();
    auto c = a.client();
    auto r = test::push(c, a.a, {"cursor-push", {test::make_edit(test::uuid7(1700000000000, 9), a.a.actor, 1, {}, R"({"x":2})", {"x"})}});
    REQUIRE(r.status == 200);
    CHECK((*quiet)->last_seq() == before);
    CHECK((*quiet)->refresh_last_seq() == a.app().store->last_seq());
    CHECK((*quiet)->last_seq() > before);
    // Over HTTP: B answers A's newest cursor.
    const std::string from_a = cursor_of(a, a.a);
    auto bc = b.client();
    auto onb = test::get(bc, b.a, "/v1/changes?since=" + from_a);
    CHECK_MESSAGE(onb.status == 200, onb.body);
  }
#else
  test::skip_without_engine();
#endif
}

TEST_CASE("multi-instance: with no LISTEN connection the feed head is read every second instead") {
#ifdef AKT_HAVE_POSTGRES
  // A listener that cannot connect (no server on that socket folder): its fallback reads the head
  // through read_head and hands it to on_head, again and again, until it is stopped.
  std::atomic<std::int64_t> head{5}, heard{0};
  std::atomic<int> reads{0};
  std::atomic<bool> lost{false};
  store::pg::ListenerOptions o;
  o.url = "host=/nonexistent-akt-socket-dir port=1 dbname=x connect_timeout=1";
  o.read_head = [&]() -> Result<std::int64_t> {
    ++reads;
    return head.load();
  };
  o.on_head = [&](std::int64_t h) { heard.store(h); };
  o.on_event = [&](const std::string& e) {
    if (e.rfind("lost: ", 0) == 0) lost = true;
  };
  o.fallback_interval = std::chrono::milliseconds(100);
  store::pg::FeedListener l(o);
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (heard.load() != 5 && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(heard.load() == 5);
  head = 9;  // a commit elsewhere while the listener is down
  while (heard.load() != 9 && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(heard.load() == 9);
  CHECK(lost.load());
  CHECK_FALSE(l.listening());
  const auto stopping = Clock::now();
  l.stop();
  CHECK(Clock::now() - stopping < std::chrono::seconds(2));
  const int after_stop = reads.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(reads.load() == after_stop);
#else
  test::skip_without_engine();
#endif
}

TEST_CASE("multi-instance: a username locked by failed logins on server A is locked on server B") {
#ifdef AKT_HAVE_POSTGRES
  test::PgCluster* cluster = nullptr;
  const std::string url = test::fresh_pg_database("akt_multi", &cluster);
  if (url.empty()) return;
  test::TestServer a({}, {}, false, false, url);
  test::TestServer b({}, {}, false, false, url);
  const std::string pw = "correct horse battery";
  a.create_user("lena", "enumerator", pw);
  a.create_user("mark", "enumerator", pw);
  const auto login = [](test::TestServer& srv, const std::string& user, const std::string& password) {
    auto c = srv.client();
    auto r = c.request("POST", "/v1/login", json{{"username", user}, {"password", password}}.dump(),
                       {{"Content-Type", "application/json"}});
    REQUIRE(r.ok());
    return *r;
  };
  // The configured burst (login_attempts_per_15min, 5) of failures, all on A.
  const int burst = static_cast<int>(a.app().config.limits.login_attempts_per_15min);
  for (int i = 0; i < burst; ++i) CHECK(login(a, "lena", "wrong password").status == 401);
  CHECK(login(a, "lena", pw).status == 429);
  // B counted nothing itself: the bucket is the database's.
  const auto onb = login(b, "lena", pw);
  CHECK(onb.status == 429);
  CHECK_MESSAGE(onb.body.find("too many failed logins for this user") != std::string::npos, onb.body);
  CHECK(!onb.header("retry-after").empty());
  // Another user from the same address is not locked (the address allows 4 times as many).
  CHECK(login(b, "mark", pw).status == 200);
#else
  test::skip_without_engine();
#endif
}

TEST_CASE("multi-instance: a token's request rate is counted once for both servers") {
#ifdef AKT_HAVE_POSTGRES
  test::PgCluster* cluster = nullptr;
  const std::string url = test::fresh_pg_database("akt_multi", &cluster);
  if (url.empty()) return;
  server::Limits limits;
  limits.requests_per_minute = 1;  // refills one request a minute: nothing refills during the test
  limits.request_burst = 4;
  test::TestServer a(limits, {}, false, false, url);
  test::TestServer b(limits, {}, false, false, url);
  // b's device tokens are in the database too: `a.a` is one device, used through both servers.
  auto ca = a.client();
  auto cb = b.client();
  // The burst spent half on A, half on B: each server alone would still allow 2 more.
  CHECK(test::get(ca, a.a, "/v1/me").status == 200);
  CHECK(test::get(cb, a.a, "/v1/me").status == 200);
  CHECK(test::get(ca, a.a, "/v1/me").status == 200);
  CHECK(test::get(cb, a.a, "/v1/me").status == 200);
  const auto refused = test::get(cb, a.a, "/v1/me");
  CHECK(refused.status == 429);
  CHECK_MESSAGE(refused.body.find("rate_limited") != std::string::npos, refused.body);
  const std::string retry = refused.header("retry-after");
  REQUIRE(!retry.empty());
  CHECK(std::stoi(retry) >= 1);
  CHECK(std::stoi(retry) <= 60);
  CHECK(test::get(ca, a.a, "/v1/me").status == 429);
  // Another token has its own bucket.
  CHECK(test::get(ca, a.b, "/v1/me").status == 200);
#else
  test::skip_without_engine();
#endif
}

TEST_CASE("multi-instance: a listener that lost its connection reads the head once it listens again") {
#ifdef AKT_HAVE_POSTGRES
  test::PgCluster* cluster = nullptr;
  const std::string url = test::fresh_pg_database("akt_multi", &cluster);
  if (url.empty()) return;
  store::PgStoreOptions so;
  so.url = url;
  REQUIRE(store::PgStore::open(so).ok());  // the schema (feed_head)
  auto admin = store::pg::PgConn::connect(url);
  REQUIRE(admin.ok());
  // A role of its own, which the test can stop from logging in while the listener is down.
  static std::atomic<int> next{0};
  const std::string role = "akt_listen_" + std::to_string(++next) + "_" + std::to_string(::getpid());
  REQUIRE((*admin)->exec_script("CREATE ROLE " + role + " LOGIN; GRANT SELECT ON feed_head TO " + role).ok());
  std::atomic<std::int64_t> heard{-1};
  store::pg::ListenerOptions o;
  o.url = url + " user=" + role;
  o.on_head = [&](std::int64_t h) { heard.store(h); };
  // No fallback reads here: only the listener's own connection can tell it the head.
  o.read_head = []() -> Result<std::int64_t> { return Status::busy("fallback off in this test"); };
  o.fallback_interval = std::chrono::milliseconds(100);
  o.idle_check = std::chrono::minutes(5);  // nor its idle read, within this test
  store::pg::FeedListener l(o);
  const auto until = [](const std::function<bool()>& f) {
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (!f() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return f();
  };
  REQUIRE(until([&] { return l.listening() && heard.load() == 0; }));
  const int pid = l.backend_pid();
  REQUIRE((*admin)->exec_script("ALTER ROLE " + role + " NOLOGIN").ok());
  auto killed = (*admin)->exec("SELECT pg_terminate_backend($1::int)", {store::pg::int64(pid)});
  REQUIRE(killed.ok());
  REQUIRE(until([&] { return !l.listening(); }));
  // A commit while nobody listens (and without NOTIFY): nothing can tell the listener yet.
  REQUIRE((*admin)->exec_script("UPDATE feed_head SET last_seq = 42").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(heard.load() == 0);
  CHECK_FALSE(l.listening());
  REQUIRE((*admin)->exec_script("ALTER ROLE " + role + " LOGIN").ok());
  CHECK(until([&] { return heard.load() == 42; }));
  CHECK(l.listening());
  CHECK(l.backend_pid() != pid);
  CHECK(l.connects() == 2);
  l.stop();
#else
  test::skip_without_engine();
#endif
}

// `aktsync sync` as a child process over a dead link (the fault proxy on loopback): --timeout-ms and
// --retry-for bound the time it tries, and whatever happened, it ends with a summary of what it did.
#include <chrono>

#include <doctest/doctest.h>

#include "clients/fault_proxy.hpp"
#include "tests/clients/client_support.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;

namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::unique_ptr<client::FaultProxy> link_to(const test::TestServer& s, client::LinkOptions link) {
  client::FaultOptions f;
  f.link = link;
  auto p = client::FaultProxy::start(s.port(), f);
  REQUIRE(p.ok());
  return std::move(*p);
}

// A device database behind `port` holding `n` new records (made in-process: faster than n runs of `new`).
void tablet_with_records(const std::string& db, const test::TestServer& srv, std::uint16_t port, int n) {
  auto store = test::open_tablet(db, srv.a, port);
  std::mt19937_64 rng(7);
  for (int i = 0; i < n; ++i)
    REQUIRE(store->create(test::infra_record(R"({"pct_complete":)" + std::to_string(i % 100) + "}", {"pct_complete"}),
                          1700000001000 + i, test::random10(rng))
                .ok());
}

}  // namespace

TEST_CASE("cli link: a silent link ends `sync` within --timeout-ms and --retry-for, with its summary") {
  test::TestServer srv;
  test::TempDir dir;
  client::LinkOptions link;
  link.silent = true;  // accepts and reads, never answers
  auto proxy = link_to(srv, link);
  const std::string db = dir.file("t.db");
  tablet_with_records(db, srv, proxy->port(), 1);
  const auto started = std::chrono::steady_clock::now();
  test::Run r = test::run_program(AKTSYNC_PATH, {"--db", db, "sync", "--timeout-ms", "300", "--retry-for", "2s"}, dir);
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(r.code == 3);
  CHECK_MESSAGE(has(r.err, "no answer within 300 ms"), r.err);
  CHECK_MESSAGE(has(r.err, "unreachable after"), r.err);
  CHECK_MESSAGE(has(r.out, "pushed     0"), r.out);
  CHECK(has(r.out, "unsynced   1"));
  CHECK(proxy->counts().requests >= 2);  // it tried again within its budget
  // Not a timing assertion of the feature (the retry budget above is counted in requests): only proof that
  // the default 30 s deadlines were not used instead of --timeout-ms (that would take over a minute).
  CHECK(took < std::chrono::seconds(30));
}

TEST_CASE("cli link: a link that dies midway still prints what was pushed") {
  test::TestServer srv;
  test::TempDir dir;
  client::LinkOptions link;
  link.silent_after = 1;  // the first push batch goes through, then the link goes silent
  auto proxy = link_to(srv, link);
  const std::string db = dir.file("t.db");
  tablet_with_records(db, srv, proxy->port(), 250);  // two batches of the CLI's 200
  test::Run r = test::run_program(AKTSYNC_PATH, {"--db", db, "sync", "--timeout-ms", "300", "--retry-for", "1s"}, dir);
  CHECK(r.code == 3);
  CHECK_MESSAGE(has(r.out, "pushed     200"), r.out);
  CHECK(has(r.out, "applied    200"));
  CHECK(has(r.out, "unsynced   50"));
  CHECK_MESSAGE(has(r.out, "cut or unanswered"), r.out);
  CHECK_MESSAGE(has(r.err, "unreachable"), r.err);
  // What was acknowledged stays acknowledged: the next sync over a working link sends only the rest.
  auto direct = test::open_tablet(db, srv.a, srv.port());
  auto st = direct->stats();
  REQUIRE(st.ok());
  CHECK(st->unsynced == 50);
}

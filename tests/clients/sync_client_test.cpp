// The sync client against a real in-process aktsyncd on 127.0.0.1 (port 0): offline edits on two
// tablets converge; concurrent edits show as a conflict on both; a dropped answer is replayed; epoch
// resets, bad tokens and an unreachable server give clear outcomes.
#include "clients/sync_client.hpp"

#include <doctest/doctest.h>

#include "tests/clients/client_support.hpp"
#include "tests/support/edits.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;

namespace {

test::Feed server_state(test::TestServer& srv) {
  auto c = srv.client();
  return test::pull_all(c, srv.a, "", 1000);
}

}  // namespace

TEST_CASE("sync: two tablets edit offline, sync, and converge") {
  test::TestServer srv;
  test::TempDir dir;
  test::Tablet a(dir.file("a.db"), srv.a, srv.port(), 1), b(dir.file("b.db"), srv.b, srv.port(), 2);
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(a.create(R"({"pct_complete":)" + std::to_string(i * 10) + "}", {"pct_complete"}));
  a.edit(ids[0], R"({"pct_complete":5})", {"pct_complete"});
  for (int i = 0; i < 3; ++i) ids.push_back(b.create(R"({"status":"planned","i":)" + std::to_string(i) + "}", {"status", "i"}));

  auto sa = a.sync();
  REQUIRE_MESSAGE(sa.ok(), sa.status().message());
  CHECK(sa->pushed == 5);
  CHECK(sa->applied == 5);
  CHECK(sa->rejected == 0);
  auto sb = b.sync();
  REQUIRE(sb.ok());
  CHECK(sb->pushed == 3);
  CHECK(sb->pulled == 4);  // A's records; B's own three, as pushed, stay out of its feed (skip_own)
  // B edits one of A's records offline, deletes another; A catches up.
  b.edit(ids[1], R"({"pct_complete":15,"status":"in_progress"})", {"pct_complete", "status"});
  REQUIRE(b.store->remove(ids[2], b.now).ok());
  REQUIRE(b.sync().ok());
  auto sa2 = a.sync();
  REQUIRE(sa2.ok());
  CHECK(sa2->pushed == 0);
  CHECK(sa2->conflicts == 0);

  const test::Feed feed = server_state(srv);
  CHECK(feed.records.size() == 7);
  test::check_converged(a, feed);
  test::check_converged(b, feed);
  CHECK(a.get(ids[2]).is_deleted());
  CHECK(a.get(ids[1]).live.at(0).body == R"({"pct_complete":15,"status":"in_progress"})");
  // Nothing left to do: another round changes nothing.
  auto idle = a.sync();
  REQUIRE(idle.ok());
  CHECK(idle->pushed == 0);
  CHECK(idle->pulled == 0);
}

TEST_CASE("sync: concurrent edits of one record show as a conflict on both tablets") {
  test::TestServer srv;
  test::TempDir dir;
  test::Tablet a(dir.file("a.db"), srv.a, srv.port(), 3), b(dir.file("b.db"), srv.b, srv.port(), 4);
  const std::string id = a.create(R"({"pct_complete":60,"status":"in_progress"})", {"pct_complete", "status"});
  REQUIRE(a.sync().ok());
  REQUIRE(b.sync().ok());
  a.edit(id, R"({"pct_complete":75,"status":"in_progress"})", {"pct_complete"});
  b.edit(id, R"({"pct_complete":70,"status":"in_progress"})", {"pct_complete"});
  auto sa = a.sync();
  REQUIRE(sa.ok());
  CHECK(sa->applied == 1);
  auto sb = b.sync();
  REQUIRE(sb.ok());
  CHECK(sb->concurrent + sb->applied == 1);  // concurrent (siblings) or, with the field merge, merged
  CHECK(sb->conflicts == 1);
  REQUIRE(a.sync().ok());
  CHECK(a.get(id).is_conflict());
  CHECK(b.get(id).is_conflict());
  const test::Feed feed = server_state(srv);
  test::check_converged(a, feed);
  test::check_converged(b, feed);
  const store::LocalRecord before = b.get(id);
  if (before.live.size() == 1) {
    // The server merged the siblings (DESIGN §4): one version, the field flagged for an admin.
    CHECK(before.conflicted == std::vector<std::string>{"pct_complete"});
  }
  // Each tablet continues its own line (DESIGN §2): with siblings, B's next edit is based on B's
  // version, never on A's unseen one; after a merge, on the merged version.
  b.edit(id, R"({"pct_complete":71,"status":"in_progress"})", {"pct_complete"});
  auto rb = b.get(id);
  if (before.live.size() > 1) CHECK(rb.live[rb.current].clock.get(srv.a.actor) == 1);
  else CHECK(before.live[0].clock.leq(rb.live[rb.current].clock));
  auto sb2 = b.sync();
  REQUIRE(sb2.ok());
  CHECK(sb2->rejected == 0);
}

TEST_CASE("sync: a batch whose answer was dropped is not sent again: its stored answer is read back") {
  test::TestServer srv;
  test::TempDir dir;
  test::Tablet a(dir.file("a.db"), srv.a, srv.port(), 5);
  for (int i = 0; i < 5; ++i) a.create(R"({"i":)" + std::to_string(i) + "}", {"i"});
  std::vector<client::HttpResult> answers;  // every push answer the server really sent, and those read back
  std::vector<std::string> requests;        // the batches uploaded
  bool dropped = false;
  client::Transport lossy = [&](const std::string& method, const std::string& target, const std::string& body,
                                const client::Headers& headers) -> Result<client::HttpResult> {
    auto r = a.http.request(method, target, body, headers);
    if (method == "GET" && target.rfind("/v1/push/", 0) == 0 && r.ok()) answers.push_back(*r);
    if (method == "POST" && r.ok()) {
      answers.push_back(*r);
      requests.push_back(body);
      if (!dropped) {
        // The server committed and answered, but the link died before the answer arrived.
        dropped = true;
        a.http.close();
        return Status::io_error("connection reset by peer");
      }
    }
    return r;
  };
  auto s = a.sync(lossy);
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  CHECK(a.sleeps == 1);            // one backoff before the retry
  REQUIRE(answers.size() >= 2);
  REQUIRE(requests.size() >= 2);   // batches of 3: the first, then the second (not the first again)
  CHECK(requests[0] != requests[1]);
  CHECK(answers[1].body == answers[0].body);  // the stored answer, byte for byte (PROTOCOL §4.3)
  CHECK(answers[1].header("aktsync-replayed") == "true");
  CHECK(s->answers_fetched == 1);
  CHECK(s->pushed == 5);
  CHECK(s->applied == 5);
  const test::Feed feed = server_state(srv);
  CHECK(feed.records.size() == 5);
  test::check_converged(a, feed);
}

TEST_CASE("sync: epoch_changed resets the cursor, pushes everything again and pulls from the start") {
  test::TestServer srv;
  test::TempDir dir;
  test::Tablet a(dir.file("a.db"), srv.a, srv.port(), 6);
  for (int i = 0; i < 3; ++i) a.create(R"({"i":)" + std::to_string(i) + "}", {"i"});
  REQUIRE(a.sync().ok());
  a.create(R"({"i":9})", {"i"});
  // The server answers the first pull as a restored server would.
  bool said_gone = false;
  client::Transport restored = [&](const std::string& method, const std::string& target, const std::string& body,
                                   const client::Headers& headers) -> Result<client::HttpResult> {
    if (method == "GET" && !said_gone) {
      said_gone = true;
      client::HttpResult r;
      r.status = 410;
      r.body = R"({"code":"epoch_changed","detail":"restored","status":410})";
      return r;
    }
    return a.http.request(method, target, body, headers);
  };
  auto s = a.sync(restored);
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  CHECK(s->epoch_reset);
  CHECK(s->applied == 1);
  // The new edit was acknowledged just before the 410, so it goes again and is recognised; so do the
  // three older ones, which had come back through the feed: the tablet keeps its own edits after that
  // (kPushedRetentionMs) exactly so that a restored server gets them again.
  CHECK(s->duplicate == 4);
  CHECK(s->pulled == 4);     // from the start
  test::check_converged(a, server_state(srv));
}

TEST_CASE("sync: a rejected token, an unreachable server and a reused dot give clear errors") {
  test::TestServer srv;
  test::TempDir dir;
  SUBCASE("401") {
    test::Tablet bad(dir.file("bad.db"), {srv.a.actor, "not-the-token"}, srv.port(), 7);
    bad.create(R"({"x":1})", {"x"});
    auto s = bad.sync();
    CHECK(s.status().code() == Status::Code::kUnauthenticated);
    CHECK(bad.store->stats()->unsynced == 1);  // nothing lost
  }
  SUBCASE("unreachable") {
    test::Tablet off(dir.file("off.db"), srv.a, 1, 8);  // nothing listens on port 1
    off.create(R"({"x":1})", {"x"});
    auto s = off.sync();
    CHECK(s.status().code() == Status::Code::kIOError);
    CHECK(s.status().message().find("unreachable") != std::string::npos);
    CHECK(off.sleeps == 5);  // six attempts, five backoffs
    CHECK(off.store->stats()->unsynced == 1);
  }
  SUBCASE("dot_reuse: a database restored under the same actor") {
    test::Tablet a(dir.file("a.db"), srv.a, srv.port(), 9);
    a.create(R"({"x":1})", {"x"});
    REQUIRE(a.sync().ok());
    test::Tablet clone(dir.file("clone.db"), srv.a, srv.port(), 10);  // same actor, counter from 0 again
    const std::string id = clone.create(R"({"x":2})", {"x"});
    auto s = clone.sync();
    REQUIRE(s.ok());
    REQUIRE(s->rejections.size() == 1);
    CHECK(s->rejections[0].code == "dot_reuse");
    CHECK(s->rejections[0].record_id == id);
    CHECK(clone.store->rejected()->size() == 1);
  }
}

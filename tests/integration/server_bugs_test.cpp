// Server bugs found by the fleet simulator's oracle, each reproduced on the smallest history; kept as
// regression tests now that they are fixed.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "sync/wire_json.hpp"
#include "tests/support/feed.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"

using namespace akt;

// Found by `aktsync-sim --tablets 20 --rounds 20 --ops 10 --seed 3 --faults 0.08 --restart`: an edit was
// rejected `invalid_record` (required `trust_mun_assembly` missing) because the body it was made on, a
// server merge, had lost two fields. History: a field in open conflict on one side (two concurrent
// setters), that side then deleted the record, and a third device's edit with an older context arrived.
// The delete-vs-edit merge (sync/merge_fields.cpp decide()) conflicts the field again and keeps the
// "provisional" value, read from the record's live version before the edit arrived: the tombstone,
// whose body is {}. So the field vanishes from the merged body: the stored record breaks its form
// (DESIGN §4: "no invalid record is ever stored") and the next device edit on it is rejected.
// Expected: the provisional value of a conflicted field is never taken from a tombstone (e.g. take it
// from the latest non-deleted live body, or the first candidate), so the field keeps a candidate value.
TEST_CASE("server bug: a delete racing an edit drops the fields in open conflict from the merged body") {
  test::TestServer s;
  s.create_user("bugadmin", "admin", "bug-admin-password-1");
  s.create_user("bugenum", "enumerator", "bug-enum-password-1", {sync::Assignment{}});
  const std::string admin = s.login("bugadmin", "bug-admin-password-1");
  const test::Device c = s.enrol(admin, "bugenum", "tablet-c");
  auto http = s.client();
  const std::string rec = test::uuid7(1700000000000, 1);
  auto push = [&](const test::Device& d, const sync::Edit& e, const std::string& id) {
    auto r = test::push(http, d, {id, {e}});
    REQUIRE(r.status == 200);
    auto resp = sync::decode_push_response(r.body);
    REQUIRE(resp.ok());
    REQUIRE(resp->results.at(0).outcome != sync::Outcome::kRejected);
    return *resp;
  };
  // A creates {a:1, b:1}; A and B both set b concurrently (an open conflict on b).
  sync::Edit create = test::make_edit(rec, s.a.actor, 1, {}, R"({"a":1,"b":1})", {"a", "b"});
  push(s.a, create, "a1");
  push(s.a, test::make_edit(rec, s.a.actor, 2, create.clock(), R"({"a":1,"b":2})", {"b"}), "a2");
  push(s.b, test::make_edit(rec, s.b.actor, 1, create.clock(), R"({"a":1,"b":3})", {"b"}), "b1");
  auto merged = test::pull_all(http, s.a, "", 100).records.at(rec);
  REQUIRE(merged.live.size() == 1);
  REQUIRE(merged.conflicted == std::vector<std::string>{"b"});
  // A saw the merge and deletes the record.
  sync::Edit del = test::make_edit(rec, s.a.actor, 3, merged.live[0].clock, "{}", {});
  del.deleted = true;
  push(s.a, del, "a3");
  // C, which only ever saw the create, sets a.
  push(c, test::make_edit(rec, c.actor, 1, create.clock(), R"({"a":5,"b":1})", {"a"}), "c1");
  auto after = test::pull_all(http, s.a, "", 100).records.at(rec);
  REQUIRE(after.live.size() == 1);
  CHECK(after.deletion_pending);
  auto body = nlohmann::json::parse(after.live[0].body);
  CHECK(body.value("a", 0) == 5);
  CHECK_MESSAGE(body.contains("b"), "the field in conflict vanished from the merged body: " << after.live[0].body);
}

// Found by the in-process fleet test (seed 3, no inbox access): a deletion acknowledged by the server
// had no visible effect: the record was neither deleted nor `deletion_pending`, though its
// `delete_edit` inbox entry was still open. History: a delete and an edit merge into a deletion-pending
// version; then a third device's edit with an older context arrives and merges with it. Neither sibling
// of that second merge is a tombstone, so (M9 in sync/merge.cpp looks only at the siblings) the new
// version drops `deletion_pending`, while PROTOCOL §5.1 says it stays "until an admin decides".
// Expected: deletion_pending survives later merges while the delete_edit entry is open.
TEST_CASE("server bug: a later concurrent edit clears deletion_pending while the delete_edit entry is open") {
  test::TestServer s;
  s.create_user("bugadmin", "admin", "bug-admin-password-1");
  s.create_user("bugenum", "enumerator", "bug-enum-password-1", {sync::Assignment{}});
  const std::string admin = s.login("bugadmin", "bug-admin-password-1");
  const test::Device c = s.enrol(admin, "bugenum", "tablet-c");
  auto http = s.client();
  const std::string rec = test::uuid7(1700000000000, 2);
  auto push = [&](const test::Device& d, const sync::Edit& e, const std::string& id) {
    auto r = test::push(http, d, {id, {e}});
    REQUIRE(r.status == 200);
    auto resp = sync::decode_push_response(r.body);
    REQUIRE(resp.ok());
    REQUIRE(resp->results.at(0).outcome != sync::Outcome::kRejected);
  };
  sync::Edit create = test::make_edit(rec, s.a.actor, 1, {}, R"({"a":1,"b":1})", {"a", "b"});
  push(s.a, create, "a1");
  sync::Edit del = test::make_edit(rec, s.a.actor, 2, create.clock(), "{}", {});
  del.deleted = true;
  push(s.a, del, "a2");
  push(s.b, test::make_edit(rec, s.b.actor, 1, create.clock(), R"({"a":2,"b":1})", {"a"}), "b1");
  auto pending = test::pull_all(http, s.a, "", 100).records.at(rec);
  REQUIRE(pending.deletion_pending);
  push(c, test::make_edit(rec, c.actor, 1, create.clock(), R"({"a":1,"b":3})", {"b"}), "c1");
  auto after = test::pull_all(http, s.a, "", 100).records.at(rec);
  CHECK(after.live.size() == 1);
  CHECK(after.deletion_pending);
  CHECK(after.conflict);
}

// Upgrades, end to end (README "Upgrades"): the real server started on a copy of each earlier schema
// version's fixture (tests/store/fixtures/) migrates it, then serves it: a tablet pulls every record in
// feed order, pushes an edit on an old record and a new one, and pulls them back; users of the old
// database still sign in.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "sync/wire_json.hpp"
#include "tests/support/feed.hpp"
#include "tests/support/test_server.hpp"
#include "tests/store/upgrade_fixtures.hpp"
#include "tests/support/edits.hpp"

using namespace akt;

TEST_CASE("upgrades: the server starts on every earlier schema's database and syncs over it") {
  const auto fixtures = test::upgrade_fixtures();
  REQUIRE(fixtures.size() >= 2);
  for (const auto& fixture : fixtures) {
    // Named, not structured bindings: clang 14 cannot capture a binding in doctest's CAPTURE.
    const auto& version = fixture.first;
    const auto& file = fixture.second;
    CAPTURE(file);
    test::TempDir dir;
    test::load_fixture(file, dir.file("aktsync.db"));
    test::TestServer server({}, dir.path());
    auto c = server.client();

    // Pull everything from the start in small pages: every record of the old database, in seq order.
    std::vector<std::int64_t> seqs;
    std::string cursor;  // from the start
    std::map<std::string, sync::RecordState> records;
    for (;;) {
      auto r = test::get(c, server.a, "/v1/changes?since=" + cursor + "&limit=4");
      REQUIRE_MESSAGE(r.status == 200, r.body);
      auto j = nlohmann::json::parse(r.body);
      for (const auto& x : j["changes"]) {
        auto s = sync::decode_record_state(x);
        REQUIRE(s.ok());
        CHECK((seqs.empty() || s->seq > seqs.back()));
        seqs.push_back(s->seq);
        records[s->record_id] = std::move(*s);
      }
      cursor = j["next"].get<std::string>();
      if (!j["more"].get<bool>()) break;
    }
    std::int64_t stored = 0;
    REQUIRE(server.sqlite().read([&](store::Db& db) {
      AKT_STMT(s, db, "SELECT COUNT(*) FROM records");
      auto row = s->step();
      if (!row.ok()) return row.status();
      stored = s->int64(0);
      return Status();
    }).ok());
    CHECK(static_cast<std::int64_t>(records.size()) == stored);
    CHECK(seqs.size() == records.size());

    // An edit on an old record, made on its live version, and a new record. Not on an approved or
    // locked record: a change to those waits for an admin (CONFLICTS.md, locked_change).
    const sync::RecordState* target = nullptr;
    for (const auto& [id, r] : records) {
      if (target || r.deleted || r.live.size() != 1 || !r.conflicted.empty()) continue;
      const auto status = nlohmann::json::parse(r.live[0].body).value("review_status", "");
      if (status != "approved" && status != "locked") target = &r;
    }
    REQUIRE(target != nullptr);
    auto body = nlohmann::json::parse(target->live[0].body);
    body["upgrade_note"] = "edited after the upgrade";
    sync::Edit edit = test::make_edit(target->record_id, server.a.actor, 1000, target->live[0].clock, body.dump(),
                                      {"upgrade_note"});
    edit.form_id = target->form_id;
    edit.form_version = target->form_version;
    edit.scope = target->scope;
    sync::Edit fresh = test::make_edit(test::uuid7(1800000000000, 7), server.a.actor, 1001, {}, R"({"a":1})", {"a"});
    auto pushed = test::push(c, server.a, sync::PushRequest{"after-upgrade-1", {edit, fresh}});
    REQUIRE_MESSAGE(pushed.status == 200, pushed.body);
    auto answer = nlohmann::json::parse(pushed.body);
    CHECK(answer["results"][0]["outcome"] == "applied");
    CHECK(answer["results"][1]["outcome"] == "applied");

    // The other tablet pulls from the cursor the first pull ended at: exactly those two.
    auto after = test::pull_all(c, server.b, cursor, 10);
    REQUIRE(after.records.size() == 2);
    REQUIRE(after.records.count(target->record_id) == 1);
    CHECK(nlohmann::json::parse(after.records.at(target->record_id).live.at(0).body) == body);
    CHECK(after.records.count(fresh.record_id) == 1);

    // The accounts came through (schema 2 on): an old admin signs in with the old password.
    if (version >= 2) CHECK_FALSE(server.login("admin", "fixture password 1").empty());
    CHECK(server.sqlite().integrity_check().ok());
  }
}

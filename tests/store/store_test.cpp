// The server store: migrations, push outcomes through SQLite, replay, the feed, group commit.
#include "schema/store/server_store.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <set>
#include <thread>

#include "schema/store/db.hpp"
#include "schema/store/migrations.hpp"
#include "sync/wire_json.hpp"
#include "tests/support/edits.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;
using akt::test::make_edit;
using akt::test::uuid_n;

namespace {

const std::string kDevA = uuid_n(0xA), kDevB = uuid_n(0xB);

std::unique_ptr<store::ServerStore> open_store(const std::string& path) {
  store::ServerStoreOptions o;
  o.path = path;
  auto s = store::ServerStore::open(o);
  REQUIRE(s.ok());
  return std::move(*s);
}

nlohmann::json push(store::ServerStore& s, const std::string& device, const std::string& batch_id,
                    std::vector<sync::Edit> edits, bool* replayed = nullptr) {
  sync::PushRequest req{batch_id, std::move(edits)};
  store::PushInput in{device, &req, 1700000000000};
  auto out = s.push(in);
  REQUIRE(out.ok());
  if (replayed) *replayed = out->replayed;
  return nlohmann::json::parse(out->response);
}

}  // namespace

TEST_CASE("store: migrations from empty reach the latest version and are idempotent") {
  test::TempDir dir;
  auto db = store::Db::open(dir.file("m.db"), {});
  REQUIRE(db.ok());
  REQUIRE(store::migrate(**db).ok());
  REQUIRE(store::migrate(**db).ok());
  auto s = (*db)->stmt("PRAGMA user_version");
  REQUIRE(s.ok());
  store::StmtGuard g(**s);
  REQUIRE(*g->step());
  CHECK(g->int64(0) == store::latest_schema_version());
  auto jm = (*db)->stmt("PRAGMA journal_mode");
  store::StmtGuard gj(**jm);
  REQUIRE(*gj->step());
  CHECK(gj->text(0) == "wal");
}

TEST_CASE("store: the epoch is stable across reopen") {
  test::TempDir dir;
  std::string epoch;
  { epoch = open_store(dir.file("e.db"))->epoch(); }
  CHECK(epoch.size() == 16);
  CHECK(open_store(dir.file("e.db"))->epoch() == epoch);
}

TEST_CASE("store: push outcomes - new, fast-forward, duplicate, dot reuse, siblings") {
  test::TempDir dir;
  auto s = open_store(dir.file("p.db"));
  const std::string rec = uuid_n(100);
  sync::Edit v1 = make_edit(rec, kDevA, 1, {}, R"({"pct":60})", {"pct"});
  auto r1 = push(*s, kDevA, "a1", {v1});
  CHECK(r1["results"][0]["outcome"] == "applied");
  CHECK(r1["results"][0]["seq"] == 1);

  // B saw v1 and edits: fast-forward.
  sync::Edit b1 = make_edit(rec, kDevB, 1, v1.clock(), R"({"pct":70})", {"pct"});
  auto r2 = push(*s, kDevB, "b1", {b1});
  CHECK(r2["results"][0]["outcome"] == "applied");
  CHECK(r2["results"][0]["live"] == 1);

  // The same dot again in a new batch: duplicate; with other content: dot_reuse, quarantined.
  auto r3 = push(*s, kDevB, "b2", {b1});
  CHECK(r3["results"][0]["outcome"] == "duplicate");
  sync::Edit b1x = b1;
  b1x.body = R"({"pct":71})";
  auto r4 = push(*s, kDevB, "b3", {b1x});
  CHECK(r4["results"][0]["outcome"] == "rejected");
  CHECK(r4["results"][0]["error"]["code"] == "dot_reuse");
  auto q = s->quarantine(0, 10);
  REQUIRE(q.ok());
  REQUIRE(q->size() == 1);
  CHECK((*q)[0].code == "dot_reuse");

  // A edits from v1 without seeing b1: concurrent; the server merges at once, the field in conflict
  // keeps the value the server had (B's 70), and the inbox gets an entry.
  sync::Edit a2 = make_edit(rec, kDevA, 2, v1.clock(), R"({"pct":75})", {"pct"});
  auto r5 = push(*s, kDevA, "a2", {a2});
  CHECK(r5["results"][0]["outcome"] == "merged");
  CHECK(r5["results"][0]["live"] == 1);
  CHECK(r5["results"][0]["conflicts"] == nlohmann::json::array({"pct"}));
  auto state = s->record(rec);
  REQUIRE(state.ok());
  REQUIRE(state->has_value());
  CHECK((*state)->conflict);
  CHECK((*state)->conflicted == std::vector<std::string>{"pct"});
  REQUIRE((*state)->live.size() == 1);
  const sync::Version& merged = (*state)->live[0];
  CHECK(merged.dot.actor == s->server_actor());
  CHECK(merged.body == R"({"pct":70})");
  CHECK(merged.clock.contains(a2.dot));
  CHECK(merged.clock.contains(b1.dot));

}

TEST_CASE("store: an edit arriving after a later edit of the same device is superseded and kept") {
  test::TempDir dir;
  auto s = open_store(dir.file("sup.db"));
  const std::string rec = uuid_n(7);
  sync::Edit e1 = make_edit(rec, kDevA, 1, {}, R"({"a":1})", {"a"});
  sync::Edit e2 = make_edit(rec, kDevA, 2, e1.clock(), R"({"a":2})", {"a"});
  // Delivered out of order: e2 first.
  CHECK(push(*s, kDevA, "second", {e2})["results"][0]["outcome"] == "applied");
  auto r = push(*s, kDevA, "first", {e1});
  CHECK(r["results"][0]["outcome"] == "superseded");
  auto state = s->record(rec);
  REQUIRE(state->has_value());
  CHECK((*state)->live.size() == 1);
  CHECK((*state)->live[0].dot == e2.dot);
  CHECK((*state)->live[0].body == R"({"a":2})");
}

TEST_CASE("store: a replayed batch returns the stored response byte for byte, reused id refused") {
  test::TempDir dir;
  auto s = open_store(dir.file("r.db"));
  sync::Edit e = make_edit(uuid_n(1), kDevA, 1, {}, R"({"a":1})", {"a"});
  sync::PushRequest req{"batch-1", {e}};
  store::PushInput in{kDevA, &req, 1};
  auto first = s->push(in);
  REQUIRE(first.ok());
  CHECK_FALSE(first->replayed);
  const std::int64_t seq = s->last_seq();
  in.now_ms = 999;  // a later time must not change the stored answer
  auto again = s->push(in);
  REQUIRE(again.ok());
  CHECK(again->replayed);
  CHECK(again->response == first->response);
  CHECK(s->last_seq() == seq);

  sync::PushRequest other{"batch-1", {make_edit(uuid_n(2), kDevA, 2, {}, R"({"a":2})")}};
  store::PushInput in2{kDevA, &other, 2};
  auto refused = s->push(in2);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == Status::Code::kConflict);
  CHECK_FALSE(s->record(uuid_n(2))->has_value());
  // The same batch id from another device is a different batch.
  sync::PushRequest fromB{"batch-1", {make_edit(uuid_n(3), kDevB, 1, {}, R"({"b":1})")}};
  store::PushInput inB{kDevB, &fromB, 3};
  auto okB = s->push(inB);
  REQUIRE(okB.ok());
  CHECK_FALSE(okB->replayed);
}

namespace {

// typeof(response) and length(response) of a stored answer, read beside the store (WAL: a second reader).
std::pair<std::string, std::int64_t> stored_form(const std::string& path, const std::string& batch_id) {
  auto db = store::Db::open(path, {});
  REQUIRE(db.ok());
  auto s = (*db)->stmt("SELECT typeof(response), length(CAST(response AS BLOB)) FROM batches WHERE batch_id = ?1");
  REQUIRE(s.ok());
  store::StmtGuard g(**s);
  g->bind(1, batch_id);
  auto row = g->step();
  REQUIRE(row.ok());
  REQUIRE(*row);
  return {std::string(g->text(0)), g->int64(1)};
}

}  // namespace

TEST_CASE("store: push answers are stored compressed and read back byte for byte") {
  test::TempDir dir;
  const std::string path = dir.file("z.db");
  std::vector<sync::Edit> edits;
  for (int i = 0; i < 200; ++i)
    edits.push_back(make_edit(uuid_n(1000 + i), kDevA, i + 1, {}, R"({"a":)" + std::to_string(i) + "}", {"a"}));
  sync::PushRequest req{"big", edits};
  std::string answer;
  {
    auto s = open_store(path);
    store::PushInput in{kDevA, &req, 1};
    auto first = s->push(in);
    REQUIRE(first.ok());
    answer = first->response;
    CHECK(answer.find(R"("outcome":"applied")") != std::string::npos);
    // Stored as one zstd frame (stored_answer.hpp note 1), far smaller than the answer.
    const auto [type, bytes] = stored_form(path, "big");
    CHECK(type == "blob");
    CHECK(bytes * 3 < static_cast<std::int64_t>(answer.size()));
    auto again = s->push(in);
    REQUIRE(again.ok());
    CHECK(again->replayed);
    CHECK(again->response == answer);
    auto got = s->batch_answer(kDevA, "big");
    REQUIRE(got.ok());
    REQUIRE(got->has_value());
    CHECK(**got == answer);
  }
  // And after a reopen (no cache in between).
  auto s = open_store(path);
  auto got = s->batch_answer(kDevA, "big");
  REQUIRE(got.ok());
  REQUIRE(got->has_value());
  CHECK(**got == answer);
  store::PushInput in{kDevA, &req, 5};
  auto again = s->push(in);
  REQUIRE(again.ok());
  CHECK(again->replayed);
  CHECK(again->response == answer);
}

TEST_CASE("store: push answers stored as text before compression still answer replays byte for byte") {
  test::TempDir dir;
  const std::string path = dir.file("t.db");
  std::vector<sync::Edit> edits;
  for (int i = 0; i < 50; ++i)
    edits.push_back(make_edit(uuid_n(2000 + i), kDevA, i + 1, {}, R"({"a":)" + std::to_string(i) + "}", {"a"}));
  sync::PushRequest req{"old", edits};
  std::string answer;
  {
    auto s = open_store(path);
    store::PushInput in{kDevA, &req, 1};
    auto first = s->push(in);
    REQUIRE(first.ok());
    answer = first->response;
  }
  {
    // The row as a server before compression wrote it: the answer's text.
    auto db = store::Db::open(path, {});
    REQUIRE(db.ok());
    auto s = (*db)->stmt("UPDATE batches SET response = ?1 WHERE batch_id = 'old'");
    REQUIRE(s.ok());
    store::StmtGuard g(**s);
    g->bind(1, answer);
    REQUIRE(g->run().ok());
  }
  CHECK(stored_form(path, "old") == std::pair<std::string, std::int64_t>("text", static_cast<std::int64_t>(answer.size())));
  auto s = open_store(path);
  store::PushInput in{kDevA, &req, 9};
  auto again = s->push(in);
  REQUIRE(again.ok());
  CHECK(again->replayed);
  CHECK(again->response == answer);
  auto got = s->batch_answer(kDevA, "old");
  REQUIRE(got.ok());
  REQUIRE(got->has_value());
  CHECK(**got == answer);
  // The row is not rewritten.
  CHECK(stored_form(path, "old").first == "text");
}

TEST_CASE("store: a stored push answer that is a BLOB but no zstd frame is reported as corruption") {
  test::TempDir dir;
  const std::string path = dir.file("c.db");
  sync::PushRequest req{"bad", {make_edit(uuid_n(3000), kDevA, 1, {}, R"({"a":1})", {"a"})}};
  { (void)open_store(path)->push(store::PushInput{kDevA, &req, 1}); }
  {
    auto db = store::Db::open(path, {});
    REQUIRE(db.ok());
    REQUIRE((*db)->exec("UPDATE batches SET response = x'00112233' WHERE batch_id = 'bad'").ok());
  }
  auto s = open_store(path);
  auto got = s->batch_answer(kDevA, "bad");
  REQUIRE_FALSE(got.ok());
  CHECK(got.status().code() == Status::Code::kCorruption);
  auto again = s->push(store::PushInput{kDevA, &req, 2});
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().code() == Status::Code::kCorruption);
}

TEST_CASE("store: a device pushes only its own dots") {
  test::TempDir dir;
  auto s = open_store(dir.file("w.db"));
  auto r = push(*s, kDevA, "x", {make_edit(uuid_n(1), kDevB, 1, {}, R"({})")});
  CHECK(r["results"][0]["outcome"] == "rejected");
  CHECK(r["results"][0]["error"]["code"] == "wrong_actor");
  CHECK_FALSE(s->record(uuid_n(1))->has_value());
}

// PROTOCOL §10.7: a quarantined edit keeps its code's arguments, so a reader sees the reason in their
// own language: the forms, counter and scope it names, never an id.
TEST_CASE("store: a quarantined edit keeps the arguments of its code") {
  test::TempDir dir;
  auto s = open_store(dir.file("q.db"));
  const std::string rec = uuid_n(300);
  sync::Edit v1 = make_edit(rec, kDevA, 1, {}, R"({"pct":60})", {"pct"});
  push(*s, kDevA, "a1", {v1});
  sync::Edit other_form = make_edit(rec, kDevA, 2, v1.clock(), R"({"pct":61})", {"pct"});
  other_form.form_id = "so2_business_followup";
  sync::Edit reused = v1;
  reused.body = R"({"pct":62})";
  sync::Edit foreign = make_edit(uuid_n(301), kDevB, 1, {}, R"({})");
  auto r = push(*s, kDevA, "a2", {other_form, reused, foreign});
  CHECK(r["results"][0]["error"]["code"] == "form_mismatch");
  CHECK(r["results"][1]["error"]["code"] == "dot_reuse");
  CHECK(r["results"][2]["error"]["code"] == "wrong_actor");
  // A user of Prizren only: a new record in Gračanica, and an edit of the Gračanica record.
  const std::vector<sync::Assignment> prizren{{"prizren", "*", "*", "*"}};
  sync::PushRequest req{"a3", {make_edit(uuid_n(302), kDevA, 3, {}, R"({"pct":1})", {"pct"})}};
  store::PushInput in{kDevA, &req, 1700000000000, &prizren};
  REQUIRE(s->push(in).ok());
  sync::Edit moved = make_edit(rec, kDevA, 4, v1.clock(), R"({"pct":63})", {"pct"});
  moved.scope = {"prizren", "bosniak", "SO1"};
  sync::PushRequest req2{"a4", {moved}};
  store::PushInput in2{kDevA, &req2, 1700000000000, &prizren};
  REQUIRE(s->push(in2).ok());
  auto q = s->quarantine(0, 10);
  REQUIRE(q.ok());
  REQUIRE(q->size() == 5);
  std::vector<std::pair<std::string, nlohmann::json>> got;
  for (const auto& e : *q) got.emplace_back(e.code, nlohmann::json::parse(e.args_json));
  const std::vector<std::pair<std::string, nlohmann::json>> want{
      {"out_of_scope", {{"form", "so1_infra_monitoring"}, {"municipality", "gracanice"}, {"community", "serb"},
                        {"component", "SO1"}, {"record_exists", true}}},
      {"out_of_scope", {{"form", "so1_infra_monitoring"}, {"municipality", "gracanice"}, {"community", "serb"},
                        {"component", "SO1"}, {"record_exists", false}}},
      {"wrong_actor", nlohmann::json::object()},
      {"dot_reuse", {{"n", 1}}},
      {"form_mismatch", {{"form", "so2_business_followup"}, {"record_form", "so1_infra_monitoring"}}}};
  CHECK(got == want);
}

TEST_CASE("store: feed has no gaps and no record twice per page, paging reaches every change") {
  test::TempDir dir;
  auto s = open_store(dir.file("f.db"));
  const int kRecords = 120;
  std::int64_t n = 0;
  std::vector<sync::Edit> batch;
  std::map<std::string, sync::VectorClock> clocks;
  for (int i = 0; i < kRecords; ++i) {
    sync::Edit e = make_edit(uuid_n(static_cast<std::uint64_t>(1000 + i)), kDevA, ++n, {}, R"({"v":0})", {"v"});
    clocks[e.record_id] = e.clock();
    batch.push_back(e);
  }
  push(*s, kDevA, "init", batch);
  // Edit every third record again so its seq moves to the end.
  batch.clear();
  for (int i = 0; i < kRecords; i += 3) {
    std::string id = uuid_n(static_cast<std::uint64_t>(1000 + i));
    sync::Edit e = make_edit(id, kDevA, ++n, clocks[id], R"({"v":1})", {"v"});
    batch.push_back(e);
  }
  push(*s, kDevA, "again", batch);
  CHECK(s->last_seq() == kRecords + kRecords / 3);

  std::int64_t cursor = 0;
  std::set<std::string> seen;
  std::int64_t last = 0;
  bool more = true;
  while (more) {
    auto page = s->changes(cursor, 7);
    REQUIRE(page.ok());
    std::set<std::string> in_page;
    for (const auto& r : page->records) {
      CHECK(r.seq > last);
      last = r.seq;
      CHECK(in_page.insert(r.record_id).second);
      CHECK(seen.insert(r.record_id).second);  // each record once, at its latest state
      CHECK(r.live.size() == 1);
    }
    more = page->more;
    cursor = page->next;
  }
  CHECK(seen.size() == kRecords);
  CHECK(cursor == s->last_seq());
  // Records edited twice come back with their second body.
  auto again = s->changes(kRecords, 1000);
  REQUIRE(again.ok());
  CHECK(again->records.size() == kRecords / 3);
  for (const auto& r : again->records) CHECK(r.live[0].body == R"({"v":1})");
}

TEST_CASE("store: concurrent pushers are group-committed, every edit lands with a distinct seq") {
  test::TempDir dir;
  auto s = open_store(dir.file("g.db"));
  const int kThreads = 8, kBatches = 20, kPerBatch = 25;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string dev = uuid_n(static_cast<std::uint64_t>(0x100 + t));
      std::int64_t n = 0;
      for (int b = 0; b < kBatches; ++b) {
        sync::PushRequest req;
        req.batch_id = "t" + std::to_string(t) + "-" + std::to_string(b);
        for (int i = 0; i < kPerBatch; ++i) {
          std::uint64_t id = static_cast<std::uint64_t>(t) * 100000 + static_cast<std::uint64_t>(b * kPerBatch + i);
          req.edits.push_back(make_edit(uuid_n(id), dev, ++n, {}, R"({"k":1})", {"k"}));
        }
        store::PushInput in{dev, &req, 5};
        if (!s->push(in).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  CHECK(s->last_seq() == kThreads * kBatches * kPerBatch);
  auto page = s->changes(0, 100000);
  REQUIRE(page.ok());
  CHECK(page->records.size() == static_cast<std::size_t>(kThreads * kBatches * kPerBatch));
  std::int64_t expect = 1;
  for (const auto& r : page->records) CHECK(r.seq == expect++);  // dense: no gaps
  CHECK(s->integrity_check().ok());
}

TEST_CASE("store: the feed's JSON fast path says exactly what the decoded path says") {
  test::TempDir dir;
  auto s = open_store(dir.file("j.db"));
  const std::string rec = uuid_n(77);
  sync::Edit base = make_edit(rec, kDevA, 1, {}, R"({"t":"Çabër \"q\" – Đ"})", {"t"});
  push(*s, kDevA, "j1", {base, make_edit(uuid_n(78), kDevA, 2, {}, R"({"x":[1,2,{"y":null}]})", {"x"})});
  push(*s, kDevB, "j2", {make_edit(rec, kDevB, 1, base.clock(), R"({"t":"b"})", {"t"})});
  push(*s, kDevA, "j3", {make_edit(rec, kDevA, 3, base.clock(), R"({"t":"a"})", {"t"})});  // sibling
  for (std::size_t limit : {1u, 2u, 10u}) {
    std::string out;
    auto fast = s->changes_json(0, limit, out);
    auto slow = s->changes(0, limit);
    REQUIRE(fast.ok());
    REQUIRE(slow.ok());
    CHECK(fast->next == slow->next);
    CHECK(fast->more == slow->more);
    auto arr = nlohmann::json::parse("[" + out + "]");
    REQUIRE(arr.size() == slow->records.size());
    for (std::size_t i = 0; i < arr.size(); ++i) {
      std::string one;
      sync::append_record_state(one, slow->records[i]);
      CHECK(arr[i] == nlohmann::json::parse(one));
    }
  }
}

// The tablet store alone (no network): durability of saves and the outbox, the cursor's transaction,
// the local view of conflicts, acknowledgements and epoch resets.
#include "schema/store/tablet_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <map>

#include <doctest/doctest.h>

#include "sync/wire_json.hpp"
#include "tests/clients/client_support.hpp"
#include "tests/support/edits.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;

namespace {

const std::string kMe = test::uuid_n(0xA1), kOther = test::uuid_n(0xB2);

std::unique_ptr<store::TabletStore> open_me(const test::TempDir& dir) {
  return test::open_tablet(dir.file("tablet.db"), {kMe, "tok"}, 9);
}

sync::Version version(const std::string& actor, std::int64_t n, sync::VectorClock clock, const std::string& body) {
  sync::Version v;
  v.dot = {actor, n};
  clock.advance(actor, n);
  v.clock = clock;
  v.body = body;
  v.form_version = 1;
  return v;
}

sync::RecordState state(const std::string& id, std::int64_t seq, std::vector<sync::Version> live) {
  sync::RecordState s;
  s.record_id = id;
  s.form_id = "so1_infra_monitoring";
  s.form_version = 1;
  s.scope = {"gracanice", "serb", "SO1"};
  s.seq = seq;
  s.conflict = live.size() > 1;
  s.live = std::move(live);
  return s;
}

// The answer a server would give to `b`, every edit with `outcome`.
sync::PushResponse answer(const store::OutboxBatch& b, sync::Outcome outcome, const std::string& epoch = "e1") {
  sync::PushResponse r{b.batch_id, epoch, {}};
  auto req = sync::decode_push_request(b.request, {});
  REQUIRE(req.ok());
  for (std::size_t i = 0; i < b.dots.size(); ++i) {
    sync::EditResult e;
    e.index = i;
    e.record_id = req->edits[i].record_id;
    e.dot = b.dots[i];
    e.outcome = outcome;
    if (outcome == sync::Outcome::kRejected) e.error_code = "stale_context";
    r.results.push_back(e);
  }
  return r;
}


// Every row of the tablet tables a pull writes, one line each in primary-key order, through a
// connection of its own (blobs in hex). `names` turns ids into short names (their text and hex forms).
std::string dump_tables(const std::string& path, const std::map<std::string, std::string>& names) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  std::string out;
  for (const char* sql : {"SELECT 'device', cursor, epoch, counter, next_batch FROM device",
                          "SELECT 'records', * FROM records ORDER BY id", "SELECT 'versions', * FROM versions ORDER BY 2, 3, 4",
                          "SELECT 'edits', * FROM edits ORDER BY n", "SELECT 'pushed', * FROM pushed ORDER BY n",
                          "SELECT 'rejected', * FROM rejected ORDER BY id", "SELECT 'batches', * FROM batches ORDER BY seq"}) {
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        if (c > 0) out += '|';
        if (sqlite3_column_type(st, c) == SQLITE_NULL) {
          out += "NULL";
        } else if (sqlite3_column_type(st, c) == SQLITE_BLOB) {
          const auto* b = static_cast<const unsigned char*>(sqlite3_column_blob(st, c));
          static constexpr char kHex[] = "0123456789abcdef";
          for (int i = 0; i < sqlite3_column_bytes(st, c); ++i) out += {kHex[b[i] >> 4], kHex[b[i] & 0xF]};
        } else {
          out += reinterpret_cast<const char*>(sqlite3_column_text(st, c));
        }
      }
      out += '\n';
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  for (const auto& [id, name] : names) {
    std::string hex = id;
    std::erase(hex, '-');
    for (const std::string& form : {id, hex})
      for (std::size_t p; (p = out.find(form)) != std::string::npos;) out.replace(p, form.size(), name);
  }
  return out;
}
}  // namespace

TEST_CASE("tablet store: the dot counter is persisted with each save") {
  test::TempDir dir;
  std::mt19937_64 rng(1);
  std::string id;
  {
    auto s = open_me(dir);
    auto r = s->create(test::infra_record(R"({"a":1})", {"a"}), 1000, test::random10(rng));
    REQUIRE(r.ok());
    id = *r;
    auto d = s->edit(id, R"({"a":2})", {"a"}, 2000);
    REQUIRE(d.ok());
    CHECK(d->n == 2);
  }  // closed without any further step: what a crash after the save looks like
  auto s = open_me(dir);
  CHECK(s->device()->counter == 2);
  auto d = s->edit(id, R"({"a":3})", {"a"}, 3000);
  REQUIRE(d.ok());
  CHECK(d->n == 3);  // never reused
  CHECK(s->record(id)->value().live.at(0).body == R"({"a":3})");
  CHECK(s->init({kMe, "h:1", "t"}, 1, 1).code() == Status::Code::kConflict);
}

TEST_CASE("tablet store: the outbox survives a crash between save and push, and a batch is stable") {
  test::TempDir dir;
  std::mt19937_64 rng(2);
  std::string first_request, first_id;
  {
    auto s = open_me(dir);
    for (int i = 0; i < 5; ++i)
      REQUIRE(s->create(test::infra_record(R"({"i":)" + std::to_string(i) + "}", {"i"}), 1000 + i,
                        test::random10(rng)).ok());
  }
  {
    auto s = open_me(dir);
    CHECK(s->stats()->unsynced == 5);
    auto b = s->next_batch(3);
    REQUIRE(b.ok());
    REQUIRE(b->has_value());
    CHECK((*b)->dots.size() == 3);
    first_request = (*b)->request;
    first_id = (*b)->batch_id;
  }  // crash after sending, before the answer
  auto s = open_me(dir);
  auto again = s->next_batch(3);
  REQUIRE(again->has_value());
  CHECK((*again)->batch_id == first_id);
  CHECK((*again)->request == first_request);  // replayed byte for byte
  REQUIRE(s->acknowledge(**again, answer(**again, sync::Outcome::kApplied)).ok());
  auto rest = s->next_batch(3);
  REQUIRE(rest->has_value());
  CHECK((*rest)->batch_id != first_id);
  CHECK((*rest)->dots.size() == 2);
  CHECK((*rest)->dots.front().n == 4);
  REQUIRE(s->acknowledge(**rest, answer(**rest, sync::Outcome::kApplied)).ok());
  CHECK_FALSE(s->next_batch(3)->has_value());
  CHECK(s->stats()->unsynced == 0);
}

TEST_CASE("tablet store: the cursor never advances past changes not applied") {
  test::TempDir dir;
  auto s = open_me(dir);
  const std::string r1 = test::uuid7(1, 1), r2 = test::uuid7(2, 2);
  REQUIRE(s->apply_changes({state(r1, 1, {version(kOther, 1, {}, R"({"x":1})")})}, "e1-1", "e1", true).ok());
  CHECK(s->device()->cursor == "e1-1");
  // A page whose second record cannot be applied: nothing of it is kept, the cursor stays.
  auto bad = state("not-a-uuid", 3, {version(kOther, 3, {}, "{}")});
  auto r = s->apply_changes({state(r2, 2, {version(kOther, 2, {}, R"({"y":1})")}), bad}, "e1-3", "e1", true);
  CHECK_FALSE(r.ok());
  CHECK(s->device()->cursor == "e1-1");
  CHECK_FALSE(s->record(r2)->has_value());
  CHECK(s->record(r1)->has_value());
}

TEST_CASE("tablet store: acknowledged edits stay visible until the feed covers them") {
  test::TempDir dir;
  std::mt19937_64 rng(3);
  auto s = open_me(dir);
  auto id = s->create(test::infra_record(R"({"a":1})", {"a"}), 1000, test::random10(rng));
  REQUIRE(id.ok());
  auto b = s->next_batch(10);
  REQUIRE(s->acknowledge(**b, answer(**b, sync::Outcome::kApplied)).ok());
  auto rec = s->record(*id)->value();
  REQUIRE(rec.live.size() == 1);
  CHECK(rec.live[0].is_local);
  CHECK(rec.live[0].is_acked);
  CHECK(rec.unsynced == 0);
  // The feed shows it: the server's version replaces the local one.
  REQUIRE(s->apply_changes({state(*id, 1, {version(kMe, 1, {}, R"({"a":1})")})}, "e1-1", "e1", true).ok());
  rec = s->record(*id)->value();
  REQUIRE(rec.live.size() == 1);
  CHECK_FALSE(rec.live[0].is_local);
}

TEST_CASE("tablet store: a pull never drops an unsynced edit, and concurrent versions are a conflict") {
  test::TempDir dir;
  auto s = open_me(dir);
  const std::string id = test::uuid7(5, 5);
  auto v1 = version(kOther, 1, {}, R"({"x":1})");
  REQUIRE(s->apply_changes({state(id, 1, {v1})}, "e1-1", "e1", true).ok());
  REQUIRE(s->edit(id, R"({"x":2})", {"x"}, 1000).ok());  // context {other:1}
  CHECK_FALSE(s->record(id)->value().is_conflict());
  // Meanwhile the other device edited too: the pull brings {other:2}, concurrent with the local edit.
  REQUIRE(s->apply_changes({state(id, 2, {version(kOther, 2, v1.clock, R"({"x":3})")})}, "e1-2", "e1", true).ok());
  auto rec = s->record(id)->value();
  REQUIRE(rec.live.size() == 2);
  CHECK(rec.is_conflict());
  CHECK(rec.unsynced == 1);
  CHECK(rec.live[rec.current].is_local);  // an edit continues the device's own line
  REQUIRE(s->edit(id, R"({"x":4})", {"x"}, 2000).ok());
  rec = s->record(id)->value();
  REQUIRE(rec.live.size() == 2);
  CHECK(rec.live[rec.current].clock.get(kOther) == 1);  // the other's {other:2} was never seen
  CHECK(rec.live[rec.current].clock.get(kMe) == 2);
}

TEST_CASE("tablet store: rejected edits leave the outbox for the rejected list") {
  test::TempDir dir;
  std::mt19937_64 rng(4);
  auto s = open_me(dir);
  auto id = s->create(test::infra_record(R"({"a":1})", {"a"}), 1000, test::random10(rng));
  auto b = s->next_batch(10);
  auto ack = s->acknowledge(**b, answer(**b, sync::Outcome::kRejected));
  REQUIRE(ack.ok());
  CHECK(ack->rejected.size() == 1);
  auto rej = s->rejected();
  REQUIRE(rej->size() == 1);
  CHECK((*rej)[0].code == "stale_context");
  CHECK((*rej)[0].record_id == *id);
  CHECK((*rej)[0].edit.find(R"("a":1)") != std::string::npos);
  CHECK_FALSE(s->record(*id)->has_value());  // its only edit was refused
  CHECK(s->stats()->unsynced == 0);
  // An answer that does not fit the batch records nothing.
  REQUIRE(s->create(test::infra_record(R"({"b":1})", {"b"}), 2000, test::random10(rng)).ok());
  auto b2 = s->next_batch(10);
  auto wrong = answer(**b2, sync::Outcome::kApplied);
  wrong.batch_id = "other";
  CHECK(s->acknowledge(**b2, wrong).status().code() == Status::Code::kCorruption);
  CHECK(s->stats()->unsynced == 1);
}

TEST_CASE("tablet store: a batch refused whole is split, then its bad edit is rejected alone") {
  test::TempDir dir;
  std::mt19937_64 rng(5);
  auto s = open_me(dir);
  for (int i = 0; i < 3; ++i)
    REQUIRE(s->create(test::infra_record(R"({"i":1})", {"i"}), 1000 + i, test::random10(rng)).ok());
  auto b = s->next_batch(10);
  REQUIRE((*b)->dots.size() == 3);
  REQUIRE(s->fail_batch(**b, "invalid_batch", "bad").ok());
  auto solo = s->next_batch(10);
  REQUIRE((*solo)->dots.size() == 1);
  REQUIRE(s->fail_batch(**solo, "invalid_batch", "$.edits[0].body: bad").ok());
  CHECK(s->rejected()->size() == 1);
  CHECK(s->stats()->unsynced == 2);
}

TEST_CASE("tablet store: a new server epoch re-queues edits acknowledged under the old one") {
  test::TempDir dir;
  std::mt19937_64 rng(6);
  auto s = open_me(dir);
  auto id = s->create(test::infra_record(R"({"a":1})", {"a"}), 1000, test::random10(rng));
  auto b = s->next_batch(10);
  REQUIRE(s->acknowledge(**b, answer(**b, sync::Outcome::kApplied, "e1")).ok());
  REQUIRE(s->apply_changes({}, "e1-7", "e1", true).ok());
  CHECK(s->stats()->unsynced == 0);
  REQUIRE(s->reset_epoch("").ok());
  CHECK(s->device()->cursor.empty());
  CHECK(s->stats()->unsynced == 1);
  auto again = s->next_batch(10);
  REQUIRE(again->has_value());
  CHECK((*again)->dots.at(0).n == 1);
  REQUIRE(s->acknowledge(**again, answer(**again, sync::Outcome::kApplied, "e2")).ok());
  // A page that is not the last one leaves the record alone.
  REQUIRE(s->apply_changes({}, "e2-1", "e2", false).ok());
  CHECK(s->record(*id)->has_value());
  // The whole feed of the new epoch, which acknowledged the edit, does not show the record: the server
  // has it but not for this user (out of scope), so the copy goes.
  REQUIRE(s->apply_changes({}, "e2-1", "e2", true).ok());
  CHECK_FALSE(s->record(*id)->has_value());
  CHECK(s->stats()->unsynced == 0);
  CHECK(s->device()->epoch == "e2");
}

TEST_CASE("tablet store: an out-of-scope marker drops the server's copy and acknowledged edits, keeps the rest") {
  test::TempDir dir;
  std::mt19937_64 rng(8);
  auto s = open_me(dir);
  const std::string plain = test::uuid7(7, 1), acked = test::uuid7(7, 2), pending = test::uuid7(7, 3);
  auto v = [&](std::int64_t n) { return version(kOther, n, {}, R"({"x":1})"); };
  REQUIRE(s->apply_changes({state(plain, 1, {v(1)}), state(acked, 2, {v(2)}), state(pending, 3, {v(3)})}, "e1-3", "e1",
                           true)
              .ok());
  REQUIRE(s->edit(acked, R"({"x":2})", {"x"}, 2000).ok());
  auto b = s->next_batch(10);
  REQUIRE(s->acknowledge(**b, answer(**b, sync::Outcome::kApplied)).ok());
  REQUIRE(s->edit(pending, R"({"x":3})", {"x"}, 3000).ok());
  auto marker = [](const std::string& id, std::int64_t seq) {
    sync::RecordState m;
    m.record_id = id;
    m.seq = seq;
    m.out_of_scope = true;
    return m;
  };
  auto n = s->apply_changes({marker(plain, 4), marker(acked, 5), marker(pending, 6), marker(test::uuid7(7, 9), 7)},
                            "e1-7", "e1", true);
  REQUIRE(n.ok());
  CHECK(s->device()->cursor == "e1-7");
  CHECK_FALSE(s->record(plain)->has_value());
  CHECK_FALSE(s->record(acked)->has_value());
  CHECK_FALSE(s->record(test::uuid7(7, 9))->has_value());  // never seen: nothing to drop, nothing made
  // The edit never pushed stays, alone, still to be pushed (the server will say out_of_scope).
  auto rec = s->record(pending);
  REQUIRE(rec->has_value());
  REQUIRE((*rec)->live.size() == 1);
  CHECK((*rec)->live[0].is_local);
  CHECK((*rec)->live[0].body == R"({"x":3})");
  CHECK((*rec)->unsynced == 1);
  CHECK(s->stats()->records == 1);
  auto next = s->next_batch(10);
  REQUIRE(next->has_value());
  CHECK((*next)->dots.size() == 1);
}

TEST_CASE("tablet store: a feed page from another epoch re-queues acknowledged edits before applying") {
  test::TempDir dir;
  std::mt19937_64 rng(7);
  auto s = open_me(dir);
  auto id = s->create(test::infra_record(R"({"a":1})", {"a"}), 1000, test::random10(rng));
  auto b = s->next_batch(10);
  REQUIRE(s->acknowledge(**b, answer(**b, sync::Outcome::kApplied, "e1")).ok());
  CHECK(s->stats()->unsynced == 0);
  // A restored server answers the pull from the start under a new epoch, without the record.
  const std::string other = test::uuid7(9, 9);
  REQUIRE(s->apply_changes({state(other, 1, {version(kOther, 1, {}, "{}")})}, "e2-1", "e2", true).ok());
  CHECK(s->device()->epoch == "e2");
  CHECK(s->device()->cursor == "e2-1");
  CHECK(s->stats()->unsynced == 1);         // to be pushed again
  CHECK(s->record(*id)->has_value());       // kept: the device still holds its edit
  CHECK(s->record(other)->has_value());
  // An acknowledgement from yet another epoch does the same.
  auto again = s->next_batch(10);
  auto ack = s->acknowledge(**again, answer(**again, sync::Outcome::kDuplicate, "e3"));
  REQUIRE(ack.ok());
  CHECK(ack->epoch_changed);
  CHECK(s->device()->cursor.empty());
  CHECK(s->stats()->unsynced == 0);
}

TEST_CASE("tablet store: a merged record with fields awaiting an admin shows as a conflict") {
  test::TempDir dir;
  auto s = open_me(dir);
  const std::string id = test::uuid7(6, 6);
  auto st = state(id, 4, {version(kOther, 3, {}, R"({"x":1})")});
  st.conflict = true;
  st.conflicted = {"x"};
  REQUIRE(s->apply_changes({st}, "e1-4", "e1", true).ok());
  auto rec = s->record(id)->value();
  CHECK(rec.live.size() == 1);
  CHECK(rec.is_conflict());
  CHECK(rec.conflicted == std::vector<std::string>{"x"});
  CHECK(s->stats()->conflicts == 1);
  // The admin's resolution arrives: the flag goes.
  auto resolved = state(id, 5, {version(kOther, 4, {}, R"({"x":2})")});
  REQUIRE(s->apply_changes({resolved}, "e1-5", "e1", true).ok());
  CHECK_FALSE(s->record(id)->value().is_conflict());
  CHECK(s->stats()->conflicts == 0);
}

TEST_CASE("tablet store: a retry resends the batch byte-identical, device_time as saved (PROTOCOL §4.3)") {
  test::TempDir dir;
  std::mt19937_64 rng(8);
  std::string first;
  std::vector<sync::Edit> sent;
  {
    auto s = open_me(dir);
    for (int i = 0; i < 3; ++i)
      REQUIRE(s->create(test::infra_record(R"({"i":)" + std::to_string(i) + "}", {"i"}), 1000 + i,
                        test::random10(rng)).ok());
    auto b = s->next_batch(10);
    REQUIRE(b->has_value());
    first = (*b)->request;
    auto req = sync::decode_push_request(first, {});
    REQUIRE(req.ok());
    sent = req->edits;
    for (int i = 0; i < 3; ++i) CHECK(sent[static_cast<std::size_t>(i)].device_time == 1000 + i);
  }  // the answer never came; the app is restarted later, its clock has moved on
  auto s = open_me(dir);
  auto again = s->next_batch(10);
  REQUIRE(again->has_value());
  CHECK((*again)->request == first);  // same batch id, same edits, same device_time: byte for byte
  // After a new epoch the edits go in a fresh batch, each edit's content unchanged (device_time
  // included), so the server recognises them (duplicate), never a different edit under the same dot.
  REQUIRE(s->acknowledge(**again, answer(**again, sync::Outcome::kApplied, "e1")).ok());
  REQUIRE(s->reset_epoch("").ok());
  auto fresh = s->next_batch(10);
  REQUIRE(fresh->has_value());
  CHECK((*fresh)->batch_id != (*again)->batch_id);
  auto req = sync::decode_push_request((*fresh)->request, {});
  REQUIRE(req.ok());
  REQUIRE(req->edits.size() == sent.size());
  for (std::size_t i = 0; i < sent.size(); ++i) CHECK(sync::edit_fingerprint(req->edits[i]) == sync::edit_fingerprint(sent[i]));
}

TEST_CASE("tablet store: the last skip_own page makes acknowledged edits the server versions, row for row") {
  // A create; an edit of a pulled record; a record edited again after its push; a deletion; a rejected
  // create; a record the last page shows (its acknowledged edit stays, not covered by the page's version).
  test::TempDir dir;
  std::mt19937_64 rng(9);
  auto s = open_me(dir);
  const std::string b_id = test::uuid7(3, 3);
  REQUIRE(s->apply_changes({state(b_id, 1, {version(kOther, 1, {}, R"({"b":1})")})}, "e1-1", "e1", true).ok());
  const std::string a_id = *s->create(test::infra_record(R"({"a":1})", {"a"}), 1001, test::random10(rng));
  REQUIRE(s->edit(b_id, R"({"b":2})", {"b"}, 1002).ok());
  const std::string c_id = *s->create(test::infra_record(R"({"c":1})", {"c"}), 1003, test::random10(rng));
  const std::string d_id = *s->create(test::infra_record(R"({"d":1})", {"d"}), 1004, test::random10(rng));
  REQUIRE(s->remove(d_id, 1005).ok());
  const std::string e_id = *s->create(test::infra_record(R"({"e":1})", {"e"}), 1006, test::random10(rng));
  const std::string f_id = *s->create(test::infra_record(R"({"f":1})", {"f"}), 1007, test::random10(rng));
  auto b = s->next_batch(20);
  REQUIRE((*b)->dots.size() == 7);
  auto ans = answer(**b, sync::Outcome::kApplied);
  for (std::size_t i = 0; i < ans.results.size(); ++i) {
    ans.results[i].seq = 10 + static_cast<std::int64_t>(i);
    if (ans.results[i].record_id == e_id) {
      ans.results[i].outcome = sync::Outcome::kRejected;
      ans.results[i].error_code = "stale_context";
      ans.results[i].seq = 0;
    }
  }
  REQUIRE(s->acknowledge(**b, ans).ok());
  REQUIRE(s->edit(c_id, R"({"c":2})", {"c"}, 1008).ok());
  // The last page (skip_own) shows F with another device's concurrent version only.
  REQUIRE(s->apply_changes({state(f_id, 30, {version(kOther, 2, {}, R"({"f":9})")})}, "e1-30", "e1", true, true).ok());
  const std::string dump = dump_tables(dir.file("tablet.db"), {{a_id, "A"}, {b_id, "B"}, {c_id, "C"}, {d_id, "D"},
                                                              {e_id, "E"}, {f_id, "F"}, {kMe, "ME"}, {kOther, "OTHER"},
                                                              {(*b)->batch_id, "BATCH"}});
  // As the feed would give them (server_time unknown: 0), the push answer's seq kept; the acknowledged
  // edits moved to `pushed`; C's later edit, F's acknowledged edit and E's rejection stay.
  const std::string expected =
      "device|e1-30|e1|8|2\n"
      "records|B|so1_infra_monitoring|1|gracanice|serb|SO1|11|0|[]|0|0\n"
      "records|A|so1_infra_monitoring|1|gracanice|serb|SO1|10|0|[]|0|0\n"
      "records|C|so1_infra_monitoring|1|gracanice|serb|SO1|12|0|[]|0|0\n"
      "records|D|so1_infra_monitoring|1|gracanice|serb|SO1|14|0|[]|0|0\n"
      "records|F|so1_infra_monitoring|1|gracanice|serb|SO1|30|0|[]|0|0\n"
      "versions|B|ME|2|{\"ME\":2,\"OTHER\":1}|[\"b\"]|{\"b\":2}|0|1002|0\n"
      "versions|A|ME|1|{\"ME\":1}|[\"a\"]|{\"a\":1}|0|1001|0\n"
      "versions|C|ME|3|{\"ME\":3}|[\"c\"]|{\"c\":1}|0|1003|0\n"
      "versions|D|ME|5|{\"ME\":5}|[]|{}|1|1005|0\n"
      "versions|F|OTHER|2|{\"OTHER\":2}|[]|{\"f\":9}|0|0|0\n"
      "edits|7|F|1|{}|[\"f\"]|{\"f\":1}|0|1007|BATCH|0|e1|16\n"
      "edits|8|C|1|{\"ME\":3}|[\"c\"]|{\"c\":2}|0|1008|NULL|0|NULL|0\n"
      "pushed|1|A|so1_infra_monitoring|1|gracanice|serb|SO1|{}|[\"a\"]|{\"a\":1}|0|1001|e1|0\n"
      "pushed|2|B|so1_infra_monitoring|1|gracanice|serb|SO1|{\"OTHER\":1}|[\"b\"]|{\"b\":2}|0|1002|e1|0\n"
      "pushed|3|C|so1_infra_monitoring|1|gracanice|serb|SO1|{}|[\"c\"]|{\"c\":1}|0|1003|e1|0\n"
      "pushed|4|D|so1_infra_monitoring|1|gracanice|serb|SO1|{}|[\"d\"]|{\"d\":1}|0|1004|e1|0\n"
      "pushed|5|D|so1_infra_monitoring|1|gracanice|serb|SO1|{\"ME\":4}|[]|{}|1|1005|e1|0\n"
      "rejected|1|E|ME|6|BATCH|stale_context||{\"body\":{\"e\":1},\"changed\":[\"e\"],\"context\":{},\"deleted\":false,\"device_time\":1006,\"dot\":{\"actor\":\"ME\",\"n\":6},\"form\":\"so1_infra_monitoring\",\"form_version\":1,\"record\":\"E\",\"scope\":{\"community\":\"serb\",\"component\":\"SO1\",\"municipality\":\"gracanice\"}}|\n";
  CHECK(dump == expected);
  CHECK(*s->unsynced() == 1);  // C's later edit
  CHECK(s->stats()->unsynced == 1);
}

TEST_CASE("tablet store: a batch within a byte bound holds its least edits and takes a short rest whole") {
  auto body = [](int i) { return R"({"note":"visit )" + std::to_string(i) + R"( of the water works"})"; };
  // The request of one edit, and what each further edit adds (the edits differ in one digit only).
  std::size_t size1 = 0, per = 0;
  {
    test::TempDir probe_dir;
    auto p = test::open_tablet(probe_dir.file("p.db"), {kMe, "tok"}, 9);
    std::mt19937_64 r(4);
    for (int i = 0; i < 3; ++i) REQUIRE(p->create(test::infra_record(body(i), {"note"}), 1000 + i, test::random10(r)).ok());
    auto b1 = p->next_batch(1);
    size1 = (*b1)->request.size();
    REQUIRE(p->acknowledge(**b1, answer(**b1, sync::Outcome::kApplied)).ok());
    per = (*p->next_batch(2))->request.size() - size1;
  }
  REQUIRE(per > 50);
  test::TempDir dir;
  std::mt19937_64 rng(4);
  auto s = open_me(dir);
  // Nine: edit 10 would have a counter one digit longer.
  for (int i = 0; i < 9; ++i) REQUIRE(s->create(test::infra_record(body(i), {"note"}), 1000 + i, test::random10(rng)).ok());
  SUBCASE("the byte bound") {
    auto b = s->next_batch(store::BatchLimits{10, size1 + 2 * per + per / 2, 1, 0});  // room for three and a half
    REQUIRE(b.ok());
    REQUIRE(b->has_value());
    CHECK((*b)->dots.size() == 3);
    CHECK((*b)->request.size() == size1 + 2 * per);
    auto again = s->next_batch(store::BatchLimits{10, 1, 1, 0});  // formed: the same batch, whatever the bounds
    CHECK((*again)->batch_id == (*b)->batch_id);
    CHECK((*again)->dots.size() == 3);
  }
  SUBCASE("at least min_edits, past the bound") {
    auto b = s->next_batch(store::BatchLimits{10, 10, 4, 0});
    CHECK((*b)->dots.size() == 4);
  }
  SUBCASE("a rest that fits in rest_bytes goes whole, one that does not is left") {
    auto first = s->next_batch(store::BatchLimits{10, size1 + 4 * per + 1, 1, size1 + 7 * per});
    CHECK((*first)->dots.size() == 5);  // all nine need more than rest_bytes
    REQUIRE(s->acknowledge(**first, answer(**first, sync::Outcome::kApplied)).ok());
    auto rest = s->next_batch(store::BatchLimits{10, size1 + per + 1, 1, size1 + 3 * per + 1});
    CHECK((*rest)->dots.size() == 4);  // four left, and room for them: not two, then two
    CHECK((*rest)->request.size() == size1 + 3 * per);
  }
}

TEST_CASE("tablet store: link rates are kept per server URL, beside the zstd advertisement") {
  test::TempDir dir;
  {
    auto s = open_me(dir);
    auto none = s->link_rates("10.0.0.1:8080");
    REQUIRE(none.ok());
    CHECK(none->push_bytes_per_s == 0);
    CHECK(none->pull_at_ms == 0);
    REQUIRE(s->set_server_takes_zstd("10.0.0.1:8080", true).ok());
    REQUIRE(s->set_link_rates("10.0.0.1:8080", {81000, 1700000000000, 120000, 1700000001000}).ok());
    REQUIRE(s->set_link_rates("10.0.0.2:8080", {5, 6, 7, 8}).ok());
  }
  auto s = open_me(dir);  // kept across a restart
  auto r = s->link_rates("10.0.0.1:8080");
  REQUIRE(r.ok());
  CHECK(r->push_bytes_per_s == 81000);
  CHECK(r->push_at_ms == 1700000000000);
  CHECK(r->pull_bytes_per_s == 120000);
  CHECK(r->pull_at_ms == 1700000001000);
  CHECK(*s->server_takes_zstd("10.0.0.1:8080") == true);  // untouched by the rates
  CHECK(*s->server_takes_zstd("10.0.0.2:8080") == false);  // a row made by the rates: never heard of zstd
  CHECK(s->link_rates("10.0.0.2:8080")->pull_bytes_per_s == 7);
  REQUIRE(s->set_server_takes_zstd("10.0.0.2:8080", true).ok());
  CHECK(s->link_rates("10.0.0.2:8080")->pull_bytes_per_s == 7);  // and the other way round
}

// The seam's reads over what the push engine stored (records, versions, attachment references), on every
// engine: batches go through the engine's own store (ServerStore::push, PgStore::push), then each read
// answers the same.
#include "tests/store/contract/engines.hpp"

#include <nlohmann/json.hpp>

#include "tests/support/edits.hpp"

using namespace akt;
using akt::test::make_edit;
using akt::test::read;
using akt::test::uuid7;
using akt::test::uuid_n;
using akt::test::write;

namespace {

const std::string kDevA = uuid_n(0xA);
const std::string kDevB = uuid_n(0xB);
const std::string kDigest(64, 'a');
const std::string kPhoto = "sha256:" + kDigest + ";size=10;type=image/jpeg";

nlohmann::json push(test::Engine& e, const std::string& batch_id, std::vector<sync::Edit> edits) {
  const std::string device = edits.at(0).dot.actor;  // a device pushes its own edits
  sync::PushRequest req{batch_id, std::move(edits)};
  store::PushInput in{device, &req, 1700000000000};
  in.blob_exists = [](const std::string&) { return false; };  // the files are not here yet
  auto out = e.push(in);
  REQUIRE_MESSAGE(out.ok(), out.status().message());
  return nlohmann::json::parse(out->response);
}

}  // namespace

AKT_CONTRACT_CASE("records: what a push stored is read back through the seam") {
  const std::string id = uuid7(1700000000000, 1), other = uuid7(1700000000000, 2);
  const sync::Edit create = make_edit(id, kDevA, 1, {}, R"({"pct":60,"photo":")" + kPhoto + R"("})", {"pct", "photo"});
  CHECK(push(engine, "b1", {create})["results"][0]["outcome"] == "applied");
  const sync::Edit edit = make_edit(id, kDevA, 2, create.clock(), R"({"pct":61,"photo":")" + kPhoto + R"("})", {"pct"});
  const nlohmann::json second = push(engine, "b2", {edit});
  CHECK(second["results"][0]["outcome"] == "applied");
  CHECK(second["results"][0]["seq"] == 2);

  auto has_a = read(engine, [&](store::StoreReader& tx) { return tx.actor_has_versions(kDevA); });
  REQUIRE(has_a.ok());
  CHECK(*has_a);
  auto has_b = read(engine, [&](store::StoreReader& tx) { return tx.actor_has_versions(kDevB); });
  REQUIRE(has_b.ok());
  CHECK(!*has_b);

  auto history = read(engine, [&](store::StoreReader& tx) { return tx.record_history(id); });
  REQUIRE(history.ok());
  REQUIRE(history->size() == 2);
  CHECK((*history)[0].version.dot == create.dot);
  CHECK((*history)[0].version.body == create.body);
  CHECK(!(*history)[0].live);
  CHECK((*history)[1].version.dot == edit.dot);
  CHECK((*history)[1].version.clock == edit.clock());
  CHECK((*history)[1].version.parents == std::vector<sync::Dot>{create.dot});
  CHECK((*history)[1].live);

  auto first = read(engine, [&](store::StoreReader& tx) { return tx.version_with_clock(id, create.clock()); });
  REQUIRE(first.ok());
  REQUIRE(first->has_value());
  CHECK((*first)->body == create.body);
  CHECK((*first)->form_version == create.form_version);
  sync::VectorClock unseen;
  unseen.advance(kDevB, 5);
  auto none = read(engine, [&](store::StoreReader& tx) { return tx.version_with_clock(id, unseen); });
  REQUIRE(none.ok());
  CHECK(!none->has_value());

  auto counters = read(engine, [&](store::StoreReader& tx) { return tx.actor_counters(kDevA, id); });
  REQUIRE(counters.ok());
  CHECK(counters->any_record == 2);
  CHECK(counters->this_record == 2);
  auto elsewhere = read(engine, [&](store::StoreReader& tx) { return tx.actor_counters(kDevA, other); });
  REQUIRE(elsewhere.ok());
  CHECK(elsewhere->any_record == 2);
  CHECK(elsewhere->this_record == 0);

  auto referenced = read(engine, [&](store::StoreReader& tx) { return tx.is_blob_referenced(kDigest); });
  REQUIRE(referenced.ok());
  CHECK(*referenced);
  auto unknown = read(engine, [&](store::StoreReader& tx) { return tx.is_blob_referenced(std::string(64, 'b')); });
  REQUIRE(unknown.ok());
  CHECK(!*unknown);
  // Referencing records count only through a device that holds the file.
  auto before = read(engine, [&](store::StoreReader& tx) { return tx.records_referencing(kDigest, 10); });
  REQUIRE(before.ok());
  CHECK(before->empty());
  REQUIRE(write(engine, [&](store::StoreWriter& tx) { return tx.note_blob_holder(kDigest, kDevA, 1); }).ok());
  auto after = read(engine, [&](store::StoreReader& tx) { return tx.records_referencing(kDigest, 10); });
  REQUIRE(after.ok());
  CHECK(*after == std::vector<std::string>{id});

  auto places = read(engine, [](store::StoreReader& tx) { return tx.count_records_by_place(); });
  REQUIRE(places.ok());
  REQUIRE(places->size() == 1);
  CHECK((*places)[0].municipality == create.scope.municipality);
  CHECK((*places)[0].community == create.scope.community);
  CHECK((*places)[0].component == create.scope.component);
  CHECK((*places)[0].form_id == create.form_id);
  CHECK((*places)[0].records == 1);
}

AKT_CONTRACT_CASE("records: a conflict a push opened is listed and read in the inbox") {
  const std::string id = uuid7(1700000000000, 3);
  const sync::Edit create = make_edit(id, kDevA, 1, {}, R"({"pct":60})", {"pct"});
  push(engine, "c", {create});
  push(engine, "b", {make_edit(id, kDevB, 1, create.clock(), R"({"pct":20})", {"pct"})});
  const nlohmann::json a = push(engine, "a", {make_edit(id, kDevA, 2, create.clock(), R"({"pct":30})", {"pct"})});
  REQUIRE(a["results"][0]["entries"].size() == 1);
  const std::int64_t entry_id = a["results"][0]["entries"][0].get<std::int64_t>();

  auto open = read(engine, [](store::StoreReader& tx) { return tx.list_inbox({}); });
  REQUIRE(open.ok());
  REQUIRE(open->size() == 1);
  const store::InboxEntry& e = (*open)[0];
  CHECK(e.id == entry_id);
  CHECK(e.record_id == id);
  CHECK(e.kind == sync::InboxKind::kField);
  CHECK(e.path == "pct");
  CHECK(e.status == "open");
  CHECK(e.form_id == create.form_id);
  CHECK(e.scope == create.scope);
  CHECK(nlohmann::json::parse(e.candidates_json).size() == 2);
  CHECK(e.resolved_at == 0);
  CHECK(e.resolved_by.empty());

  store::InboxFilter resolved;
  resolved.status = "resolved";
  auto none = read(engine, [&](store::StoreReader& tx) { return tx.list_inbox(resolved); });
  REQUIRE(none.ok());
  CHECK(none->empty());
  store::InboxFilter elsewhere;
  elsewhere.municipality = "prishtine";
  auto other = read(engine, [&](store::StoreReader& tx) { return tx.list_inbox(elsewhere); });
  REQUIRE(other.ok());
  CHECK(other->empty());

  auto one = read(engine, [&](store::StoreReader& tx) { return tx.get_inbox_entry(entry_id); });
  REQUIRE(one.ok());
  REQUIRE(one->has_value());
  CHECK((*one)->candidates_json == e.candidates_json);
  CHECK((*one)->opened_at == e.opened_at);
  auto missing = read(engine, [&](store::StoreReader& tx) { return tx.get_inbox_entry(entry_id + 100); });
  REQUIRE(missing.ok());
  CHECK(!missing->has_value());
}

AKT_CONTRACT_CASE("records: closing an entry resolves it once and moves its record in the feed") {
  const std::string id = uuid7(1700000000000, 4);
  const sync::Edit create = make_edit(id, kDevA, 1, {}, R"({"pct":60})", {"pct"});
  push(engine, "c", {create});
  push(engine, "b", {make_edit(id, kDevB, 1, create.clock(), R"({"pct":20})", {"pct"})});
  const nlohmann::json a = push(engine, "a", {make_edit(id, kDevA, 2, create.clock(), R"({"pct":30})", {"pct"})});
  const std::int64_t seq_before = a["results"][0]["seq"].get<std::int64_t>();
  const std::int64_t entry_id = a["results"][0]["entries"][0].get<std::int64_t>();

  REQUIRE(write(engine, [&](store::StoreWriter& tx) {
            return tx.close_inbox_entry(entry_id, "admin1", R"({"value":30})", 1700000009000);
          }).ok());
  auto closed = read(engine, [&](store::StoreReader& tx) { return tx.get_inbox_entry(entry_id); });
  REQUIRE(closed.ok());
  REQUIRE(closed->has_value());
  CHECK((*closed)->status == "resolved");
  CHECK((*closed)->resolved_by == "admin1");
  CHECK((*closed)->resolution_json == R"({"value":30})");
  CHECK((*closed)->resolved_at == 1700000009000);
  // A second close (another admin, another server) is refused and changes nothing.
  Status again = write(engine, [&](store::StoreWriter& tx) {
    return tx.close_inbox_entry(entry_id, "admin2", R"({"value":20})", 1700000009001);
  });
  CHECK(again.code() == Status::Code::kConflict);
  Status unknown = write(engine, [&](store::StoreWriter& tx) {
    return tx.close_inbox_entry(entry_id + 100, "admin1", "{}", 1700000009001);
  });
  CHECK(unknown.code() == Status::Code::kConflict);
  auto still = read(engine, [&](store::StoreReader& tx) { return tx.get_inbox_entry(entry_id); });
  REQUIRE(still.ok());
  CHECK((*still)->resolved_by == "admin1");

  // The record took the next feed number: a duplicate of its first edit answers with it.
  const nlohmann::json dup = push(engine, "d", {create});
  CHECK(dup["results"][0]["outcome"] == "duplicate");
  CHECK(dup["results"][0]["seq"] == seq_before + 1);
}

AKT_CONTRACT_CASE("records: the submissions list pages by id, newest first, with its filters") {
  // Three records (uuid7: ids sort by creation), the middle one with an open conflict, a fourth deleted.
  const std::string r1 = uuid7(1700000000000, 11), r2 = uuid7(1700000000001, 12), r3 = uuid7(1700000000002, 13),
                    r4 = uuid7(1700000000003, 14);
  push(engine, "1", {make_edit(r1, kDevA, 1, {}, R"({"pct":1})", {"pct"})});
  const sync::Edit create2 = make_edit(r2, kDevA, 2, {}, R"({"pct":2})", {"pct"});
  push(engine, "2", {create2});
  push(engine, "3", {make_edit(r3, kDevA, 3, {}, R"({"pct":3,"review_status":"approved"})", {"pct"})});
  push(engine, "2b", {make_edit(r2, kDevB, 1, create2.clock(), R"({"pct":20})", {"pct"})});
  push(engine, "2a", {make_edit(r2, kDevA, 4, create2.clock(), R"({"pct":30})", {"pct"})});
  const sync::Edit create4 = make_edit(r4, kDevA, 5, {}, R"({"pct":4})", {"pct"});
  push(engine, "4", {create4});
  sync::Edit del = make_edit(r4, kDevA, 6, create4.clock(), "{}", {});
  del.deleted = true;
  push(engine, "4d", {del});

  const auto all = [](const store::RecordListRow&) { return true; };
  auto list = [&](const store::RecordListFilter& f, std::size_t limit, bool* more) {
    return read(engine, [&](store::StoreReader& tx) { return tx.list_records(f, limit, all, more); });
  };
  auto ids = [](const std::vector<store::RecordListRow>& rows) {
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r.record_id);
    return out;
  };
  bool more = false;
  auto first = list({}, 2, &more);
  REQUIRE(first.ok());
  CHECK(ids(*first) == std::vector<std::string>{r3, r2});
  CHECK(more);
  CHECK((*first)[0].review == "approved");
  CHECK((*first)[1].review == "submitted");
  CHECK((*first)[1].conflicted);
  CHECK(!(*first)[0].conflicted);
  CHECK((*first)[0].scope == sync::Scope{"gracanice", "serb", "SO1"});
  CHECK((*first)[0].clock == R"({")" + kDevA + R"(":3})");
  CHECK((*first)[0].seq == 3);
  store::RecordListFilter next;
  next.before = r2;
  auto second = list(next, 2, &more);
  REQUIRE(second.ok());
  CHECK(ids(*second) == std::vector<std::string>{r1});
  CHECK(!more);

  store::RecordListFilter conflicted;
  conflicted.conflicted = true;
  auto c = list(conflicted, 10, &more);
  REQUIRE(c.ok());
  CHECK(ids(*c) == std::vector<std::string>{r2});
  store::RecordListFilter approved;
  approved.review = "approved";
  auto a = list(approved, 10, &more);
  REQUIRE(a.ok());
  CHECK(ids(*a) == std::vector<std::string>{r3});
  store::RecordListFilter elsewhere;
  elsewhere.municipality = "prishtine";
  auto none = list(elsewhere, 10, &more);
  REQUIRE(none.ok());
  CHECK(none->empty());
  // What `keep` refuses is passed over, and does not count against the limit.
  auto kept = read(engine, [&](store::StoreReader& tx) {
    return tx.list_records({}, 1, [&](const store::RecordListRow& r) { return r.record_id != r3; }, &more);
  });
  REQUIRE(kept.ok());
  CHECK(ids(*kept) == std::vector<std::string>{r2});
  CHECK(more);
}

AKT_CONTRACT_CASE("records: a file's arrival clears the records waiting for it and moves them in the feed") {
  const std::string id = uuid7(1700000000000, 21), plain = uuid7(1700000000000, 22);
  const sync::Edit create = make_edit(id, kDevA, 1, {}, R"({"pct":1,"photo":")" + kPhoto + R"("})", {"pct", "photo"});
  const nlohmann::json first = push(engine, "1", {create});
  const sync::Edit other = make_edit(plain, kDevA, 2, {}, R"({"pct":2})", {"pct"});
  push(engine, "2", {other});
  const std::int64_t seq = first["results"][0]["seq"].get<std::int64_t>();
  const auto here = [](const std::string&) { return true; };

  REQUIRE(write(engine, [&](store::StoreWriter& tx) { return tx.attachment_arrived(kDigest, here, nullptr, 5); }).ok());
  // The waiting record took the next number (3); the other one kept its own.
  CHECK(push(engine, "d1", {create})["results"][0]["seq"] == 3);
  CHECK(push(engine, "d2", {other})["results"][0]["seq"] == 2);
  // The same file again (another server heard of it too): nothing waits for it, nothing moves.
  REQUIRE(write(engine, [&](store::StoreWriter& tx) { return tx.attachment_arrived(kDigest, here, nullptr, 6); }).ok());
  CHECK(push(engine, "d3", {create})["results"][0]["seq"] == 3);
  CHECK(seq == 1);
}

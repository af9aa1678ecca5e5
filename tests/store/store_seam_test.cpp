// The store seam (store_tx.hpp) on the SQLite engine: the operations that replaced SQL in server/, each
// against what it must return, and update()'s rollback of a failed function alone.
#include "schema/store/store_tx.hpp"

#include <doctest/doctest.h>

#include "schema/store/record_scope.hpp"
#include "schema/store/server_store.hpp"
#include "sync/wire.hpp"
#include "tests/support/edits.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;
using akt::test::make_edit;
using akt::test::uuid_n;

namespace {

const std::string kDevA = uuid_n(0xA), kDevB = uuid_n(0xB);
const std::string kDigest(64, 'a');

std::unique_ptr<store::ServerStore> open_store(const std::string& path) {
  store::ServerStoreOptions o;
  o.path = path;
  auto s = store::ServerStore::open(o);
  REQUIRE(s.ok());
  return std::move(*s);
}

void push(store::ServerStore& s, const std::string& device, const std::string& batch_id, std::vector<sync::Edit> edits) {
  sync::PushRequest req{batch_id, std::move(edits)};
  store::PushInput in{device, &req, 1700000000000};
  REQUIRE(s.push(in).ok());
}

}  // namespace

TEST_CASE("store seam: uploads are found by id and device, by digest, listed, replaced and deleted") {
  test::TempDir dir;
  auto s = open_store(dir.file("u.db"));
  const store::UploadRow up{"u1", kDigest, "image/jpeg", 1000, 17};
  REQUIRE(s->update([&](store::StoreWriter& tx) { return tx.put_upload(up, kDevA); }).ok());
  REQUIRE(s->query([&](store::StoreReader& tx) {
    auto own = tx.find_upload("u1", kDevA);
    REQUIRE(own.ok());
    REQUIRE(own->has_value());
    CHECK((*own)->digest == kDigest);
    CHECK((*own)->media_type == "image/jpeg");
    CHECK((*own)->size == 1000);
    CHECK((*own)->created_at == 17);
    auto other = tx.find_upload("u1", kDevB);  // another device's upload is not found
    REQUIRE(other.ok());
    CHECK(!other->has_value());
    auto by_digest = tx.upload_of_digest(kDevA, kDigest);
    REQUIRE(by_digest.ok());
    CHECK(*by_digest == std::optional<std::string>("u1"));
    auto none = tx.upload_of_digest(kDevB, kDigest);
    REQUIRE(none.ok());
    CHECK(!none->has_value());
    return Status();
  }).ok());

  // The same device and digest again: the row is replaced (one open upload per device and digest).
  const store::UploadRow again{"u2", kDigest, "image/png", 2000, 18};
  REQUIRE(s->update([&](store::StoreWriter& tx) { return tx.put_upload(again, kDevA); }).ok());
  REQUIRE(s->query([&](store::StoreReader& tx) {
    auto all = tx.list_uploads();
    REQUIRE(all.ok());
    REQUIRE(all->size() == 1);
    CHECK((*all)[0].id == "u2");
    CHECK((*all)[0].created_at == 18);
    auto old = tx.find_upload("u1", kDevA);
    REQUIRE(old.ok());
    CHECK(!old->has_value());
    return Status();
  }).ok());

  REQUIRE(s->update([&](store::StoreWriter& tx) { return tx.delete_upload("u2"); }).ok());
  REQUIRE(s->query([&](store::StoreReader& tx) {
    auto all = tx.list_uploads();
    REQUIRE(all.ok());
    CHECK(all->empty());
    return Status();
  }).ok());
}

TEST_CASE("store seam: blob holders are noted and forgotten, an unreferenced digest is not referenced") {
  test::TempDir dir;
  auto s = open_store(dir.file("b.db"));
  REQUIRE(s->update([&](store::StoreWriter& tx) { return tx.note_blob_holder(kDigest, kDevA, 5); }).ok());
  auto holds = [&](const std::string& actor) {
    bool held = false;
    REQUIRE(s->query([&](store::StoreReader& tx) {
      auto r = tx.is_blob_holder(kDigest, actor);
      if (r.ok()) held = *r;
      return r.status();
    }).ok());
    return held;
  };
  CHECK(holds(kDevA));
  CHECK(!holds(kDevB));
  bool referenced = true;
  REQUIRE(s->query([&](store::StoreReader& tx) {
    auto r = tx.is_blob_referenced(kDigest);
    if (r.ok()) referenced = *r;
    return r.status();
  }).ok());
  CHECK(!referenced);
  REQUIRE(s->update([&](store::StoreWriter& tx) { return tx.forget_blob_holders(kDigest); }).ok());
  CHECK(!holds(kDevA));
}

TEST_CASE("store seam: a version is found by its clock, an actor's counters on any record and on one") {
  test::TempDir dir;
  auto s = open_store(dir.file("v.db"));
  const std::string rec = uuid_n(100), other = uuid_n(101);
  sync::Edit v1 = make_edit(rec, kDevA, 1, {}, R"({"pct":60})", {"pct"});
  sync::Edit v2 = make_edit(rec, kDevA, 2, v1.clock(), R"({"pct":61})", {"pct"});
  sync::Edit w = make_edit(other, kDevA, 7, {}, R"({"pct":1})", {"pct"});
  push(*s, kDevA, "a1", {v1, v2, w});
  REQUIRE(s->query([&](store::StoreReader& tx) {
    auto first = tx.version_with_clock(rec, v1.clock());
    REQUIRE(first.ok());
    REQUIRE(first->has_value());
    CHECK((*first)->body == R"({"pct":60})");
    CHECK((*first)->form_version == v1.form_version);
    auto unknown = tx.version_with_clock(rec, w.clock());  // a clock of another record's version
    REQUIRE(unknown.ok());
    CHECK(!unknown->has_value());
    auto c = tx.actor_counters(kDevA, rec);
    REQUIRE(c.ok());
    CHECK(c->any_record == 7);
    CHECK(c->this_record == 2);
    auto none = tx.actor_counters(kDevB, rec);
    REQUIRE(none.ok());
    CHECK(none->any_record == 0);
    CHECK(none->this_record == 0);
    auto current = tx.schema_is_current();
    REQUIRE(current.ok());
    CHECK(*current);
    return Status();
  }).ok());
}

TEST_CASE("store seam: a failed update rolls back its own writes and leaves the feed where it was") {
  test::TempDir dir;
  auto s = open_store(dir.file("r.db"));
  const std::int64_t seq = s->last_seq();
  Status st = s->update([&](store::StoreWriter& tx) {
    AKT_TRY(tx.put_upload(store::UploadRow{"gone", kDigest, "image/jpeg", 1, 1}, kDevA));
    return Status::invalid_argument("changed my mind");
  });
  CHECK(st.code() == Status::Code::kInvalidArgument);
  CHECK(s->last_seq() == seq);
  REQUIRE(s->query([&](store::StoreReader& tx) {
    auto all = tx.list_uploads();
    REQUIRE(all.ok());
    CHECK(all->empty());
    return Status();
  }).ok());
}

TEST_CASE("merge_scope: each scope member three-way from the sides' scopes and their ancestor's") {
  using akt::sync::Scope;
  using akt::store::merge_scope;
  const Scope a{"novoberde", "serb", "SO1"};
  const Scope b{"novoberde", "albanian", "SO1"};
  const Scope c{"novoberde", "roma", "SO1"};
  // One side moved: the move stands, whichever side comes first.
  CHECK(merge_scope({b, a}, a) == b);
  CHECK(merge_scope({a, b}, a) == b);
  CHECK(merge_scope({a, b, a}, a) == b);
  // Both moved to one place: there. To different places: the ancestor's.
  CHECK(merge_scope({b, b}, a) == b);
  CHECK(merge_scope({b, c}, a) == a);
  CHECK(merge_scope({c, b}, a) == a);
  CHECK(merge_scope({b, a, c}, a) == a);
  // Members are decided one by one: one side moved the community, the other the component.
  CHECK(merge_scope({Scope{"novoberde", "albanian", "SO1"}, Scope{"novoberde", "serb", "SO2"}}, a) ==
        Scope{"novoberde", "albanian", "SO2"});
  // No common ancestor: agreement, else the first side's (the smallest dot).
  CHECK(merge_scope({b, b}, std::nullopt) == b);
  CHECK(merge_scope({c, b}, std::nullopt) == c);
  CHECK(merge_scope({a}, a) == a);
}

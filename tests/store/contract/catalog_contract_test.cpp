// The store contract, the admin's catalogue: the audit log's filters and paging, forms from draft to
// published to retired (and the conflicts on the way), quarantine marks, uploads and blob holders.
// Run on every engine (engines.hpp).
#include "tests/store/contract/engines.hpp"

#include "tests/support/edits.hpp"

using namespace akt;
using akt::test::read;
using akt::test::write;

namespace {

const std::string kDevA = test::uuid_n(0xA), kDevB = test::uuid_n(0xB);
const std::string kDigest(64, 'a');

std::vector<std::int64_t> audit_ats(test::Engine& e, const store::AuditFilter& f, std::int64_t before, std::size_t n) {
  auto rows = read(e, [&](store::StoreReader& tx) { return tx.list_audit(f, before, n); });
  REQUIRE(rows.ok());
  std::vector<std::int64_t> out;
  for (const auto& r : *rows) out.push_back(r.at);
  return out;
}

}  // namespace

AKT_CONTRACT_CASE("catalog: the audit log lists newest first, filters by actor, action and time, pages by id") {
  REQUIRE(write(engine, [](store::StoreWriter& tx) {
    AKT_TRY(tx.insert_audit(10, "ana", "login", "", "{}", "10.0.0.1"));
    AKT_TRY(tx.insert_audit(20, "", "login_failed", "mallory", R"({"why":"password"})", "10.0.0.9"));
    AKT_TRY(tx.insert_audit(30, "ana", "user.create", "besa", "{}", "10.0.0.1"));
    return tx.insert_audit(40, "arben", "login", "", "{}", "10.0.0.2");
  }).ok());
  auto all = read(engine, [](store::StoreReader& tx) { return tx.list_audit({}, 0, 100); });
  REQUIRE(all.ok());
  REQUIRE(all->size() == 4);
  const store::AuditRow& failed = (*all)[2];
  CHECK(failed.username.empty());
  CHECK(failed.action == "login_failed");
  CHECK(failed.target == "mallory");
  CHECK(failed.detail_json == R"({"why":"password"})");
  CHECK(failed.remote == "10.0.0.9");
  CHECK(audit_ats(engine, {}, 0, 100) == std::vector<std::int64_t>{40, 30, 20, 10});

  store::AuditFilter by_ana;
  by_ana.username = "ana";
  CHECK(audit_ats(engine, by_ana, 0, 100) == std::vector<std::int64_t>{30, 10});
  store::AuditFilter anonymous;
  anonymous.username = "";
  CHECK(audit_ats(engine, anonymous, 0, 100) == std::vector<std::int64_t>{20});
  store::AuditFilter logins;
  logins.action = "login";
  CHECK(audit_ats(engine, logins, 0, 100) == std::vector<std::int64_t>{40, 10});
  store::AuditFilter window;
  window.from_ms = 20;
  window.to_ms = 40;  // [20, 40)
  CHECK(audit_ats(engine, window, 0, 100) == std::vector<std::int64_t>{30, 20});

  // Paging: two at a time, the next page from the last id seen.
  auto page = read(engine, [](store::StoreReader& tx) { return tx.list_audit({}, 0, 2); });
  REQUIRE(page.ok());
  REQUIRE(page->size() == 2);
  CHECK(audit_ats(engine, {}, page->back().id, 2) == std::vector<std::int64_t>{20, 10});
  CHECK(audit_ats(engine, {}, (*all)[3].id, 2).empty());
}

AKT_CONTRACT_CASE("catalog: forms go draft -> published -> retired; every other move is refused") {
  store::FormRow draft;
  draft.form_id = "visit";
  draft.version = 1;
  draft.title = "Monitoring visit";
  draft.definition = R"({"fields":[]})";
  draft.created_by = "ana";
  draft.created_at = 100;
  REQUIRE(write(engine, [&](store::StoreWriter& tx) { return tx.put_form_draft(draft); }).ok());
  draft.title = "Monitoring visit (fixed)";
  REQUIRE(write(engine, [&](store::StoreWriter& tx) { return tx.put_form_draft(draft); }).ok());  // a draft changes
  CHECK(write(engine, [](store::StoreWriter& tx) { return tx.retire_form("visit", 1, 150); }).code() ==
        Status::Code::kConflict);  // not published yet
  CHECK(write(engine, [](store::StoreWriter& tx) { return tx.publish_form("visit", 2, 150); }).code() ==
        Status::Code::kNotFound);
  REQUIRE(write(engine, [](store::StoreWriter& tx) { return tx.publish_form("visit", 1, 200); }).ok());
  CHECK(write(engine, [](store::StoreWriter& tx) { return tx.publish_form("visit", 1, 250); }).code() ==
        Status::Code::kConflict);
  CHECK(write(engine, [&](store::StoreWriter& tx) { return tx.put_form_draft(draft); }).code() ==
        Status::Code::kConflict);  // a published version is never edited

  auto got = read(engine, [](store::StoreReader& tx) { return tx.get_form("visit", 1); });
  REQUIRE(got.ok());
  REQUIRE(got->has_value());
  CHECK((*got)->status == "published");
  CHECK((*got)->title == "Monitoring visit (fixed)");
  CHECK((*got)->definition == R"({"fields":[]})");
  CHECK((*got)->published_at == 200);
  CHECK((*got)->retired_at == 0);

  REQUIRE(write(engine, [](store::StoreWriter& tx) { return tx.retire_form("visit", 1, 300); }).ok());
  CHECK(write(engine, [](store::StoreWriter& tx) { return tx.retire_form("visit", 1, 350); }).code() ==
        Status::Code::kConflict);
  store::FormRow other = draft;
  other.form_id = "business";
  REQUIRE(write(engine, [&](store::StoreWriter& tx) { return tx.put_form_draft(other); }).ok());
  auto listed = read(engine, [](store::StoreReader& tx) { return tx.list_forms(false); });
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 2);
  CHECK((*listed)[0].form_id == "business");
  CHECK((*listed)[0].definition.empty());
  CHECK((*listed)[1].status == "retired");
  CHECK((*listed)[1].retired_at == 300);
  auto full = read(engine, [](store::StoreReader& tx) { return tx.list_forms(true); });
  REQUIRE(full.ok());
  CHECK((*full)[1].definition == R"({"fields":[]})");
  auto none = read(engine, [](store::StoreReader& tx) { return tx.get_form("visit", 9); });
  REQUIRE(none.ok());
  CHECK(!none->has_value());
}

AKT_CONTRACT_CASE("catalog: a quarantined edit is read back whole and marked released or discarded") {
  store::QuarantineEntry q;
  q.device = kDevA;
  q.batch_id = "b-1";
  q.record_id = test::uuid_n(0x100);
  q.dot = {kDevA, 7};
  q.code = "validation";
  q.detail = "age: expected integer";
  q.edit_json = R"({"fields":{"age":"x"}})";
  q.fields_json = R"([{"path":"age","code":"type"}])";
  q.received_at = 1234;
  q.args_json = R"({"form":"visit","municipality":"gracanice"})";  // read back for the reader's language
  REQUIRE(engine.add_quarantine(q).ok());
  auto got = read(engine, [&](store::StoreReader& tx) { return tx.get_quarantine_entry(q.id); });
  REQUIRE(got.ok());
  REQUIRE(got->has_value());
  const store::QuarantineEntry& g = **got;
  CHECK(g.device == kDevA);
  CHECK(g.batch_id == "b-1");
  CHECK(g.record_id == q.record_id);
  CHECK(g.dot == q.dot);
  CHECK(g.code == "validation");
  CHECK(g.detail == q.detail);
  CHECK(g.edit_json == q.edit_json);
  CHECK(g.fields_json == q.fields_json);
  CHECK(g.args_json == q.args_json);
  CHECK(g.received_at == 1234);
  CHECK(g.released_at == 0);
  CHECK(g.discarded_at == 0);
  REQUIRE(write(engine, [&](store::StoreWriter& tx) { return tx.mark_released(q.id, 2000); }).ok());
  REQUIRE(write(engine, [&](store::StoreWriter& tx) { return tx.mark_discarded(q.id, 3000); }).ok());
  got = read(engine, [&](store::StoreReader& tx) { return tx.get_quarantine_entry(q.id); });
  REQUIRE(got.ok());
  CHECK((*got)->released_at == 2000);
  CHECK((*got)->discarded_at == 3000);
  auto none = read(engine, [&](store::StoreReader& tx) { return tx.get_quarantine_entry(q.id + 1000); });
  REQUIRE(none.ok());
  CHECK(!none->has_value());
}

AKT_CONTRACT_CASE("catalog: uploads are found by id and device, by digest, listed, replaced and deleted") {
  const store::UploadRow up{"u1", kDigest, "image/jpeg", 1000, 17};
  REQUIRE(write(engine, [&](store::StoreWriter& tx) { return tx.put_upload(up, kDevA); }).ok());
  auto own = read(engine, [](store::StoreReader& tx) { return tx.find_upload("u1", kDevA); });
  REQUIRE(own.ok());
  REQUIRE(own->has_value());
  CHECK((*own)->digest == kDigest);
  CHECK((*own)->media_type == "image/jpeg");
  CHECK((*own)->size == 1000);
  CHECK((*own)->created_at == 17);
  auto other = read(engine, [](store::StoreReader& tx) { return tx.find_upload("u1", kDevB); });
  REQUIRE(other.ok());
  CHECK(!other->has_value());  // another device's upload is not found
  auto by_digest = read(engine, [](store::StoreReader& tx) { return tx.upload_of_digest(kDevA, kDigest); });
  REQUIRE(by_digest.ok());
  CHECK(*by_digest == std::optional<std::string>("u1"));
  auto none = read(engine, [](store::StoreReader& tx) { return tx.upload_of_digest(kDevB, kDigest); });
  REQUIRE(none.ok());
  CHECK(!none->has_value());

  // The same device and digest again: the row is replaced (one open upload per device and digest).
  const store::UploadRow again{"u2", kDigest, "image/png", 2000, 18};
  REQUIRE(write(engine, [&](store::StoreWriter& tx) { return tx.put_upload(again, kDevA); }).ok());
  auto all = read(engine, [](store::StoreReader& tx) { return tx.list_uploads(); });
  REQUIRE(all.ok());
  REQUIRE(all->size() == 1);
  CHECK((*all)[0].id == "u2");
  CHECK((*all)[0].created_at == 18);
  REQUIRE(write(engine, [](store::StoreWriter& tx) { return tx.delete_upload("u2"); }).ok());
  all = read(engine, [](store::StoreReader& tx) { return tx.list_uploads(); });
  REQUIRE(all.ok());
  CHECK(all->empty());
}

AKT_CONTRACT_CASE("catalog: blob holders are noted once and forgotten") {
  auto holds = [&](const std::string& actor) {
    auto r = read(engine, [&](store::StoreReader& tx) { return tx.is_blob_holder(kDigest, actor); });
    REQUIRE(r.ok());
    return *r;
  };
  REQUIRE(write(engine, [](store::StoreWriter& tx) { return tx.note_blob_holder(kDigest, kDevA, 5); }).ok());
  REQUIRE(write(engine, [](store::StoreWriter& tx) { return tx.note_blob_holder(kDigest, kDevA, 6); }).ok());
  CHECK(holds(kDevA));
  CHECK(!holds(kDevB));
  REQUIRE(write(engine, [](store::StoreWriter& tx) { return tx.forget_blob_holders(kDigest); }).ok());
  CHECK(!holds(kDevA));
}

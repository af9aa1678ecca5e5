// The store contract, devices: enrolment codes used once, registration, re-binding, revocation, what
// devices report, and the scope an enrolled device writes in. Run on every engine (engines.hpp).
#include "tests/store/contract/engines.hpp"

#include "tests/support/edits.hpp"

using namespace akt;
using akt::test::read;
using akt::test::write;

namespace {

std::int64_t add_user(test::Engine& e, const std::string& name, sync::Role role) {
  store::User u;
  u.username = name;
  u.role = role;
  u.password_hash = "x";
  auto id = write(e, [&](store::StoreWriter& tx) { return tx.insert_user(u); });
  REQUIRE(id.ok());
  return *id;
}

const std::string kCode = std::string("\x01\x00\xfe", 3) + std::string(29, 'k');

}  // namespace

AKT_CONTRACT_CASE("devices: an enrolment code is used once, and never after it expired") {
  const std::int64_t admin = add_user(engine, "admin", sync::Role::kAdmin);
  const std::int64_t en = add_user(engine, "besa", sync::Role::kEnumerator);
  const std::string a1 = test::uuid_n(1), a2 = test::uuid_n(2);
  REQUIRE(write(engine, [&](store::StoreWriter& tx) {
    AKT_TRY(tx.insert_enrolment(kCode, en, "tablet 7", admin, 100, 1000));
    return tx.insert_enrolment(std::string(32, 'e'), en, "late", admin, 100, 200);
  }).ok());
  auto used = write(engine, [&](store::StoreWriter& tx) { return tx.use_enrolment(kCode, a1, 500); });
  REQUIRE_MESSAGE(used.ok(), used.status().message());
  CHECK(used->first == en);
  CHECK(used->second == "tablet 7");
  auto twice = write(engine, [&](store::StoreWriter& tx) { return tx.use_enrolment(kCode, a2, 600); });
  CHECK(twice.status().code() == Status::Code::kNotFound);
  auto expired = write(engine, [&](store::StoreWriter& tx) { return tx.use_enrolment(std::string(32, 'e'), a2, 200); });
  CHECK(expired.status().code() == Status::Code::kNotFound);
  auto unknown = write(engine, [&](store::StoreWriter& tx) { return tx.use_enrolment(std::string(32, 'u'), a2, 1); });
  CHECK(unknown.status().code() == Status::Code::kNotFound);
}

AKT_CONTRACT_CASE("devices: registered once, owned, listed, re-bound, revoked; an unknown device is none") {
  const std::int64_t en = add_user(engine, "gent", sync::Role::kEnumerator);
  const std::string dev = test::uuid_n(0x51), other = test::uuid_n(0x52);
  REQUIRE(write(engine, [&](store::StoreWriter& tx) { return tx.register_device(dev, en, "tab A", "1.2", 100); }).ok());
  auto again = write(engine, [&](store::StoreWriter& tx) { return tx.register_device(dev, en, "tab B", "1.3", 200); });
  CHECK(again.code() == Status::Code::kConflict);

  auto owner = read(engine, [&](store::StoreReader& tx) { return tx.device_owner(dev); });
  REQUIRE(owner.ok());
  CHECK(*owner == std::optional<std::int64_t>(en));
  auto none = read(engine, [&](store::StoreReader& tx) { return tx.device_owner(other); });
  REQUIRE(none.ok());
  CHECK(!none->has_value());
  auto shown = read(engine, [&](store::StoreReader& tx) { return tx.device_of(dev); });
  REQUIRE(shown.ok());
  CHECK(*shown == std::pair<std::string, std::string>("tab A", "gent"));
  auto unknown = read(engine, [&](store::StoreReader& tx) { return tx.device_of(other); });
  REQUIRE(unknown.ok());
  CHECK(*unknown == std::pair<std::string, std::string>());

  CHECK(write(engine, [&](store::StoreWriter& tx) { return tx.revoke_device(other, 1); }).code() ==
        Status::Code::kNotFound);
  REQUIRE(write(engine, [&](store::StoreWriter& tx) {
    AKT_TRY(tx.insert_token(std::string(32, 't'), "device", en, dev, 100, 9000));
    return tx.revoke_device(dev, 300);
  }).ok());
  auto listed = read(engine, [](store::StoreReader& tx) { return tx.list_devices(); });
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  CHECK((*listed)[0].actor == dev);
  CHECK((*listed)[0].username == "gent");
  CHECK((*listed)[0].app_version == "1.2");
  CHECK((*listed)[0].registered_at == 100);
  CHECK((*listed)[0].revoked_at == 300);
  CHECK((*listed)[0].unsynced == -1);

  // Re-binding: new name and version, not revoked any more, every earlier token revoked.
  REQUIRE(write(engine, [&](store::StoreWriter& tx) {
    AKT_TRY(tx.rebind_device(dev, "tab A2", "1.4", 400));
    return tx.insert_token(std::string(32, 'n'), "device", en, dev, 400, 9000);
  }).ok());
  listed = read(engine, [](store::StoreReader& tx) { return tx.list_devices(); });
  REQUIRE(listed.ok());
  CHECK((*listed)[0].name == "tab A2");
  CHECK((*listed)[0].revoked_at == 0);
  auto old_token = read(engine, [](store::StoreReader& tx) { return tx.lookup_token(std::string(32, 't')); });
  REQUIRE(old_token.ok());
  CHECK((*old_token)->revoked);
  auto new_token = read(engine, [](store::StoreReader& tx) { return tx.lookup_token(std::string(32, 'n')); });
  REQUIRE(new_token.ok());
  CHECK(!(*new_token)->revoked);
}

AKT_CONTRACT_CASE("devices: reports create a row of no user, keep what was not reported, and are read back") {
  const std::string dev = test::uuid_n(0x61);
  REQUIRE(write(engine, [&](store::StoreWriter& tx) { return tx.report_device_client(dev, "app/1.0", 5, 100); }).ok());
  REQUIRE(write(engine, [&](store::StoreWriter& tx) { return tx.report_device_client(dev, "", -1, 200); }).ok());
  auto report = read(engine, [&](store::StoreReader& tx) { return tx.read_device_report(dev); });
  REQUIRE(report.ok());
  REQUIRE(report->has_value());
  CHECK((*report)->client_app == "app/1.0");
  CHECK((*report)->unsynced == 5);
  CHECK((*report)->reported_at == 200);
  auto owner = read(engine, [&](store::StoreReader& tx) { return tx.device_owner(dev); });
  REQUIRE(owner.ok());
  CHECK(*owner == std::optional<std::int64_t>(0));
  auto none = read(engine, [](store::StoreReader& tx) { return tx.read_device_report(test::uuid_n(0x62)); });
  REQUIRE(none.ok());
  CHECK(!none->has_value());
  // A device that only reported itself can still be registered (it never pushed).
  const std::int64_t en = add_user(engine, "hana", sync::Role::kEnumerator);
  CHECK(write(engine, [&](store::StoreWriter& tx) { return tx.register_device(dev, en, "t", "1", 300); }).ok());
}

AKT_CONTRACT_CASE("devices: an enumerator's device writes in its user's scope; an admin's and an unknown are unscoped") {
  const std::int64_t en = add_user(engine, "ilir", sync::Role::kEnumerator);
  const std::int64_t admin = add_user(engine, "root", sync::Role::kAdmin);
  const std::string d1 = test::uuid_n(0x71), d2 = test::uuid_n(0x72);
  const sync::Assignment a{"Gjilan", "*", "SO1", "*"};
  REQUIRE(write(engine, [&](store::StoreWriter& tx) {
    AKT_TRY(tx.set_assignments(en, {a}));
    AKT_TRY(tx.register_device(d1, en, "e", "1", 1));
    return tx.register_device(d2, admin, "a", "1", 1);
  }).ok());
  auto scope = read(engine, [&](store::StoreReader& tx) { return tx.device_user_scope(d1); });
  REQUIRE(scope.ok());
  REQUIRE(scope->has_value());
  CHECK(**scope == std::vector<sync::Assignment>{a});
  auto all = read(engine, [&](store::StoreReader& tx) { return tx.device_user_scope(d2); });
  REQUIRE(all.ok());
  CHECK(!all->has_value());
  auto unknown = read(engine, [&](store::StoreReader& tx) { return tx.device_user_scope(test::uuid_n(0x73)); });
  REQUIRE(unknown.ok());
  CHECK(!unknown->has_value());
}

// The store contract, accounts: users, roles, assignments and supervisors' scope, tokens (expiry and
// revocation reported, not filtered). Run on every engine (engines.hpp).
#include "tests/store/contract/engines.hpp"

#include "tests/support/edits.hpp"

using namespace akt;
using akt::test::read;
using akt::test::write;

namespace {

store::User user(const std::string& name, sync::Role role = sync::Role::kEnumerator) {
  store::User u;
  u.username = name;
  u.display_name = "Display " + name;
  u.role = role;
  u.password_hash = "scrypt$" + name;
  u.created_at = 1000;
  return u;
}

std::int64_t add_user(test::Engine& e, const store::User& u) {
  auto id = write(e, [&](store::StoreWriter& tx) { return tx.insert_user(u); });
  REQUIRE_MESSAGE(id.ok(), id.status().message());
  return *id;
}

store::User get_user(test::Engine& e, std::int64_t id) {
  auto u = read(e, [&](store::StoreReader& tx) { return tx.find_user_by_id(id); });
  REQUIRE(u.ok());
  REQUIRE(u->has_value());
  return **u;
}

// A token hash as the server makes them: raw SHA-256 bytes, here with a NUL and high bytes in it.
std::string hash_of(char tag) { return std::string("\x00\xff", 2) + std::string(30, tag); }

}  // namespace

AKT_CONTRACT_CASE("accounts: users are created once, found by name and id, listed by name") {
  const std::int64_t zora = add_user(engine, user("zora"));
  const std::int64_t arben = add_user(engine, user("arben", sync::Role::kAdmin));
  CHECK(zora != arben);
  auto again = write(engine, [&](store::StoreWriter& tx) { return tx.insert_user(user("zora")); });
  CHECK(again.status().code() == Status::Code::kConflict);

  auto found = read(engine, [](store::StoreReader& tx) { return tx.find_user("arben"); });
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  const store::User& a = **found;
  CHECK(a.id == arben);
  CHECK(a.display_name == "Display arben");
  CHECK(a.role == sync::Role::kAdmin);
  CHECK(a.password_hash == "scrypt$arben");
  CHECK(a.created_at == 1000);
  CHECK(a.supervisor_id == 0);
  CHECK(!a.disabled);
  CHECK(!a.special_category);
  CHECK(a.scope_version == 1);
  // The resolver actor is made by the database: a canonical UUID, a different one per user.
  CHECK(a.resolver_actor.size() == 36);
  CHECK(a.resolver_actor != get_user(engine, zora).resolver_actor);

  auto missing = read(engine, [](store::StoreReader& tx) { return tx.find_user("nobody"); });
  REQUIRE(missing.ok());
  CHECK(!missing->has_value());
  auto no_id = read(engine, [](store::StoreReader& tx) { return tx.find_user_by_id(999999); });
  REQUIRE(no_id.ok());
  CHECK(!no_id->has_value());

  auto all = read(engine, [](store::StoreReader& tx) { return tx.list_users(); });
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].username == "arben");
  CHECK((*all)[1].username == "zora");
}

AKT_CONTRACT_CASE("accounts: role, grant, disabling and password change; a role change bumps the scope version") {
  const std::int64_t id = add_user(engine, user("drita"));
  REQUIRE(write(engine, [&](store::StoreWriter& tx) {
    AKT_TRY(tx.set_role(id, sync::Role::kMeOfficer));
    AKT_TRY(tx.set_special_category(id, true));
    AKT_TRY(tx.set_disabled(id, true));
    return tx.set_password_hash(id, "scrypt$new");
  }).ok());
  const store::User u = get_user(engine, id);
  CHECK(u.role == sync::Role::kMeOfficer);
  CHECK(u.special_category);
  CHECK(u.disabled);
  CHECK(u.password_hash == "scrypt$new");
  CHECK(u.scope_version == 2);
}

AKT_CONTRACT_CASE("accounts: assignments are replaced in order; a supervisor's scope has their team's") {
  const std::int64_t sup = add_user(engine, user("sup", sync::Role::kSupervisor));
  const std::int64_t en = add_user(engine, user("en"));
  const sync::Assignment prizren{"Prizren", "*", "SO1", "*"}, gjilan{"Gjilan", "Ranilug", "SO2", "visit"};
  REQUIRE(write(engine, [&](store::StoreWriter& tx) {
    AKT_TRY(tx.set_assignments(en, {gjilan, prizren}));
    AKT_TRY(tx.set_assignments(en, {prizren, gjilan}));  // replaces, not adds
    return tx.set_assignments(sup, {sync::Assignment{"Peja", "*", "*", "*"}});
  }).ok());
  auto own = read(engine, [&](store::StoreReader& tx) { return tx.assignments_of(en); });
  REQUIRE(own.ok());
  CHECK(*own == std::vector<sync::Assignment>{prizren, gjilan});
  CHECK(get_user(engine, en).scope_version == 3);

  const std::int64_t before = get_user(engine, sup).scope_version;
  REQUIRE(write(engine, [&](store::StoreWriter& tx) { return tx.set_supervisor(en, sup); }).ok());
  CHECK(get_user(engine, en).supervisor_id == sup);
  CHECK(get_user(engine, sup).scope_version == before + 1);  // their devices reset their cursor
  REQUIRE(write(engine, [&](store::StoreWriter& tx) { return tx.bump_supervisor_scope(en); }).ok());
  CHECK(get_user(engine, sup).scope_version == before + 2);

  REQUIRE(write(engine, [&](store::StoreWriter& tx) {
    return tx.insert_token(hash_of('s'), "session", sup, "", 10, 1000);
  }).ok());
  auto info = read(engine, [&](store::StoreReader& tx) { return tx.lookup_token(hash_of('s')); });
  REQUIRE(info.ok());
  REQUIRE(info->has_value());
  const std::vector<sync::Assignment> expected{sync::Assignment{"Peja", "*", "*", "*"}, prizren, gjilan};
  CHECK((*info)->scope == expected);

  // Cleared supervisor: the old one's scope version moves again and the team is gone from it.
  REQUIRE(write(engine, [&](store::StoreWriter& tx) { return tx.set_supervisor(en, 0); }).ok());
  CHECK(get_user(engine, en).supervisor_id == 0);
  CHECK(get_user(engine, sup).scope_version == before + 3);
}

AKT_CONTRACT_CASE("accounts: tokens report expiry and revocation; sessions revoked but one; unknown is none") {
  const std::int64_t id = add_user(engine, user("vesa"));
  const std::string dev = test::uuid_n(0xD1);
  REQUIRE(write(engine, [&](store::StoreWriter& tx) {
    AKT_TRY(tx.insert_token(hash_of('a'), "session", id, "", 100, 200));
    AKT_TRY(tx.insert_token(hash_of('b'), "session", id, "", 100, 5000));
    AKT_TRY(tx.register_device(dev, id, "tab", "1.0", 100));
    return tx.insert_token(hash_of('c'), "device", id, dev, 100, 9000);
  }).ok());
  auto lookup = [&](char tag) {
    auto r = read(engine, [&](store::StoreReader& tx) { return tx.lookup_token(hash_of(tag)); });
    REQUIRE(r.ok());
    return *r;
  };
  auto a = lookup('a');
  REQUIRE(a.has_value());
  CHECK(a->kind == "session");
  CHECK(a->expires_at == 200);  // expired by now: reported, not filtered
  CHECK(!a->revoked);
  CHECK(a->device_actor.empty());
  CHECK(a->user.username == "vesa");
  auto c = lookup('c');
  REQUIRE(c.has_value());
  CHECK(c->kind == "device");
  CHECK(c->device_actor == dev);
  CHECK(!lookup('z').has_value());
  // A hash that differs only after its NUL byte is another token.
  auto near = read(engine, [&](store::StoreReader& tx) { return tx.lookup_token(std::string("\x00", 1)); });
  REQUIRE(near.ok());
  CHECK(!near->has_value());

  REQUIRE(write(engine, [&](store::StoreWriter& tx) { return tx.revoke_sessions(id, 300, hash_of('b')); }).ok());
  CHECK(lookup('a')->revoked);
  CHECK(!lookup('b')->revoked);
  CHECK(!lookup('c')->revoked);  // device tokens are not sessions
  REQUIRE(write(engine, [&](store::StoreWriter& tx) { return tx.revoke_token(hash_of('b'), 400); }).ok());
  CHECK(lookup('b')->revoked);
  // Revoking the device revokes its token (and the token reads revoked through the device too).
  REQUIRE(write(engine, [&](store::StoreWriter& tx) { return tx.revoke_device(dev, 500); }).ok());
  CHECK(lookup('c')->revoked);
}

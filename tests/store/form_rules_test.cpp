// Form rules are handed to the store once, at opening (ServerStoreOptions::form_rules): every push
// consults them without carrying any rule of its own.
#include "schema/store/form_rules.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "tests/support/edits.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;
using akt::test::make_edit;
using akt::test::uuid7;
using akt::test::uuid_n;
using nlohmann::json;

namespace {

const std::string kDev = uuid_n(0xA);

// "status" is an admin-only field; a body breaks a rule when "extra" + "pct" is above 100.
class TestRules final : public store::FormRules {
 public:
  sync::MergeSchema schema_for(const std::string&, std::int64_t) const override {
    sync::MergeSchema s;
    s.policies["status"] = sync::FieldPolicy::kAdminOnly;
    return s;
  }
  bool checks_merged() const override { return true; }
  std::vector<store::RuleBreak> check_merged(const std::string&, std::int64_t, std::string& body,
                                             std::int64_t) const override {
    ++checks;
    const json j = json::parse(body, nullptr, false);
    if (j.is_object() && j.value("extra", 0) + j.value("pct", 0) > 100)
      return {{"pct", "max", "extra and pct add up to at most 100", {"extra", "pct"}}};
    return {};
  }
  std::optional<store::OlderFormEdit> adapt_older(const sync::Edit&, std::int64_t, const std::string&,
                                                  const std::string&, std::int64_t) const override {
    return std::nullopt;
  }
  mutable int checks = 0;
};

std::unique_ptr<store::ServerStore> open_store(const std::string& path, std::shared_ptr<const store::FormRules> rules) {
  store::ServerStoreOptions o;
  o.path = path;
  o.form_rules = std::move(rules);
  auto s = store::ServerStore::open(o);
  REQUIRE(s.ok());
  return std::move(*s);
}

json push(store::ServerStore& s, const std::string& device, const std::string& batch_id, sync::Edit edit) {
  sync::PushRequest req{batch_id, {std::move(edit)}};
  store::PushInput in{device, &req, 1700000000000};
  auto out = s.push(in);
  REQUIRE(out.ok());
  return json::parse(out->response)["results"][0];
}

}  // namespace

TEST_CASE("form rules: the store's rules hold an admin-only field without any rule in the push") {
  for (const bool with_rules : {true, false}) {
    CAPTURE(with_rules);
    test::TempDir dir;
    auto rules = std::make_shared<const TestRules>();
    auto s = open_store(dir.file("r.db"), with_rules ? rules : nullptr);
    const std::string id = uuid7(1700000000000, 1);
    const sync::Edit create = make_edit(id, kDev, 1, {}, R"({"pct":1,"status":"new"})", {"pct", "status"});
    push(*s, kDev, "c", create);
    const json r = push(*s, kDev, "e", make_edit(id, kDev, 2, create.clock(), R"({"pct":1,"status":"done"})", {"status"}));
    CHECK(r["outcome"] == "applied");
    if (with_rules) {
      CHECK(r["held"]["kind"] == "permission");
      CHECK(r["held"]["fields"] == json::array({"status"}));
    } else {
      CHECK(!r.contains("held"));
    }
  }
}

TEST_CASE("form rules: a merge is checked with the store's rules and a broken rule opens a semantic entry") {
  test::TempDir dir;
  auto rules = std::make_shared<const TestRules>();
  auto s = open_store(dir.file("m.db"), rules);
  const std::string id = uuid7(1700000000000, 2);
  const std::string kDevB = uuid_n(0xB);
  // Each side keeps the rule (30 + 60, 0 + 90); the merged body (30 + 90) would not.
  const sync::Edit create = make_edit(id, kDev, 1, {}, R"({"extra":0,"pct":60})", {"extra", "pct"});
  push(*s, kDev, "c", create);
  push(*s, kDevB, "b", make_edit(id, kDevB, 1, create.clock(), R"({"extra":0,"pct":90})", {"pct"}));
  const json r = push(*s, kDev, "a", make_edit(id, kDev, 2, create.clock(), R"({"extra":30,"pct":60})", {"extra"}));
  CHECK(r["outcome"] == "merged");
  CHECK(rules->checks > 0);
  CHECK(r["conflicts"] == json::array({"extra", "pct"}));
}

// Redaction by role (redact.hpp): what an M&E officer sees of each sensitivity class.
#include "schema/export/redact.hpp"

#include "schema/export/csv_writer.hpp"
#include "tests/export/export_test_support.hpp"

namespace akt::exports::test {
namespace {

nlohmann::json redacted(const std::string& id, sync::Role role, std::string_view key, nlohmann::json body) {
  redact_body(form(id), body, role, key, "rec-1");
  return body;
}

bool is_pseudonym(const nlohmann::json& v) {
  return v.is_string() && v.get<std::string>().size() == 19 && v.get<std::string>().starts_with("ps_");
}

}  // namespace

TEST_CASE("redact: M&E view of a Form A record") {
  const std::string id = "so1_interethnic_survey";
  nlohmann::json raw = fixture(id);
  raw["backcheck_phone"] = "+38344123456";
  raw["comments"] = "Name of a neighbour";
  const nlohmann::json me = redacted(id, sync::Role::kMeOfficer, "key-A", raw);
  for (const forms::FieldDef* f : form(id).all_fields()) {
    CAPTURE(f->key);
    if (f->sensitivity == forms::Sensitivity::kD) CHECK_FALSE(me.contains(f->key));
    if ((f->sensitivity == forms::Sensitivity::kS || f->sensitivity == forms::Sensitivity::kSStar) &&
        raw.contains(f->key)) {
      CHECK(is_pseudonym(me.at(f->key)));
    }
    if ((f->sensitivity == forms::Sensitivity::kP || f->sensitivity == forms::Sensitivity::kNone) &&
        raw.contains(f->key)) {
      CHECK(me.at(f->key) == raw.at(f->key));
    }
  }
  SUBCASE("Q fields: generalised where a rule exists, else pseudonymised") {
    CHECK_FALSE(me.contains("settlement_name"));
    CHECK(me.at("resp_age_band") == raw.at("resp_age_band"));
    CHECK(is_pseudonym(me.at("hh_number")));
    CHECK(is_pseudonym(me.at("enumerator_id")));
    CHECK(is_pseudonym(me.at("langs_spoken")));
  }
  SUBCASE("no raw special-category or direct-identifier value anywhere in the CSV") {
    ExportRecord r = record(id, 1, raw);
    const forms::FormDef* v[] = {&form(id)};
    ExportOptions o;
    o.pseudonym_key = "key-A";
    auto e = FormExporter::create(v, o);
    REQUIRE(e.ok());
    std::string out;
    CsvWriter w([&](std::string_view s) { out += s; });
    REQUIRE(run_export(*e, {r}, w).ok());
    CHECK(out.find("+38344123456") == std::string::npos);
    CHECK(out.find("Name of a neighbour") == std::string::npos);
    CHECK(out.find("backcheck_phone") == std::string::npos);
    CHECK(out.find(",resp_community,") != std::string::npos);
    CHECK(out.find(",resp_community__") == std::string::npos);  // no option columns that would name codes
  }
}

TEST_CASE("redact: the special-category grant uncovers S and the scope community, never D") {
  const std::string id = "so1_interethnic_survey";
  nlohmann::json raw = fixture(id);
  raw["backcheck_phone"] = "+38344123456";
  nlohmann::json granted = raw;
  redact_body(form(id), granted, sync::Role::kMeOfficer, "key-A", "rec-1", true);
  CHECK(granted.at("resp_community") == raw.at("resp_community"));
  CHECK(granted.at("resp_gender") != raw.at("resp_gender"));  // Q: generalised with or without the grant
  CHECK_FALSE(granted.contains("backcheck_phone"));
  CHECK(is_pseudonym(redacted(id, sync::Role::kMeOfficer, "key-A", raw).at("resp_community")));
  CHECK(redact_scope_community("serb", sync::Role::kMeOfficer, "key-A", true) == "serb");
  CHECK(redact_scope_community("serb", sync::Role::kAdmin, "key-A", false) == "serb");
  CHECK(redact_scope_community("serb", sync::Role::kMeOfficer, "key-A", false) ==
        pseudonym("key-A", "", "scope.community", "serb"));
  CHECK(redact_scope_community("serb", sync::Role::kMeOfficer, "", false).empty());
  CHECK(redact_scope_community("", sync::Role::kMeOfficer, "key-A", false).empty());
  // The export's scope_community column follows the same rule.
  const forms::FormDef* v[] = {&form(id)};
  for (bool grant : {false, true}) {
    ExportOptions o;
    o.pseudonym_key = "key-A";
    o.special_category = grant;
    auto e = FormExporter::create(v, o);
    REQUIRE(e.ok());
    std::string out;
    CsvWriter w([&](std::string_view s) { out += s; });
    ExportRecord r = record(id, 1, raw);
    r.scope.community = "serb";
    REQUIRE(run_export(*e, {r}, w).ok());
    CAPTURE(out);
    CHECK((out.find(",serb,") != std::string::npos) == grant);
    CHECK(out.find("+38344123456") == std::string::npos);
  }
}

TEST_CASE("redact: pseudonyms are stable per key and differ across keys") {
  const std::string id = "so1_interethnic_survey";
  const nlohmann::json raw = fixture(id);
  const nlohmann::json a1 = redacted(id, sync::Role::kMeOfficer, "key-A", raw);
  const nlohmann::json a2 = redacted(id, sync::Role::kMeOfficer, "key-A", raw);
  const nlohmann::json b = redacted(id, sync::Role::kMeOfficer, "key-B", raw);
  CHECK(a1 == a2);
  CHECK(a1.at("resp_community") != b.at("resp_community"));
  CHECK(a1.at("enumerator_id") != b.at("enumerator_id"));
  // Independent of the record: the same value in another record links (panels).
  nlohmann::json other = raw;
  redact_body(form(id), other, sync::Role::kMeOfficer, "key-A", "rec-2");
  CHECK(other.at("resp_community") == a1.at("resp_community"));
  CHECK(pseudonym("k", "f", "x", "serb") != pseudonym("k", "f", "y", "serb"));
  CHECK(pseudonym("k", "f", "x", "serb") == pseudonym("k", "f", "x", "serb"));
}

TEST_CASE("redact: roles that collected or administer the data see everything") {
  for (auto role : {sync::Role::kEnumerator, sync::Role::kSupervisor, sync::Role::kAdmin}) {
    for (const char* id : {"so1_interethnic_survey", "so1_infra_monitoring", "so2_business_followup"}) {
      CHECK(redacted(id, role, "key", fixture(id)) == fixture(id));
    }
  }
}

TEST_CASE("redact: inside repeat items, ages, empty answers, unknown keys, missing key") {
  SUBCASE("Form B visits: visit_by pseudonymised, free text removed, item id kept") {
    nlohmann::json raw = fixture("so1_infra_monitoring");
    const nlohmann::json me = redacted("so1_infra_monitoring", sync::Role::kMeOfficer, "k", raw);
    REQUIRE(me.at("visit").size() == 2);
    CHECK(is_pseudonym(me["visit"][0].at("visit_by")));
    CHECK(me["visit"][1].count("v_issue_detail") == 0);
    CHECK(me["visit"][1].at("visit_id") == raw["visit"][1].at("visit_id"));
    CHECK(me.at("ben_serb") == raw.at("ben_serb"));  // S-agg counts kept
  }
  SUBCASE("Form C: age in years becomes its band, home GPS removed, C kept") {
    nlohmann::json raw = fixture("so2_business_followup");
    raw["owner_age_years"] = 31;
    const nlohmann::json me = redacted("so2_business_followup", sync::Role::kMeOfficer, "k", raw);
    CHECK(me.at("owner_age_years") == "30_35");
    CHECK_FALSE(me.contains("business_gps"));
    CHECK(me.at("revenue_band_now") == raw.at("revenue_band_now"));
    CHECK(is_pseudonym(me.at("business_id")));
  }
  SUBCASE("empty answers stay empty; unknown keys go; no key means no pseudonyms") {
    nlohmann::json raw = fixture("so1_interethnic_survey");
    raw["resp_community_other"] = "";
    raw["not_a_field"] = "x";
    const nlohmann::json me = redacted("so1_interethnic_survey", sync::Role::kMeOfficer, "", raw);
    CHECK(me.at("resp_community_other") == "");
    CHECK_FALSE(me.contains("not_a_field"));
    CHECK_FALSE(me.contains("resp_community"));  // would be a pseudonym: removed without a key
    CHECK(me.at("resp_age_band") == raw.at("resp_age_band"));
  }
  CHECK(age_band_of(17).empty());
  CHECK(age_band_of(24) == "18_24");
  CHECK(age_band_of(35) == "30_35");
  CHECK(age_band_of(80) == "65_plus");
}

}  // namespace akt::exports::test

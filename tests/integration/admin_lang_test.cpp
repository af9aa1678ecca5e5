// The field messages of a conflict resolution refused by the form and of a quarantine release rejected
// again come in the language of Accept-Language (en, sq, sr, sr-Latn), as a push's do (PROTOCOL §4.4);
// codes and paths do not change.
#include <doctest/doctest.h>

#include <random>

#include <nlohmann/json.hpp>

#include "clients/record_gen.hpp"
#include "sync/wire_json.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"

using namespace akt;
using nlohmann::json;

namespace {

const std::string kPw = "correct horse battery";

struct SurveyWorld {
  test::TestServer srv{{}, {}, false, true};
  client::HttpClient c = srv.client();
  std::string admin;
  SurveyWorld() {
    srv.create_user("root", "admin", kPw);
    admin = srv.login("root", kPw);
    const std::string def =
        test::read_text_file(std::string(AKT_SOURCE_DIR) + "/schema/forms/programme/so1_interethnic_survey.json");
    REQUIRE(c.request("POST", "/v1/admin/forms", def, test::bearer(admin))->status == 201);
    REQUIRE(c.request("POST", "/v1/admin/forms/so1_interethnic_survey/1/publish", "{}", test::bearer(admin))->status == 200);
  }
  // An admin request with an Accept-Language header (none when null).
  client::HttpResult post(const std::string& target, const std::string& body, const char* accept_language) {
    auto h = test::bearer(admin);
    if (accept_language != nullptr) h.emplace_back("Accept-Language", accept_language);
    auto r = c.request("POST", target, body, h);
    REQUIRE(r.ok());
    return std::move(*r);
  }
};

// path -> message of a problem's field list.
std::map<std::string, std::string> messages(const json& fields) {
  std::map<std::string, std::string> out;
  for (const auto& f : fields) out[f["path"].get<std::string>()] = f["message"].get<std::string>();
  return out;
}

}  // namespace

TEST_CASE("languages: a resolution that breaks the form is refused with messages in the asked language") {
  SurveyWorld w;
  std::mt19937_64 rng(7);
  client::GeneratedRecord g = client::generate_survey_record(rng);
  sync::Edit e0 = test::make_edit(client::new_record_id(1700000000000, rng), w.srv.a.actor, 1, {}, g.body, g.changed);
  e0.form_id = "so1_interethnic_survey";
  e0.scope = g.scope;
  REQUIRE(json::parse(test::push(w.c, w.srv.a, {"base", {e0}}).body)["results"][0]["outcome"] == "applied");
  // Two tablets set visit_attempt to different values: a field conflict.
  auto side = [&](const test::Device& d, std::int64_t n, int attempt) {
    json b = json::parse(e0.body);
    b["visit_attempt"] = attempt;
    sync::Edit e = test::make_edit(e0.record_id, d.actor, n, e0.clock(), b.dump(), {"visit_attempt"});
    e.form_id = e0.form_id;
    e.scope = e0.scope;
    return e;
  };
  REQUIRE(test::push(w.c, w.srv.a, {"s1", {side(w.srv.a, 2, 2)}}).status == 200);
  REQUIRE(test::push(w.c, w.srv.b, {"s2", {side(w.srv.b, 1, 3)}}).status == 200);
  auto list = json::parse(w.c.request("GET", "/v1/admin/conflicts?status=open", {}, test::bearer(w.admin))->body)["entries"];
  REQUIRE(list.size() == 1);
  const std::string target = "/v1/admin/conflicts/" + std::to_string(list[0]["id"].get<std::int64_t>()) + "/resolve";
  auto rec = json::parse(w.c.request("GET", "/v1/records/" + e0.record_id, {}, test::bearer(w.admin))->body);
  const std::string body = json{{"seen", rec["live"][0]["clock"]}, {"value", 7}}.dump();  // visit_attempt is 1..3
  auto refused = [&](const char* lang) {
    auto r = w.post(target, body, lang);
    REQUIRE_MESSAGE(r.status == 422, r.body);
    const json p = json::parse(r.body);
    CHECK(p["code"] == "invalid_resolution");
    return messages(p["fields"]);
  };
  CHECK(refused(nullptr)["visit_attempt"] == "value 7.0 out of range");
  CHECK(refused("sq")["visit_attempt"] == "vlera 7.0 është jashtë kufijve të lejuar");
  CHECK(refused("sr-RS, en;q=0.5")["visit_attempt"] == "вредност 7.0 је ван дозвољеног опсега");
  CHECK(refused("sr-Latn")["visit_attempt"] == "vrednost 7.0 je van dozvoljenog opsega");
  CHECK(refused("de")["visit_attempt"] == "value 7.0 out of range");
}

TEST_CASE("languages: a release rejected again answers its field messages in the asked language") {
  SurveyWorld w;
  std::mt19937_64 rng(9);
  client::GeneratedRecord g = client::generate_survey_record(rng);
  json b = json::parse(g.body);
  b.erase("resp_gender");
  sync::Edit e = test::make_edit(client::new_record_id(1700000000000, rng), w.srv.a.actor, 1, {}, b.dump(), g.changed);
  e.form_id = "so1_interethnic_survey";
  e.scope = g.scope;
  REQUIRE(json::parse(test::push(w.c, w.srv.a, {"bad", {e}}).body)["results"][0]["outcome"] == "rejected");
  auto q = json::parse(w.c.request("GET", "/v1/admin/quarantine", {}, test::bearer(w.admin))->body)["entries"];
  REQUIRE(q.size() == 1);
  auto again = [&](const char* lang) {
    // Each attempt is rejected again and quarantined anew; release the newest.
    auto entries = json::parse(w.c.request("GET", "/v1/admin/quarantine", {}, test::bearer(w.admin))->body)["entries"];
    auto r = w.post("/v1/admin/quarantine/" + std::to_string(entries[0]["id"].get<std::int64_t>()) + "/release", "{}", lang);
    REQUIRE_MESSAGE(r.status == 409, r.body);
    const json p = json::parse(r.body);
    CHECK(p["code"] == "still_rejected");
    CHECK(p["result"]["error"]["code"] == "invalid_record");
    return messages(p["result"]["error"]["fields"]);
  };
  CHECK(again(nullptr)["resp_gender"] == "an answer is required");
  CHECK(again("sq-AL,sq;q=0.9")["resp_gender"] == "kërkohet një përgjigje");
  CHECK(again("sr")["resp_gender"] == "одговор је обавезан");
  CHECK(again("sr-Latn-RS")["resp_gender"] == "odgovor je obavezan");
}

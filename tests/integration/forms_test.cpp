// Forms over loopback: upload, publish and list definitions; pushes validated against the exact form
// version; invalid edits quarantined while the valid ones of the batch apply; release after a fix.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "clients/record_gen.hpp"
#include "sync/wire_json.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"

using namespace akt;
using nlohmann::json;

namespace {

const std::string kPw = "correct horse battery";

std::string read_file(const std::string& path) { return test::read_text_file(path); }

using test::bearer;

struct FormsWorld {
  test::TestServer srv{{}, {}, false, true};
  std::string admin;
  client::HttpClient c = srv.client();
  FormsWorld() {
    srv.create_user("root", "admin", kPw);
    admin = srv.login("root", kPw);
    for (const char* f : {"so1_interethnic_survey", "so1_infra_monitoring", "so2_business_followup",
                          "so3_municipal_service"}) {
      auto up = c.request("POST", "/v1/admin/forms", read_file(std::string(AKT_SOURCE_DIR) + "/schema/forms/programme/" + f + ".json"),
                          bearer(admin));
      REQUIRE(up.ok());
      REQUIRE_MESSAGE(up->status == 201, up->body);
      auto pub = c.request("POST", std::string("/v1/admin/forms/") + f + "/1/publish", "{}", bearer(admin));
      REQUIRE_MESSAGE(pub->status == 200, pub->body);
    }
  }
  sync::Edit survey_edit(std::mt19937_64& rng, std::int64_t n, std::int64_t version = 1) {
    client::GeneratedRecord g = client::generate_survey_record(rng);
    sync::Edit e = test::make_edit(client::new_record_id(1700000000000 + static_cast<std::uint64_t>(n), rng),
                                   srv.a.actor, n, {}, g.body, g.changed);
    e.form_id = "so1_interethnic_survey";
    e.form_version = version;
    e.scope = g.scope;
    return e;
  }
};

}  // namespace

TEST_CASE("forms: the four instruments upload, publish and list, drafts stay hidden") {
  FormsWorld w;
  auto list = w.c.request("GET", "/v1/forms", {}, w.srv.a.auth());
  REQUIRE(list->status == 200);
  CHECK(json::parse(list->body)["forms"].size() == 4);
  auto def = w.c.request("GET", "/v1/forms/so1_infra_monitoring/1", {}, w.srv.a.auth());
  CHECK(def->status == 200);
  CHECK(json::parse(def->body)["form_id"] == "so1_infra_monitoring");
  // A published version is never edited.
  auto again = w.c.request("POST", "/v1/admin/forms",
                           read_file(std::string(AKT_SOURCE_DIR) + "/schema/forms/programme/so1_infra_monitoring.json"),
                           bearer(w.admin));
  CHECK(again->status == 409);
  CHECK(json::parse(again->body)["code"] == "form_version_published");
  CHECK(w.c.request("POST", "/v1/admin/forms/so1_infra_monitoring/1/publish", "{}", bearer(w.admin))->status == 409);
  // A broken definition is refused with every problem listed.
  auto bad = w.c.request("POST", "/v1/admin/forms",
                         R"({"v":1,"form_id":"x","version":1,"title":{"en":"X"},"fields":[{"key":"a","type":"nope"},{"key":"a","type":"text"}]})",
                         bearer(w.admin));
  CHECK(bad->status == 400);
  auto body = json::parse(bad->body);
  CHECK(body["code"] == "invalid_form");
  CHECK(body["errors"].size() >= 2);
  // A draft of version 2 is visible to admins only.
  json v2 = json::parse(read_file(std::string(AKT_SOURCE_DIR) + "/schema/forms/programme/so1_infra_monitoring.json"));
  v2["version"] = 2;
  CHECK(w.c.request("POST", "/v1/admin/forms", v2.dump(), bearer(w.admin))->status == 201);
  CHECK(w.c.request("GET", "/v1/forms/so1_infra_monitoring/2", {}, w.srv.a.auth())->status == 404);
  CHECK(w.c.request("GET", "/v1/forms/so1_infra_monitoring/2", {}, bearer(w.admin))->status == 200);
  CHECK(json::parse(w.c.request("GET", "/v1/forms", {}, w.srv.a.auth())->body)["forms"].size() == 4);
}

TEST_CASE("forms: invalid edits are quarantined with per-field problems, the valid ones of the batch apply") {
  FormsWorld w;
  std::mt19937_64 rng(11);
  std::vector<sync::Edit> edits;
  for (int i = 1; i <= 20; ++i) edits.push_back(w.survey_edit(rng, i));
  json broken = json::parse(edits[3].body);
  broken["hh_number"] = 5000;
  broken.erase("resp_gender");
  edits[3].body = broken.dump();
  edits[7].form_version = 9;
  auto r = test::push(w.c, w.srv.a, {"f-1", edits});
  REQUIRE(r.status == 200);
  auto resp = json::parse(r.body);
  for (int i = 0; i < 20; ++i) {
    INFO("edit " << i);
    const auto& x = resp["results"][static_cast<std::size_t>(i)];
    if (i == 3) {
      CHECK(x["outcome"] == "rejected");
      CHECK(x["error"]["code"] == "invalid_record");
      std::set<std::pair<std::string, std::string>> fields;
      for (const auto& f : x["error"]["fields"])
        fields.insert({f["path"].get<std::string>(), f["code"].get<std::string>()});
      CHECK(fields.count({"resp_gender", "required"}) == 1);
      CHECK(fields.size() == 2);
      bool hh = false;
      for (const auto& [path, code] : fields) hh = hh || path == "hh_number";
      CHECK(hh);
    } else if (i == 7) {
      CHECK(x["outcome"] == "rejected");
      CHECK(x["error"]["code"] == "unknown_form_version");
    } else {
      CHECK(x["outcome"] == "applied");
    }
  }
  auto q = w.c.request("GET", "/v1/admin/quarantine", {}, bearer(w.admin));
  auto entries = json::parse(q->body)["entries"];
  REQUIRE(entries.size() == 2);
  CHECK(entries[1]["code"] == "invalid_record");  // newest first
  CHECK(entries[1]["edit"]["record"] == edits[3].record_id);
}

TEST_CASE("forms: a quarantined edit is released after the version it needs is published") {
  FormsWorld w;
  std::mt19937_64 rng(12);
  sync::Edit e = w.survey_edit(rng, 1, 2);  // filled with version 2, not yet published here
  auto r = json::parse(test::push(w.c, w.srv.a, {"v2-1", {e}}).body);
  CHECK(r["results"][0]["error"]["code"] == "unknown_form_version");
  auto q = json::parse(w.c.request("GET", "/v1/admin/quarantine", {}, bearer(w.admin))->body)["entries"];
  REQUIRE(q.size() == 1);
  const std::string id = std::to_string(q[0]["id"].get<std::int64_t>());
  auto early = w.c.request("POST", "/v1/admin/quarantine/" + id + "/release", "{}", bearer(w.admin));
  CHECK(early->status == 409);
  CHECK(json::parse(early->body)["code"] == "still_rejected");

  json v2 = json::parse(read_file(std::string(AKT_SOURCE_DIR) + "/schema/forms/programme/so1_interethnic_survey.json"));
  v2["version"] = 2;
  REQUIRE(w.c.request("POST", "/v1/admin/forms", v2.dump(), bearer(w.admin))->status == 201);
  REQUIRE(w.c.request("POST", "/v1/admin/forms/so1_interethnic_survey/2/publish", "{}", bearer(w.admin))->status == 200);
  auto released = w.c.request("POST", "/v1/admin/quarantine/" + id + "/release", "{}", bearer(w.admin));
  REQUIRE_MESSAGE(released->status == 200, released->body);
  CHECK(json::parse(released->body)["result"]["outcome"] == "applied");
  CHECK(w.c.request("GET", "/v1/records/" + e.record_id, {}, w.srv.a.auth())->status == 200);
  CHECK(w.c.request("POST", "/v1/admin/quarantine/" + id + "/release", "{}", bearer(w.admin))->status == 409);
  // Records filled with version 1 stay valid after version 2 is published.
  sync::Edit v1 = w.survey_edit(rng, 2, 1);
  CHECK(json::parse(test::push(w.c, w.srv.a, {"v1-after", {v1}}).body)["results"][0]["outcome"] == "applied");
  // Retiring version 1 hides it from device form lists but never refuses data filled with it.
  REQUIRE(w.c.request("POST", "/v1/admin/forms/so1_interethnic_survey/1/retire", "{}", bearer(w.admin))->status == 200);
  sync::Edit late = w.survey_edit(rng, 3, 1);
  CHECK(json::parse(test::push(w.c, w.srv.a, {"v1-late", {late}}).body)["results"][0]["outcome"] == "applied");
}

TEST_CASE("forms: a quarantined edit discarded stays listed, is never released, and the discard is audited") {
  FormsWorld w;
  std::mt19937_64 rng(13);
  sync::Edit e = w.survey_edit(rng, 1, 2);  // version 2 is not published here
  auto r = json::parse(test::push(w.c, w.srv.a, {"d-1", {e}}).body);
  REQUIRE(r["results"][0]["outcome"] == "rejected");
  auto q = json::parse(w.c.request("GET", "/v1/admin/quarantine", {}, bearer(w.admin))->body)["entries"];
  REQUIRE(q.size() == 1);
  CHECK(q[0]["discarded_at"] == 0);
  const std::string id = std::to_string(q[0]["id"].get<std::int64_t>());
  CHECK(w.c.request("POST", "/v1/admin/quarantine/x/discard", "{}", bearer(w.admin))->status == 400);
  CHECK(w.c.request("POST", "/v1/admin/quarantine/999/discard", "{}", bearer(w.admin))->status == 404);
  auto d = w.c.request("POST", "/v1/admin/quarantine/" + id + "/discard", "{}", bearer(w.admin));
  REQUIRE_MESSAGE(d->status == 200, d->body);
  CHECK(json::parse(d->body)["discarded"] == true);
  auto again = w.c.request("POST", "/v1/admin/quarantine/" + id + "/discard", "{}", bearer(w.admin));
  CHECK(again->status == 409);
  CHECK(json::parse(again->body)["code"] == "already_discarded");
  auto release = w.c.request("POST", "/v1/admin/quarantine/" + id + "/release", "{}", bearer(w.admin));
  CHECK(release->status == 409);
  CHECK(json::parse(release->body)["code"] == "already_discarded");
  CHECK(w.c.request("GET", "/v1/records/" + e.record_id, {}, w.srv.a.auth())->status == 404);
  q = json::parse(w.c.request("GET", "/v1/admin/quarantine", {}, bearer(w.admin))->body)["entries"];
  REQUIRE(q.size() == 1);
  CHECK(q[0]["discarded_at"].get<std::int64_t>() > 0);
  CHECK(q[0]["released_at"] == 0);
  auto audit = json::parse(w.c.request("GET", "/v1/admin/audit?limit=1", {}, bearer(w.admin))->body)["entries"];
  REQUIRE(audit.size() == 1);
  CHECK(audit[0]["action"] == "quarantine_discarded");
  CHECK(audit[0]["target"] == id);
  CHECK(audit[0]["detail"]["code"] == "unknown_form_version");
}

TEST_CASE("forms: many records approved in one action: each reviewed, the unreviewable skipped, one audit entry") {
  FormsWorld w;
  std::mt19937_64 rng(14);
  std::vector<sync::Edit> edits;
  for (int i = 1; i <= 3; ++i) edits.push_back(w.survey_edit(rng, i));
  REQUIRE(test::push(w.c, w.srv.a, {"bulk-1", edits}).status == 200);
  auto clock_of = [](const sync::Edit& e) {
    json c = json::object();
    const sync::VectorClock clock = e.clock();  // entries() refers into it
    for (const auto& [actor, n] : clock.entries()) c[actor] = n;
    return c;
  };
  auto audited = [&] { return json::parse(w.c.request("GET", "/v1/admin/audit?limit=1000", {}, bearer(w.admin))->body)["entries"]; };
  const std::size_t before = audited().size();
  // Refused whole: nothing reviewed.
  for (const char* bad : {R"({"status":"approved","records":[]})", R"({"status":"locked","records":[{"record":"x","seen":{}}]})",
                          R"({"status":"approved","records":[{"record":"not-a-uuid","seen":{}}]})"}) {
    auto r = w.c.request("POST", "/v1/admin/records/review", bad, bearer(w.admin));
    CHECK(r->status == 400);
    CHECK(json::parse(r->body)["code"] == "invalid_review");
  }
  json body{{"status", "approved"}, {"comment", "checked against the route sheets"}, {"records", json::array()}};
  body["records"].push_back({{"record", edits[0].record_id}, {"seen", clock_of(edits[0])}});
  body["records"].push_back({{"record", edits[1].record_id}, {"seen", clock_of(edits[1])}});
  body["records"].push_back({{"record", edits[2].record_id}, {"seen", {{"00000000-0000-4000-8000-000000000001", 7}}}});
  body["records"].push_back({{"record", "00000000-0000-4000-8000-00000000dead"}, {"seen", json::object()}});
  auto r = w.c.request("POST", "/v1/admin/records/review", body.dump(), bearer(w.admin));
  REQUIRE_MESSAGE(r->status == 200, r->body);
  json out = json::parse(r->body);
  CHECK(out["reviewed"] == 2);
  REQUIRE(out["skipped"].size() == 2);
  CHECK(out["skipped"][0]["record"] == edits[2].record_id);
  CHECK(out["skipped"][0]["code"] == "stale_resolution");
  CHECK(out["skipped"][1]["code"] == "record_not_found");
  for (int i = 0; i < 3; ++i) {
    json live = json::parse(w.c.request("GET", "/v1/records/" + edits[static_cast<std::size_t>(i)].record_id, {},
                                        bearer(w.admin))->body)["live"][0]["body"];
    CHECK(live["review_status"] == (i < 2 ? "approved" : "submitted"));
    if (i < 2) CHECK(live["review_comment"] == "checked against the route sheets");
  }
  json log = audited();
  REQUIRE(log.size() == before + 1);
  CHECK(log[0]["action"] == "records_reviewed");
  CHECK(log[0]["detail"]["reviewed"] == 2);
  CHECK(log[0]["detail"]["skipped"] == 2);
}

TEST_CASE("forms: a missing translation refuses the upload with its path, a listed fallback is accepted") {
  FormsWorld w;
  json v2 = json::parse(read_file(std::string(AKT_SOURCE_DIR) + "/schema/forms/programme/so1_interethnic_survey.json"));
  v2["version"] = 2;
  REQUIRE(v2["languages"] == json::array({"en", "sq", "sr"}));
  v2["fields"][5]["label"].erase("sq");
  v2["choice_lists"]["survey_wave"][1]["label"]["sr"] = "";
  auto bad = w.c.request("POST", "/v1/admin/forms", v2.dump(), bearer(w.admin));
  REQUIRE(bad->status == 400);
  auto body = json::parse(bad->body);
  CHECK(body["code"] == "invalid_form");
  std::set<std::pair<std::string, std::string>> errs;
  for (const auto& e : body["errors"]) errs.insert({e["path"].get<std::string>(), e["code"].get<std::string>()});
  CHECK(errs == std::set<std::pair<std::string, std::string>>{{"fields[5].label.sq", "missing_translation"},
                                                              {"choice_lists.survey_wave[1].label.sr",
                                                               "missing_translation"}});
  // Listing both texts as English fallbacks is the explicit way to publish without them.
  v2["fallback_en"] = {"fields[5].label.sq", "choice_lists.survey_wave[1].label.sr"};
  auto ok = w.c.request("POST", "/v1/admin/forms", v2.dump(), bearer(w.admin));
  REQUIRE_MESSAGE(ok->status == 201, ok->body);
  CHECK(w.c.request("POST", "/v1/admin/forms/so1_interethnic_survey/2/publish", "{}", bearer(w.admin))->status == 200);
}

TEST_CASE("forms: a push's field messages come in the language of Accept-Language, codes and paths do not change") {
  FormsWorld w;
  std::mt19937_64 rng(12);
  auto rejected_fields = [&](std::int64_t n, const char* accept_language) {
    sync::Edit e = w.survey_edit(rng, n);
    json body = json::parse(e.body);
    body.erase("resp_gender");
    body["cluster_id"] = "zzz-01";
    e.body = body.dump();
    auto headers = w.srv.a.auth();
    if (accept_language != nullptr) headers.emplace_back("Accept-Language", accept_language);
    auto r = w.c.request("POST", "/v1/push", sync::encode_push_request({"lang-" + std::to_string(n), {e}}), headers);
    REQUIRE(r.ok());
    REQUIRE(r->status == 200);
    const json x = json::parse(r->body)["results"][0];
    REQUIRE(x["outcome"] == "rejected");
    std::map<std::pair<std::string, std::string>, std::string> out;
    for (const auto& f : x["error"]["fields"])
      out[{f["path"].get<std::string>(), f["code"].get<std::string>()}] = f["message"].get<std::string>();
    return out;
  };
  const std::pair<std::string, std::string> required{"resp_gender", "required"}, cluster{"cluster_id", "constraint"};
  auto en = rejected_fields(1, nullptr);
  CHECK(en[required] == "an answer is required");
  CHECK(en[cluster] == "cluster_id must start with the municipality code and '-' (e.g. gracanice-03)");
  auto sq = rejected_fields(2, "sq-AL,sq;q=0.9,en;q=0.5");
  CHECK(sq[required] == "kërkohet një përgjigje");
  CHECK(sq[cluster] == "cluster_id duhet të fillojë me kodin e komunës dhe '-' (p.sh. gracanice-03)");
  auto sr = rejected_fields(3, "sr");
  CHECK(sr[required] == "одговор је обавезан");
  CHECK(sr[cluster] == "cluster_id мора да почиње шифром општине и знаком '-' (нпр. gracanice-03)");
  auto latn = rejected_fields(4, "sr-Latn-RS");
  CHECK(latn[required] == "odgovor je obavezan");
  CHECK(latn[cluster] == "cluster_id mora da počinje šifrom opštine i znakom '-' (npr. gracanice-03)");
  auto other = rejected_fields(5, "de-DE");  // not a programme language: English
  CHECK(other[required] == "an answer is required");
  // The same problems, whatever the language.
  for (const auto* m : {&sq, &sr, &latn, &other}) {
    std::set<std::pair<std::string, std::string>> a, b;
    for (const auto& [k, v] : en) a.insert(k);
    for (const auto& [k, v] : *m) b.insert(k);
    CHECK(a == b);
  }
}

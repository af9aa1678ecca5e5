// M&E datasets over loopback: CSV/JSONL/XLSX exports, incremental by cursor with tombstones, the same
// redaction of sensitive fields in exports and in the feed, indicators, and who may ask.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "clients/record_gen.hpp"
#include "sync/wire_json.hpp"
#include "tests/support/feed.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"

using namespace akt;
using nlohmann::json;

namespace {

const std::string kPw = "correct horse battery";

std::string read_file(const std::string& path) { return test::read_text_file(path); }

using test::bearer;

std::vector<json> jsonl(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

}  // namespace

TEST_CASE("exports: formats, redaction shared with the feed, incremental with tombstones, indicators") {
  test::TestServer srv({}, {}, false, true);
  srv.create_user("root", "admin", kPw);
  srv.create_user("mira", "me_officer", kPw);
  srv.create_user("enis", "enumerator", kPw, {{"*", "*", "*", "*"}});
  const std::string admin = srv.login("root", kPw), me = srv.login("mira", kPw), enis = srv.login("enis", kPw);
  auto c = srv.client();
  auto up = c.request("POST", "/v1/admin/forms",
                      read_file(std::string(AKT_SOURCE_DIR) + "/schema/forms/programme/so1_interethnic_survey.json"),
                      bearer(admin));
  REQUIRE(up->status == 201);
  REQUIRE(c.request("POST", "/v1/admin/forms/so1_interethnic_survey/1/publish", "{}", bearer(admin))->status == 200);
  std::mt19937_64 rng(5);
  std::vector<sync::Edit> edits;
  for (int i = 1; i <= 30; ++i) {
    auto g = client::generate_survey_record(rng);
    sync::Edit e = test::make_edit(client::new_record_id(1700000000000 + static_cast<std::uint64_t>(i), rng),
                                   srv.a.actor, i, {}, g.body, g.changed);
    e.form_id = "so1_interethnic_survey";
    e.scope = g.scope;
    edits.push_back(e);
  }
  auto pushed = json::parse(test::push(c, srv.a, {"x1", edits}).body);
  for (const auto& r : pushed["results"]) REQUIRE(r["outcome"] == "applied");

  // CSV for an M&E officer: every record, no direct identifier, no raw special-category value.
  auto csv = c.request("GET", "/v1/exports/so1_interethnic_survey?format=csv", {}, bearer(me));
  REQUIRE(csv->status == 200);
  CHECK(csv->header("content-type").rfind("text/csv", 0) == 0);
  const std::string header = csv->body.substr(0, csv->body.find('\n'));
  CHECK(header.find("backcheck_phone") == std::string::npos);
  CHECK(csv->body.find("+38344123456") == std::string::npos);
  CHECK(header.find("record_id") != std::string::npos);
  std::size_t csv_rows = 0;  // line breaks outside quoted fields: the header and one row per record
  bool quoted = false;
  for (char ch : csv->body) {
    if (ch == '"') quoted = !quoted;
    else if (ch == '\n' && !quoted) ++csv_rows;
  }
  CHECK(csv_rows == 31);
  CHECK_FALSE(quoted);
  // JSONL: 30 rows, resp_community pseudonymised, stable between exports.
  auto j1 = jsonl(c.request("GET", "/v1/exports/so1_interethnic_survey?format=jsonl", {}, bearer(me))->body);
  REQUIRE(j1.size() == 30);
  const std::string community = j1[0].dump();
  CHECK(community.find("\"resp_community\":\"ps_") != std::string::npos);
  auto j2 = jsonl(c.request("GET", "/v1/exports/so1_interethnic_survey?format=jsonl", {}, bearer(me))->body);
  CHECK(j2[0] == j1[0]);
  // The feed applies the same redaction for the M&E officer, and none for the admin.
  auto me_feed = c.request("GET", "/v1/changes?limit=100", {}, bearer(me));
  const auto me_first = json::parse(me_feed->body)["changes"][0]["live"][0]["body"];
  CHECK_FALSE(me_first.contains("backcheck_phone"));
  CHECK(me_first["resp_community"].get<std::string>().rfind("ps_", 0) == 0);
  auto admin_feed = c.request("GET", "/v1/changes?limit=100", {}, bearer(admin));
  CHECK(json::parse(admin_feed->body)["changes"][0]["live"][0]["body"].contains("backcheck_phone"));
  // XLSX is a zip.
  auto xlsx = c.request("GET", "/v1/exports/so1_interethnic_survey?format=xlsx", {}, bearer(me));
  REQUIRE(xlsx->status == 200);
  CHECK(xlsx->body.rfind("PK", 0) == 0);

  // Incremental: change two records and delete one; exporting from the returned cursor gives exactly them.
  const std::string cursor = csv->header("x-akt-cursor");
  REQUIRE_FALSE(cursor.empty());
  std::vector<sync::Edit> later;
  for (int k : {3, 7}) {
    auto body = json::parse(edits[static_cast<std::size_t>(k)].body);
    body["hh_size"] = 9;
    later.push_back(test::make_edit(edits[static_cast<std::size_t>(k)].record_id, srv.a.actor, 100 + k,
                                    edits[static_cast<std::size_t>(k)].clock(), body.dump(), {"hh_size"}));
    later.back().form_id = "so1_interethnic_survey";
    later.back().scope = edits[static_cast<std::size_t>(k)].scope;
  }
  sync::Edit del = edits[11];
  del.context = edits[11].clock();
  del.dot = {srv.a.actor, 200};
  del.deleted = true;
  later.push_back(del);
  const json later_answer = json::parse(test::push(c, srv.a, {"x2", later}).body);  // named: the loop must not
  for (const auto& r : later_answer["results"]) REQUIRE(r["outcome"] == "applied");  // outlive a temporary
  auto inc = jsonl(c.request("GET", "/v1/exports/so1_interethnic_survey?format=jsonl&since=" + cursor, {}, bearer(me))->body);
  REQUIRE(inc.size() == 3);
  int tombstones = 0;
  for (const auto& row : inc) tombstones += row.dump().find("\"deleted\":true") != std::string::npos;
  CHECK(tombstones == 1);
  // One cursor codec (sync/cursor.hpp): the feed's cursor (scope version not 0) is taken too, and a
  // cursor with anything after it, a sign or another epoch is refused with nothing exported.
  const std::string seq_and_scope = cursor.substr(cursor.find('-'));
  CHECK(jsonl(c.request("GET", "/v1/exports/so1_interethnic_survey?format=jsonl&since=" +
                               cursor.substr(0, cursor.rfind('-')) + "-5", {}, bearer(me))->body).size() == 3);
  for (const std::string& bad : {cursor + "x", cursor + "-0", std::string("ffffffffffffffff") + seq_and_scope,
                                cursor.substr(0, cursor.find('-')) + "-+1-0", cursor.substr(0, cursor.find('-')) + "--1-0"}) {
    CAPTURE(bad);
    auto r = c.request("GET", "/v1/exports/so1_interethnic_survey?format=jsonl&since=" + bad, {}, bearer(me));
    CHECK(r->status == 400);
    CHECK(r->body.find("invalid_cursor") != std::string::npos);
  }

  // Indicators, and who may ask.
  auto ind = c.request("GET", "/v1/indicators", {}, bearer(me));
  CHECK(ind->status == 200);
  CHECK_FALSE(json::parse(ind->body, nullptr, false).is_discarded());
  CHECK(c.request("GET", "/v1/exports/so1_interethnic_survey", {}, bearer(enis))->status == 403);
  CHECK(c.request("GET", "/v1/exports/nope", {}, bearer(me))->status == 404);
  CHECK(c.request("GET", "/v1/exports/so1_interethnic_survey?format=pdf", {}, bearer(me))->status == 400);
}

namespace {

// One seeded Form A record, and what the indicator rules of EXPORTS.md §6 make of it, worked out here
// from the answers (not by the engine).
struct SeededSurvey {
  std::string municipality, wave;
  bool approved = true, consent = true, completed = true;
  std::string freq, quality, joint, programme;

  bool in_scope() const { return approved; }                             // records_in_scope
  bool interviewed() const { return in_scope() && consent && completed; }  // the population of G.1 and 1.1
  bool regular_positive() const {
    return (freq == "daily" || freq == "weekly" || freq == "monthly") &&
           (quality == "positive" || quality == "very_positive");
  }
};

// The expected cell: numerator and denominator over the records `visible` keeps and `group` selects.
struct Expected {
  int num = 0, den = 0;
};

const json* find_cell(const json& answer, const std::string& indicator, const std::string& dimension,
                      const std::string& group) {
  for (const auto& c : answer["cells"]) {
    if (c["indicator"] == indicator && c["dimension"] == dimension && c["group"] == group) return &c;
  }
  return nullptr;
}

// A percentage cell as EXPORTS.md §6 publishes it: suppressed below 5, rounded to 0.1, low precision below 30.
void check_percent_cell(const json& answer, const std::string& indicator, const std::string& dimension,
                        const std::string& group, Expected e) {
  CAPTURE(indicator);
  CAPTURE(dimension);
  CAPTURE(group);
  const json* c = find_cell(answer, indicator, dimension, group);
  REQUIRE_MESSAGE(c != nullptr, "no such cell");
  CHECK((*c)["measure"] == "percent");
  CHECK((*c)["low_precision"] == (e.den < 30));
  if (e.den < 5) {
    CHECK((*c)["suppressed"] == true);
    for (const char* k : {"value", "numerator", "denominator"}) CHECK((!c->contains(k) || (*c)[k].is_null()));
    return;
  }
  CHECK((*c)["suppressed"] == false);
  CHECK((*c)["numerator"].get<double>() == e.num);
  CHECK((*c)["denominator"].get<double>() == e.den);
  CHECK((*c)["value"].get<double>() == doctest::Approx(std::round(1000.0 * e.num / e.den) / 10.0));
}

}  // namespace

TEST_CASE("indicators over HTTP: the values for a known set of records, per role and scope") {
  test::TestServer srv;
  srv.create_user("root", "admin", kPw);
  srv.create_user("mira", "me_officer", kPw);
  srv.create_user("sara", "supervisor", kPw, {{"gracanice", "*", "*", "*"}});
  srv.create_user("enis", "enumerator", kPw, {{"*", "*", "*", "*"}});
  const std::string admin = srv.login("root", kPw), me = srv.login("mira", kPw), sara = srv.login("sara", kPw),
                    enis = srv.login("enis", kPw);
  auto c = srv.client();

  // 45 interviews in two municipalities whose answers cycle through every side of each rule, with some
  // not approved, without consent or not completed.
  const char* freqs[] = {"daily", "weekly", "monthly", "less_often", "never"};
  const char* qualities[] = {"very_negative", "negative", "neutral", "positive", "very_positive"};
  const char* yes_no_dk[] = {"yes", "no", "dont_know", "no_answer"};
  std::vector<SeededSurvey> seeded;
  std::vector<sync::Edit> edits;
  std::mt19937_64 rng(14);
  for (int i = 0; i < 45; ++i) {
    SeededSurvey s;
    s.municipality = i % 3 == 0 ? "gracanice" : "prizren";
    s.wave = i % 9 == 4 && i < 30 ? "baseline" : "midline";
    s.approved = i % 11 != 5;
    s.consent = i % 13 != 7;
    s.completed = i % 17 != 3;
    s.freq = freqs[i % 5];
    s.quality = qualities[(i / 2) % 5];
    s.joint = yes_no_dk[(i / 3) % 4];
    s.programme = yes_no_dk[i % 4];
    auto g = client::generate_survey_record(rng);
    json body = json::parse(g.body);
    const std::string community = s.municipality == "gracanice" ? "serb" : "bosniak";
    body["municipality"] = s.municipality;
    body["resp_community"] = community;
    body["survey_wave"] = s.wave;
    body["review_status"] = s.approved ? "approved" : "submitted";
    body["consent"] = s.consent ? "yes" : "no";
    body["interview_outcome"] = s.completed ? "completed" : "partial";
    body["contact_freq"] = s.freq;
    body["contact_quality"] = s.quality;
    body["joint_activity_12m"] = s.joint;
    body["joint_activity_programme"] = s.programme;
    std::vector<std::string> changed;
    for (const auto& [k, v] : body.items()) changed.push_back(k);
    sync::Edit e = test::make_edit(client::new_record_id(1700000000000 + static_cast<std::uint64_t>(i), rng),
                                   srv.a.actor, i + 1, {}, body.dump(), changed);
    e.form_id = "so1_interethnic_survey";
    e.scope = {s.municipality, community, "SO1"};
    edits.push_back(e);
    seeded.push_back(s);
  }
  const json pushed = json::parse(test::push(c, srv.a, {"ind-1", edits}).body);
  for (const auto& r : pushed["results"]) REQUIRE(r["outcome"] == "applied");
  // A tablet's deletion of an approved record is held for an admin (PROTOCOL §11.6): the record still counts.
  const std::size_t kept = 12;
  REQUIRE(seeded[kept].interviewed());
  sync::Edit del = edits[kept];
  del.context = edits[kept].clock();
  del.dot = {srv.a.actor, 100};
  del.deleted = true;
  const json held = json::parse(test::push(c, srv.a, {"ind-2", {del}}).body);
  REQUIRE(held["results"].size() == 1);

  auto expect = [&](auto visible, auto in_den, auto in_num) {
    Expected e;
    for (const SeededSurvey& s : seeded) {
      if (!visible(s) || !s.interviewed() || !in_den(s)) continue;
      ++e.den;
      e.num += in_num(s) ? 1 : 0;
    }
    return e;
  };
  auto always = [](const SeededSurvey&) { return true; };
  auto joint = [](const SeededSurvey& s) { return s.joint == "yes"; };
  auto check_answer = [&](const std::string& token, auto visible, const std::string& who) {
    CAPTURE(who);
    auto r = c.request("GET", "/v1/indicators?format=json&reporting_date=2018-06-30", {}, bearer(token));
    REQUIRE(r->status == 200);
    const json answer = json::parse(r->body);
    int in_scope = 0;
    for (const SeededSurvey& s : seeded) in_scope += visible(s) && s.in_scope() ? 1 : 0;
    CHECK(answer["records_in_scope"]["so1_interethnic_survey"] == in_scope);
    auto regular = [](const SeededSurvey& s) { return s.regular_positive(); };
    auto programme = [](const SeededSurvey& s) { return s.programme == "yes"; };
    check_percent_cell(answer, "G.1", "all", "all", expect(visible, always, regular));
    check_percent_cell(answer, "1.1", "all", "all", expect(visible, always, joint));
    check_percent_cell(answer, "1.1.programme_share", "all", "all", expect(visible, joint, programme));
    for (const std::string mun : {"gracanice", "prizren"}) {
      auto here = [&](const SeededSurvey& s) { return visible(s) && s.municipality == mun; };
      if (expect(here, always, always).den == 0) {
        CHECK(find_cell(answer, "G.1", "municipality", mun) == nullptr);
        continue;
      }
      check_percent_cell(answer, "G.1", "municipality", mun, expect(here, always, regular));
      check_percent_cell(answer, "1.1", "municipality", mun, expect(here, always, joint));
    }
    // Baseline is a small group: suppressed (its row stays), or absent where the caller sees none of it.
    auto baseline = [&](const SeededSurvey& s) { return visible(s) && s.wave == "baseline"; };
    const Expected small = expect(baseline, always, regular);
    REQUIRE(small.den < 5);
    if (small.den == 0) CHECK(find_cell(answer, "G.1", "survey_wave", "baseline") == nullptr);
    else check_percent_cell(answer, "G.1", "survey_wave", "baseline", small);
    return answer;
  };
  // The admin and the M&E officer see every record; the supervisor only Gračanicë's.
  const json all = check_answer(admin, always, "admin");
  check_answer(me, always, "me_officer");
  const json own = check_answer(sara, [](const SeededSurvey& s) { return s.municipality == "gracanice"; },
                                "supervisor");
  CHECK(find_cell(own, "G.1", "municipality", "prizren") == nullptr);
  // The seeded set really separates the scopes and the rules (else the checks above prove little).
  const Expected every = expect(always, always, always);
  CHECK(every.den > 30);
  CHECK(all["cells"].size() > own["cells"].size());
  CHECK(expect([](const SeededSurvey& s) { return s.municipality == "gracanice"; }, always, always).den >= 5);
  // Enumerators may not ask.
  CHECK(c.request("GET", "/v1/indicators", {}, bearer(enis))->status == 403);
}

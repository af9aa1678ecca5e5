// M&E datasets over loopback: CSV/JSONL/XLSX exports, incremental by cursor with tombstones, the same
// redaction of sensitive fields in exports and in the feed, indicators, and who may ask.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "clients/record_gen.hpp"
#include "sync/wire_json.hpp"
#include "tests/integration/feed.hpp"
#include "tests/integration/test_server.hpp"
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

  // Indicators, and who may ask.
  auto ind = c.request("GET", "/v1/indicators", {}, bearer(me));
  CHECK(ind->status == 200);
  CHECK_FALSE(json::parse(ind->body, nullptr, false).is_discarded());
  CHECK(c.request("GET", "/v1/exports/so1_interethnic_survey", {}, bearer(enis))->status == 403);
  CHECK(c.request("GET", "/v1/exports/nope", {}, bearer(me))->status == 404);
  CHECK(c.request("GET", "/v1/exports/so1_interethnic_survey?format=pdf", {}, bearer(me))->status == 400);
}

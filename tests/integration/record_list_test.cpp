// GET /v1/admin/records (PROTOCOL §11.9), the console's submissions list, over loopback: filters applied by
// the server, keyset pages that cover every record once, rows scoped for supervisors and redacted for M&E
// officers exactly as the record endpoints are, bad parameters refused with their code.
#include <doctest/doctest.h>

#include <set>

#include <nlohmann/json.hpp>

#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"

using namespace akt;
using nlohmann::json;

namespace {

const std::string kPw = "correct horse battery";

sync::Edit edit_at(const std::string& actor, std::int64_t n, const std::string& municipality, const std::string& form,
                   const std::string& body = R"({"x":1})") {
  const auto u = static_cast<std::uint64_t>(n);
  sync::Edit e = test::make_edit(test::uuid7(1700000000000 + u * 1000, u), actor, n, {}, body, {"x"});
  e.scope = {municipality, "serb", "SO1"};
  e.form_id = form;
  return e;
}

json list(client::HttpClient& c, const std::string& token, const std::string& query, int status = 200) {
  auto r = c.request("GET", "/v1/admin/records" + query, {}, test::bearer(token));
  REQUIRE(r.ok());
  REQUIRE_MESSAGE(r->status == status, r->body);
  return json::parse(r->body);
}

std::vector<std::string> ids(const json& page) {
  std::vector<std::string> out;
  for (const auto& r : page["records"]) out.push_back(r["record"]);
  return out;
}

}  // namespace

TEST_CASE("submissions list: filters, keyset pages, scope for supervisors, redaction for M&E officers") {
  test::TestServer srv;
  auto c = srv.client();
  srv.create_user("root", "admin", kPw);
  srv.create_user("mira", "me_officer", kPw);
  srv.create_user("sara", "supervisor", kPw, {{"prizren", "*", "*", "*"}});
  srv.create_user("enis", "enumerator", kPw, {{"*", "*", "*", "*"}});
  const std::string root = srv.login("root", kPw);
  const test::Device tab = srv.enrol(root, "enis", "tablet of enis");

  // 7 records in gracanice (form_a, one approved), 5 in prizren (3 form_a, 2 form_b), all by enis' tablet.
  std::int64_t n = 0;
  std::vector<sync::Edit> edits;
  for (int i = 0; i < 7; ++i)
    edits.push_back(edit_at(tab.actor, ++n, "gracanice", "form_a", i == 3 ? R"({"x":1,"review_status":"approved"})" : R"({"x":1})"));
  for (int i = 0; i < 3; ++i) edits.push_back(edit_at(tab.actor, ++n, "prizren", "form_a"));
  for (int i = 0; i < 2; ++i) edits.push_back(edit_at(tab.actor, ++n, "prizren", "form_b"));
  REQUIRE(test::push(c, tab, {"l1", edits}).status == 200);
  // One record by a static config device (no user), and one deleted record (never listed).
  edits.push_back(edit_at(srv.a.actor, ++n, "gracanice", "form_a"));
  REQUIRE(test::push(c, srv.a, {"l2", {edits.back()}}).status == 200);
  sync::Edit del = edit_at(tab.actor, ++n, "gracanice", "form_a");
  REQUIRE(test::push(c, tab, {"l3", {del}}).status == 200);
  sync::Edit gone = test::make_edit(del.record_id, tab.actor, ++n, del.clock(), "{}", {});
  gone.scope = del.scope;
  gone.form_id = del.form_id;
  gone.deleted = true;
  REQUIRE(test::push(c, tab, {"l4", {gone}}).status == 200);

  SUBCASE("admin: every live record, newest first, in pages that cover each once") {
    std::vector<std::string> seen;
    std::string before;
    int pages = 0;
    for (;;) {
      json page = list(c, root, "?limit=5" + (before.empty() ? "" : "&before=" + before));
      ++pages;
      for (const auto& id : ids(page)) seen.push_back(id);
      if (!page.contains("next_before")) break;
      before = page["next_before"];
    }
    CHECK(pages == 3);
    REQUIRE(seen.size() == 13);
    CHECK(std::set<std::string>(seen.begin(), seen.end()).size() == 13);
    CHECK(std::is_sorted(seen.rbegin(), seen.rend()));  // newest first
    CHECK(std::find(seen.begin(), seen.end(), del.record_id) == seen.end());
    json first = list(c, root, "?limit=1&form=form_a&municipality=gracanice")["records"][0];
    CHECK(first["record"] == edits.back().record_id);
    CHECK(first["submitted_by"] == "");  // a static config device has no user
    json row = list(c, root, "?limit=1&submitted_by=enis")["records"][0];
    CHECK(row["submitted_by"] == "enis");
    CHECK(row["device"] == "tablet of enis");
    CHECK(row["scope"] == json{{"municipality", "prizren"}, {"community", "serb"}, {"component", "SO1"}});
    CHECK(row["review"] == "submitted");
    CHECK(row["conflict"] == false);
    CHECK(row["clock"] == json{{tab.actor, 12}});
  }
  SUBCASE("filters combine, in the server") {
    CHECK(ids(list(c, root, "?form=form_a&municipality=gracanice")).size() == 8);
    CHECK(ids(list(c, root, "?form=form_a&municipality=gracanice&submitted_by=enis")).size() == 7);
    CHECK(ids(list(c, root, "?review=approved")) == std::vector<std::string>{edits[3].record_id});
    CHECK(ids(list(c, root, "?review=submitted")).size() == 12);
    CHECK(ids(list(c, root, "?form=form_b")).size() == 2);
    CHECK(ids(list(c, root, "?conflicts=yes")).empty());
    CHECK(ids(list(c, root, "?conflicts=no")).size() == 13);
    CHECK(ids(list(c, root, "?community=serb&component=SO1")).size() == 13);
    CHECK(ids(list(c, root, "?community=roma")).empty());
    CHECK(ids(list(c, root, "?submitted_by=nobody")).empty());
    // Dates: the day the server received the record (today, for the server's clock).
    CHECK(ids(list(c, root, "?from=2000-01-01&to=2999-12-31")).size() == 13);
    CHECK(ids(list(c, root, "?to=2000-01-01")).empty());
    CHECK(ids(list(c, root, "?from=2999-01-01")).empty());
  }
  SUBCASE("a supervisor sees their scope only, pages included") {
    const std::string sara = srv.login("sara", kPw);
    json all = list(c, sara, "");
    CHECK(ids(all).size() == 5);
    for (const auto& r : all["records"]) CHECK(r["scope"]["municipality"] == "prizren");
    json p1 = list(c, sara, "?limit=3");
    REQUIRE(p1.contains("next_before"));
    json p2 = list(c, sara, "?limit=3&before=" + p1["next_before"].get<std::string>());
    CHECK(ids(p1).size() == 3);
    CHECK(ids(p2).size() == 2);
    CHECK_FALSE(p2.contains("next_before"));
    CHECK(ids(list(c, sara, "?municipality=gracanice")).empty());
  }
  SUBCASE("an M&E officer: every record, the community as its pseudonym, no enumerator") {
    const std::string mira = srv.login("mira", kPw);
    json all = list(c, mira, "?limit=500");
    REQUIRE(ids(all).size() == 13);
    const std::string ps = all["records"][0]["scope"]["community"];
    CHECK(ps.rfind("ps_", 0) == 0);
    for (const auto& r : all["records"]) {
      CHECK(r["scope"]["community"] == ps);
      CHECK(r["submitted_by"] == "");
      CHECK(r["device"] == "");
    }
    // The community filter compares what the officer sees: the clear code finds nothing.
    CHECK(ids(list(c, mira, "?community=serb")).empty());
    CHECK(ids(list(c, mira, "?community=" + ps)).size() == 13);
    CHECK(list(c, mira, "?submitted_by=enis", 400)["code"] == "invalid_filter");
    // As the single record endpoint shows it.
    auto one = c.request("GET", "/v1/records/" + all["records"][0]["record"].get<std::string>(), {}, test::bearer(mira));
    CHECK(json::parse(one->body)["scope"]["community"] == ps);
  }
  SUBCASE("enumerators are refused; bad parameters get their code") {
    CHECK(list(c, srv.login("enis", kPw), "", 403)["code"] == "forbidden");
    CHECK(list(c, root, "?review=maybe", 400)["code"] == "invalid_filter");
    CHECK(list(c, root, "?conflicts=1", 400)["code"] == "invalid_filter");
    CHECK(list(c, root, "?from=2024-02-30", 400)["code"] == "invalid_filter");
    CHECK(list(c, root, "?to=2024-01-01T00:00:00Z", 400)["code"] == "invalid_filter");
    CHECK(list(c, root, "?form=" + std::string(65, 'f'), 400)["code"] == "invalid_filter");
    CHECK(list(c, root, "?before=xyz", 400)["code"] == "invalid_paging");
    CHECK(list(c, root, "?limit=0", 400)["code"] == "invalid_paging");
    CHECK(list(c, root, "?limit=-3", 400)["code"] == "invalid_paging");
    CHECK(c.request("POST", "/v1/admin/records", "{}", test::bearer(root))->status == 405);
    CHECK(c.request("GET", "/v1/admin/records", {}, {})->status == 401);
  }
}

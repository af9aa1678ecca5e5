// GET /v1/admin/audit's filters (PROTOCOL §9.9) over loopback: by user (the anonymous actor of failed
// logins included), action and day, applied in the store so that matching entries older than any page of
// the whole log are still found; paging within the filter; bad filters refused.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "tests/support/test_server.hpp"

using namespace akt;
using nlohmann::json;

namespace {

const std::string kPw = "correct horse battery";

json audit(client::HttpClient& c, const std::string& token, const std::string& query, int status = 200) {
  auto r = c.request("GET", "/v1/admin/audit" + query, {}, test::bearer(token));
  REQUIRE(r.ok());
  REQUIRE_MESSAGE(r->status == status, r->body);
  return json::parse(r->body);
}

}  // namespace

TEST_CASE("audit: filters by user, action and day are applied by the server, before paging") {
  test::TestServer srv;
  auto c = srv.client();
  srv.create_user("root", "admin", kPw);
  srv.create_user("enis", "enumerator", kPw);
  // One failed login (anonymous), then 30 logins of root: the failed one is older than a page of 10.
  REQUIRE(c.request("POST", "/v1/login", R"({"username":"ghost","password":"wrong password 1"})",
                    {{"Content-Type", "application/json"}})->status == 401);
  std::string root;
  for (int i = 0; i < 30; ++i) root = srv.login("root", kPw);
  srv.login("enis", kPw);

  json failed = audit(c, root, "?limit=10&action=login_failed");
  REQUIRE(failed["entries"].size() == 1);
  CHECK(failed["entries"][0]["target"] == "ghost");
  CHECK_FALSE(failed.contains("next_before"));
  json anonymous = audit(c, root, "?limit=10&user=");
  REQUIRE(anonymous["entries"].size() == 1);
  CHECK(anonymous["entries"][0]["action"] == "login_failed");
  json enis = audit(c, root, "?user=enis");
  REQUIRE(enis["entries"].size() == 1);
  CHECK(enis["entries"][0]["action"] == "login");
  // Pages within the filter: 30 logins of root, 12 + 12 + 6.
  std::size_t seen = 0;
  std::string before;
  for (int pages = 0; pages < 5; ++pages) {
    json p = audit(c, root, "?limit=12&user=root&action=login" + (before.empty() ? "" : "&before=" + before));
    for (const auto& e : p["entries"]) CHECK((e["username"] == "root" && e["action"] == "login"));
    seen += p["entries"].size();
    if (!p.contains("next_before")) break;
    before = std::to_string(p["next_before"].get<std::int64_t>());
  }
  CHECK(seen == 30);
  // Days (UTC), both ends inclusive: today's entries, none before 2000 or after 2999.
  CHECK(audit(c, root, "?from=2000-01-01&to=2999-12-31&limit=1000")["entries"].size() == 32);
  CHECK(audit(c, root, "?to=2000-01-01")["entries"].empty());
  CHECK(audit(c, root, "?from=2999-01-01")["entries"].empty());
  CHECK(audit(c, root, "?from=2024-13-01", 400)["code"] == "invalid_filter");
  CHECK(audit(c, root, "?to=yesterday", 400)["code"] == "invalid_filter");
  CHECK(audit(c, root, "?action=" + std::string(65, 'a'), 400)["code"] == "invalid_filter");
}

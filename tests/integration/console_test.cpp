// The web console's server side over loopback (docs/PROTOCOL.md §13): static files with their security
// and cache headers, what devices report in X-Akt-Client (bad values ignored, never failing the sync),
// the device list fields and the record counts per municipality and form, scoped for supervisors.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "clients/sync_client.hpp"
#include "schema/store/tablet_store.hpp"
#include "server/handlers/handlers.hpp"
#include "server/web_assets.hpp"
#include "sync/wire_json.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;
using nlohmann::json;

namespace {

const std::string kPw = "correct horse battery";

using test::bearer;

client::HttpResult get(client::HttpClient& c, const std::string& target,
                       std::vector<std::pair<std::string, std::string>> headers = {}) {
  auto r = c.request("GET", target, {}, headers);
  REQUIRE(r.ok());
  return std::move(*r);
}

void check_security_headers(const client::HttpResult& r) {
  const std::string csp = r.header("content-security-policy");
  CHECK(csp.find("default-src 'none'") != std::string::npos);
  CHECK(csp.find("script-src 'self';") != std::string::npos);
  CHECK(csp.find("frame-ancestors 'none'") != std::string::npos);
  CHECK(csp.find("unsafe-inline") == std::string::npos);
  CHECK(r.header("x-frame-options") == "DENY");
  CHECK(r.header("x-content-type-options") == "nosniff");
  CHECK(r.header("referrer-policy") == "no-referrer");
}

json devices(client::HttpClient& c, const std::string& admin) {
  auto r = c.request("GET", "/v1/admin/devices", {}, bearer(admin));
  REQUIRE(r->status == 200);
  return json::parse(r->body)["devices"];
}

json device(client::HttpClient& c, const std::string& admin, const std::string& actor) {
  for (const auto& d : devices(c, admin))
    if (d["actor"] == actor) return d;
  FAIL("no device " << actor);
  return {};
}

sync::Edit edit_at(const std::string& actor, std::int64_t n, const std::string& municipality,
                   const std::string& form) {
  const auto u = static_cast<std::uint64_t>(n);
  sync::Edit e = test::make_edit(test::uuid7(1700000000000 + u, u), actor, n, {}, R"({"x":1})", {"x"});
  e.scope.municipality = municipality;
  e.form_id = form;
  return e;
}

}  // namespace

TEST_CASE("console: / redirects, files come with their type, ETag, no-cache and a strict CSP") {
  test::TestServer srv;
  auto c = srv.client();
  auto root = get(c, "/");
  CHECK(root.status == 302);
  CHECK(root.header("location") == "/console/");
  check_security_headers(root);
  CHECK(get(c, "/console").header("location") == "/console/");

  auto index = get(c, "/console/");
  REQUIRE(index.status == 200);
  CHECK(index.header("content-type") == "text/html; charset=utf-8");
  CHECK(index.header("cache-control") == "no-cache");
  check_security_headers(index);
  CHECK(index.body.find("<script src=\"/console/app.js\"") != std::string::npos);
  // No inline script anywhere: every <script> tag names its source.
  for (std::size_t p = index.body.find("<script"); p != std::string::npos; p = index.body.find("<script", p + 1))
    CHECK(index.body.substr(p, 40).find(" src=") != std::string::npos);
  CHECK(get(c, "/console/index.html").body == index.body);

  auto js = get(c, "/console/app.js");
  REQUIRE(js.status == 200);
  CHECK(js.header("content-type") == "text/javascript; charset=utf-8");
  CHECK(get(c, "/console/app.css").header("content-type") == "text/css; charset=utf-8");
  CHECK(get(c, "/console/favicon.svg").header("content-type") == "image/svg+xml");
  const std::string etag = js.header("etag");
  REQUIRE(etag.substr(0, 3) == "W/\"");
  CHECK(etag.size() == 3 + 32 + 1);
  auto again = get(c, "/console/app.js", {{"If-None-Match", etag}});
  CHECK(again.status == 304);
  CHECK(again.body.empty());
  CHECK(again.header("etag") == etag);
  CHECK(get(c, "/console/app.js", {{"If-None-Match", "\"other\", " + etag.substr(2)}}).status == 304);
  CHECK(get(c, "/console/app.js", {{"If-None-Match", "W/\"0123\""}}).status == 200);
  CHECK(get(c, "/console/app.js").header("etag") != get(c, "/console/app.css").header("etag"));

  // Unknown files, traversal and other methods.
  for (const char* bad : {"/console/nope.js", "/console/../server/main.cpp", "/console/%2e%2e/x", "/console/web/app.js",
                          "/consolex", "/index.html"}) {
    auto r = get(c, bad);
    CHECK_MESSAGE(r.status == 404, bad);
    CHECK(json::parse(r.body)["code"] == "not_found");
  }
  check_security_headers(get(c, "/console/nope.js"));
  auto post = c.request("POST", "/console/", "{}", {{"Content-Type", "application/json"}});
  CHECK(post->status == 405);
  CHECK(post->header("allow") == "GET");
  // The API is unchanged next to it.
  CHECK(get(c, "/v1/me").status == 401);
}

TEST_CASE("console: the embedded files are the files of server/web, byte for byte") {
  std::set<std::string> names;
  for (const auto& a : server::web_assets()) {
    names.insert(std::string(a.name));
    std::ifstream in(std::string(AKT_SOURCE_DIR) + "/server/web/" + std::string(a.name), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    CHECK_MESSAGE(ss.str() == a.body, a.name);
  }
  CHECK(names.count("index.html") == 1);
  CHECK(names.count("app.js") == 1);
  CHECK(names.count("i18n.js") == 1);
}

TEST_CASE("X-Akt-Client: parsed item by item, bad values are ignored") {
  using server::parse_client_header;
  auto r = parse_client_header("app=aktsync/1.2; unsynced=14");
  CHECK(r.app == "aktsync/1.2");
  CHECK(r.unsynced == 14);
  r = parse_client_header("  unsynced = 0 ;app= aktsync/1.4.2-rc1+b7 ; future=thing");
  CHECK(r.app == "aktsync/1.4.2-rc1+b7");
  CHECK(r.unsynced == 0);
  for (const char* bad : {"unsynced=-1", "unsynced=abc", "unsynced=1e3", "unsynced=", "unsynced=1234567890",
                          "unsynced=0x10", "unsynced=12 3", "unsynced"}) {
    CHECK_MESSAGE(parse_client_header(bad).unsynced == -1, bad);
  }
  for (const char* bad : {"app=", "app=aktsync 1.2", "app=<script>", "app=aktsync/1.2\";x", "app=\xc3\xa9"})
    CHECK_MESSAGE(parse_client_header(bad).app.empty(), bad);
  CHECK(parse_client_header("app=" + std::string(64, 'a')).app.size() == 64);
  CHECK(parse_client_header("app=" + std::string(65, 'a')).app.empty());
  // One bad item does not spoil the others; a header over 256 bytes is ignored whole.
  r = parse_client_header("app=aktsync/1.2; unsynced=many");
  CHECK(r.app == "aktsync/1.2");
  CHECK(r.unsynced == -1);
  r = parse_client_header("unsynced=3; pad=" + std::string(300, 'x'));
  CHECK(r.unsynced == -1);
  CHECK(parse_client_header("").app.empty());
}

TEST_CASE("device status: X-Akt-Client on push and changes reaches the device list, bad values never fail a sync") {
  test::TestServer srv;
  auto c = srv.client();
  srv.create_user("root", "admin", kPw);
  srv.create_user("enis", "enumerator", kPw, {{"gracanice", "*", "*", "*"}});
  const std::string admin = srv.login("root", kPw);
  const test::Device tab = srv.enrol(admin, "enis", "tablet-enis");

  json d = device(c, admin, tab.actor);
  CHECK(d["kind"] == "enrolled");
  CHECK(d["client_app"] == "");
  CHECK(d["unsynced"].is_null());
  CHECK(d["reported_at"] == 0);
  CHECK(d["app_version"] == "test");
  CHECK(d["last_push"] == 0);

  auto h = tab.auth();
  h.emplace_back("X-Akt-Client", "app=aktsync/1.2; unsynced=14");
  auto e = edit_at(tab.actor, 1, "gracanice", "f");
  auto r = c.request("POST", "/v1/push", sync::encode_push_request({"p1", {e}}), h);
  REQUIRE(r->status == 200);
  d = device(c, admin, tab.actor);
  CHECK(d["client_app"] == "aktsync/1.2");
  CHECK(d["unsynced"] == 14);
  CHECK(d["reported_at"].get<std::int64_t>() > 0);
  CHECK(d["last_push"].get<std::int64_t>() > 0);

  // Bad values: the sync goes through, the stored report is unchanged.
  for (const char* bad : {"unsynced=lots", "app=not valid; unsynced=-3", "garbage", "app=\"x\""}) {
    auto hb = tab.auth();
    hb.emplace_back("X-Akt-Client", bad);
    auto rb = c.request("GET", "/v1/changes?limit=10", {}, hb);
    CHECK_MESSAGE(rb->status == 200, bad);
  }
  REQUIRE(srv.app().store->flush().ok());  // pull times are written in batches
  d = device(c, admin, tab.actor);
  CHECK(d["client_app"] == "aktsync/1.2");
  CHECK(d["unsynced"] == 14);
  CHECK(d["last_pull"].get<std::int64_t>() > 0);

  // A pull reports too; only the items present change.
  auto hp = tab.auth();
  hp.emplace_back("X-Akt-Client", "unsynced=0");
  REQUIRE(c.request("GET", "/v1/changes?limit=10", {}, hp)->status == 200);
  d = device(c, admin, tab.actor);
  CHECK(d["unsynced"] == 0);
  CHECK(d["client_app"] == "aktsync/1.2");

  // Session tokens carry no device: their header is ignored. Static config devices report as well.
  auto hs = bearer(admin);
  hs.emplace_back("X-Akt-Client", "app=browser; unsynced=9");
  CHECK(c.request("GET", "/v1/admin/devices", {}, hs)->status == 200);
  auto ha = srv.a.auth();
  ha.emplace_back("X-Akt-Client", "app=aktsync-static/2; unsynced=5");
  REQUIRE(c.request("GET", "/v1/changes?limit=1", {}, ha)->status == 200);
  json a = device(c, admin, srv.a.actor);
  CHECK(a["kind"] == "static");
  CHECK(a["unsynced"] == 5);
  for (const auto& x : devices(c, admin)) CHECK(x["client_app"] != "browser");
}

TEST_CASE("device status: the aktsync client library reports its app and unsynced edits on every sync") {
  test::TestServer srv;
  auto c = srv.client();
  srv.create_user("root", "admin", kPw);
  srv.create_user("enis", "enumerator", kPw, {{"gracanice", "*", "*", "*"}});
  const std::string admin = srv.login("root", kPw);
  const test::Device tab = srv.enrol(admin, "enis", "tablet-enis");
  test::TempDir dir;
  auto st = store::TabletStore::open(dir.path() + "/tablet.db");
  REQUIRE(st.ok());
  auto& tablet = **st;
  REQUIRE(tablet.init({tab.actor, "127.0.0.1:" + std::to_string(srv.port()), tab.token}, 7, 1700000000000).ok());
  for (std::uint8_t i = 0; i < 3; ++i)
    REQUIRE(tablet.create({"f", 1, {"gracanice", "serb", "SO1"}, R"({"x":1})", {"x"}}, 1700000000000 + i,
                          {i, 1, 2, 3, 4, 5, 6, 7, 8, 9}).ok());
  // The first request of the round (the push) reports the three edits waiting; the pull after it, none.
  std::vector<std::string> seen;
  client::HttpClient http = srv.client();
  client::Transport base = client::http_transport(http);
  client::SyncClient sync(tablet, [&](const std::string& m, const std::string& t, const std::string& b,
                                      const client::Headers& h) {
    for (const auto& [k, v] : h)
      if (k == "X-Akt-Client") seen.push_back(v);
    return base(m, t, b, h);
  });
  auto sum = sync.sync(1700000001000);
  REQUIRE(sum.ok());
  REQUIRE(seen.size() >= 2);
  CHECK(seen.front() == "app=aktsync/0.1.0; unsynced=3");
  CHECK(seen.back() == "app=aktsync/0.1.0; unsynced=0");
  json d = device(c, admin, tab.actor);
  CHECK(d["client_app"] == "aktsync/0.1.0");
  CHECK(d["unsynced"] == 0);
}

TEST_CASE("stats: live records per municipality and form, scoped for supervisors, refused to enumerators") {
  test::TestServer srv;
  auto c = srv.client();
  srv.create_user("root", "admin", kPw);
  srv.create_user("mira", "me_officer", kPw);
  srv.create_user("sara", "supervisor", kPw, {{"prizren", "*", "*", "*"}});
  srv.create_user("enis", "enumerator", kPw, {{"gracanice", "*", "*", "*"}});
  std::int64_t n = 0;
  std::vector<sync::Edit> edits;
  for (int i = 0; i < 3; ++i) edits.push_back(edit_at(srv.a.actor, ++n, "gracanice", "form_a"));
  for (int i = 0; i < 2; ++i) edits.push_back(edit_at(srv.a.actor, ++n, "prizren", "form_a"));
  edits.push_back(edit_at(srv.a.actor, ++n, "prizren", "form_b"));
  REQUIRE(test::push(c, srv.a, {"s1", edits}).status == 200);
  // A deleted record is not counted.
  sync::Edit del = test::make_edit(edits[0].record_id, srv.a.actor, ++n, edits[0].clock(), "{}", {});
  del.scope = edits[0].scope;
  del.form_id = edits[0].form_id;
  del.deleted = true;
  REQUIRE(test::push(c, srv.a, {"s2", {del}}).status == 200);

  auto stats = [&](const std::string& user) {
    auto r = c.request("GET", "/v1/admin/stats", {}, bearer(srv.login(user, kPw)));
    REQUIRE(r.ok());
    return std::make_pair(r->status, json::parse(r->body));
  };
  auto [st, all] = stats("root");
  REQUIRE(st == 200);
  CHECK(all["total"] == 5);
  CHECK(all["counts"] == json::parse(R"([{"form":"form_a","municipality":"gracanice","records":2},
    {"form":"form_a","municipality":"prizren","records":2},{"form":"form_b","municipality":"prizren","records":1}])"));
  CHECK(stats("mira").second["total"] == 5);
  auto [sst, sup] = stats("sara");
  CHECK(sst == 200);
  CHECK(sup["total"] == 3);
  for (const auto& row : sup["counts"]) CHECK(row["municipality"] == "prizren");
  auto [est, en] = stats("enis");
  CHECK(est == 403);
  CHECK(en["code"] == "forbidden");
  CHECK(c.request("POST", "/v1/admin/stats", "{}", bearer(srv.login("root", kPw)))->status == 405);
  CHECK(c.request("GET", "/v1/admin/stats", {}, {})->status == 401);
}

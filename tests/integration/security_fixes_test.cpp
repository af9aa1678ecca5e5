// Trusted reverse proxies, audit addresses, quarantine release against the current scope, and the small
// hardening items of SECURITY.md (duplicate keys, header case, gzip trailers, HEAD, cursors, nosniff).
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "server/log.hpp"
#include "sync/gzip.hpp"
#include "sync/wire_json.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_tls.hpp"

using namespace akt;
using nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;

namespace {

const std::string kPw = "correct horse battery";

std::string code_of(const client::HttpResult& r) { return json::parse(r.body, nullptr, false).value("code", ""); }

client::HttpResult login(client::HttpClient& c, const std::string& user, const std::string& pw, const std::string& xff) {
  Headers h{{"Content-Type", "application/json"}};
  if (!xff.empty()) h.emplace_back("X-Forwarded-For", xff);
  auto r = c.request("POST", "/v1/login", json{{"username", user}, {"password", pw}}.dump(), h);
  REQUIRE(r.ok());
  return *r;
}

// The remote of the newest audit entry with `action`.
std::string audit_remote(client::HttpClient& c, const std::string& admin, const std::string& action) {
  auto page = json::parse(c.request("GET", "/v1/admin/audit", {}, test::bearer(admin))->body);
  for (const auto& e : page["entries"])
    if (e["action"] == action) return e["remote"];
  return "(none)";
}

// One raw request on a fresh connection; the whole answer as text (until the server closes, or 3 s).
std::string raw_exchange(std::uint16_t port, const std::string& text) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  timeval tv{3, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return out;
}

}  // namespace

TEST_CASE("proxy: X-Forwarded-For counts only from a trusted proxy, for throttling and audit") {
  test::TestServer srv;
  srv.create_user("root", "admin", kPw);
  auto c = srv.client();
  const std::string admin = srv.login("root", kPw);
  // Not declared: the header is ignored.
  CHECK(login(c, "root", kPw, "203.0.113.9").status == 200);
  CHECK(audit_remote(c, admin, "login").rfind("127.0.0.1:", 0) == 0);

  srv.app().config.trusted_proxies = {"127.0.0.1"};
  CHECK(login(c, "root", kPw, "198.51.100.1, 203.0.113.9").status == 200);
  CHECK(audit_remote(c, admin, "login") == "203.0.113.9:0");  // the rightmost address not a trusted proxy
  CHECK(login(c, "root", kPw, "not an address").status == 200);
  CHECK(audit_remote(c, admin, "login").rfind("127.0.0.1:", 0) == 0);  // malformed: the peer stands

  // The per-address login budget (4 x 5) is spent by one forwarded client, not by everyone behind the proxy.
  for (int i = 0; i < 20; ++i) login(c, "user" + std::to_string(i), "wrong password", "203.0.113.9");
  CHECK(login(c, "someone", "wrong password", "203.0.113.9").status == 429);
  CHECK(login(c, "someone", "wrong password", "198.51.100.7").status == 401);
}

TEST_CASE("audit: export entries carry the client address") {
  test::TestServer srv;
  srv.create_user("root", "admin", kPw);
  auto c = srv.client();
  const std::string admin = srv.login("root", kPw);
  REQUIRE(c.request("POST", "/v1/admin/forms",
                    test::read_text_file(std::string(AKT_SOURCE_DIR) + "/schema/forms/programme/so1_interethnic_survey.json"),
                    test::bearer(admin))
              ->status == 201);
  REQUIRE(c.request("POST", "/v1/admin/forms/so1_interethnic_survey/1/publish", "{}", test::bearer(admin))->status == 200);
  REQUIRE(c.request("GET", "/v1/exports/so1_interethnic_survey?format=csv", {}, test::bearer(admin))->status == 200);
  CHECK(audit_remote(c, admin, "export").rfind("127.0.0.1:", 0) == 0);
}

TEST_CASE("quarantine: a released edit is checked against the device user's current scope") {
  test::TestServer srv;
  srv.create_user("root", "admin", kPw);
  srv.create_user("enis", "enumerator", kPw, {{"gracanice", "serb", "SO1", "*"}});
  auto c = srv.client();
  const std::string admin = srv.login("root", kPw);
  const test::Device enis = srv.enrol(admin, "enis", "tablet-enis");
  sync::Edit e = test::make_edit(test::uuid7(5, 5), enis.actor, 1, {}, R"({"x":1})", {"x"});
  e.scope = {"prizren", "serb", "SO1"};
  auto pushed = json::parse(test::push(c, enis, {"oos-1", {e}}).body);
  REQUIRE(pushed["results"][0]["error"]["code"] == "out_of_scope");
  auto q = json::parse(c.request("GET", "/v1/admin/quarantine", {}, test::bearer(admin))->body)["entries"];
  REQUIRE(q.size() == 1);
  const std::string id = std::to_string(q[0]["id"].get<std::int64_t>());
  auto again = c.request("POST", "/v1/admin/quarantine/" + id + "/release", "{}", test::bearer(admin));
  CHECK(again->status == 409);
  CHECK(code_of(*again) == "still_rejected");
  CHECK(c.request("GET", "/v1/records/" + e.record_id, {}, test::bearer(admin))->status == 404);
  // Once the user may write there, the release applies it.
  REQUIRE(c.request("PUT", "/v1/admin/users/enis/assignments",
                    R"({"assignments":[{"municipality":"gracanice"},{"municipality":"prizren"}]})", test::bearer(admin))
              ->status == 200);
  auto ok = c.request("POST", "/v1/admin/quarantine/" + id + "/release", "{}", test::bearer(admin));
  REQUIRE_MESSAGE(ok->status == 200, ok->body);
  CHECK(json::parse(ok->body)["result"]["outcome"] == "applied");
}

TEST_CASE("low: duplicate keys in the batch envelope, an edit, its scope, its dot and a login body are refused") {
  test::TestServer srv;
  srv.create_user("root", "admin", kPw);
  auto c = srv.client();
  const std::string rec = test::uuid7(1, 1);
  const std::string dot = R"({"actor":")" + srv.a.actor + R"(","n":1})";
  const std::string scope = R"({"municipality":"m","community":"c","component":"SO1"})";
  auto edit = [&](const std::string& extra_top, const std::string& d, const std::string& s) {
    return R"({"record":")" + rec + R"(","form":"f","form_version":1,"scope":)" + s + R"(,"dot":)" + d +
           R"(,"body":{"a":1},"changed":["a"])" + extra_top + "}";
  };
  const std::vector<std::string> batches = {
      R"({"v":1,"batch_id":"b1","batch_id":"b2","edits":[)" + edit("", dot, scope) + "]}",
      R"({"v":1,"batch_id":"b1","edits":[)" + edit(R"(,"record":")" + test::uuid7(2, 2) + "\"", dot, scope) + "]}",
      R"({"v":1,"batch_id":"b1","edits":[)" + edit("", R"({"actor":")" + srv.a.actor + R"(","n":1,"n":2})", scope) + "]}",
      R"({"v":1,"batch_id":"b1","edits":[)" + edit("", dot, R"({"municipality":"m","municipality":"x","community":"c","component":"SO1"})") + "]}",
  };
  for (const auto& b : batches) {
    CAPTURE(b);
    auto r = c.request("POST", "/v1/push", b, srv.a.auth());
    CHECK(r->status == 400);
    CHECK(code_of(*r) == "invalid_batch");
  }
  CHECK(srv.app().store->last_seq() == 0);
  auto l = c.request("POST", "/v1/login", R"({"username":"root","password":"x","password":")" + kPw + "\"}",
                     {{"Content-Type", "application/json"}});
  CHECK(l->status == 400);
  CHECK(code_of(*l) == "invalid_json");
}

TEST_CASE("low: the Bearer scheme and Content-Encoding are case-insensitive, gzip with trailing bytes is refused") {
  test::TestServer srv;
  auto c = srv.client();
  CHECK(c.request("GET", "/v1/me", {}, {{"Authorization", "bearer " + srv.a.token}})->status == 200);
  CHECK(c.request("GET", "/v1/me", {}, {{"Authorization", "BEARER " + srv.a.token}})->status == 200);
  sync::PushRequest req{"gz-1", {test::make_edit(test::uuid7(3, 3), srv.a.actor, 1, {}, R"({"a":1})", {"a"})}};
  const std::string gz = sync::gzip(sync::encode_push_request(req), 5);
  Headers h = srv.a.auth();
  h.emplace_back("Content-Encoding", "GZip");
  auto ok = c.request("POST", "/v1/push", gz, h);
  CHECK(ok->status == 200);
  sync::PushRequest req2{"gz-2", {test::make_edit(test::uuid7(4, 4), srv.a.actor, 2, {}, R"({"a":1})", {"a"})}};
  auto trailing = c.request("POST", "/v1/push", sync::gzip(sync::encode_push_request(req2), 5) + "garbage", h);
  CHECK(trailing->status == 400);
  CHECK(code_of(*trailing) == "invalid_encoding");
  auto two = c.request("POST", "/v1/push", sync::gzip(sync::encode_push_request(req2), 5) + gz, h);
  CHECK(two->status == 400);
}

TEST_CASE("low: HEAD is answered where GET is, without a body, answers carry nosniff") {
  test::TestServer srv;
  const std::string out = raw_exchange(srv.port(), "HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(out.rfind("HTTP/1.1 200", 0) == 0);
  const auto end = out.find("\r\n\r\n");
  REQUIRE(end != std::string::npos);
  CHECK(end + 4 == out.size());  // no body
  CHECK(out.find("Content-Length: 0") == std::string::npos);
  CHECK(out.find("X-Content-Type-Options: nosniff") != std::string::npos);
  auto c = srv.client();
  auto get = c.request("GET", "/v1/me", {}, srv.a.auth());
  CHECK(get->header("x-content-type-options") == "nosniff");
  auto head = c.request("HEAD", "/v1/me", {}, srv.a.auth());
  REQUIRE_MESSAGE(head.ok(), head.status().message());
  CHECK(head->status == 200);
  CHECK(head->body.empty());
  CHECK(c.request("GET", "/v1/me", {}, srv.a.auth())->status == 200);  // the kept-alive connection still frames
}

TEST_CASE("low: a malformed cursor is 400 invalid_cursor, not 410") {
  test::TestServer srv;
  auto c = srv.client();
  for (const std::string bad : {"garbage-1-1", "ZZZZZZZZZZZZZZZZ-1-1", "x", "-1-1"}) {
    CAPTURE(bad);
    auto r = c.request("GET", "/v1/changes?since=" + bad, {}, srv.a.auth());
    CHECK(r->status == 400);
    CHECK(code_of(*r) == "invalid_cursor");
  }
}

TEST_CASE("low: an invalid reporting_date is 400 invalid_option") {
  test::TestServer srv;
  srv.create_user("root", "admin", kPw);
  auto c = srv.client();
  const std::string admin = srv.login("root", kPw);
  for (const std::string bad : {"2018-13-01", "yesterday", "2018-02-30"}) {
    CAPTURE(bad);
    auto r = c.request("GET", "/v1/indicators?format=json&reporting_date=" + bad, {}, test::bearer(admin));
    CHECK(r->status == 400);
    CHECK(code_of(*r) == "invalid_option");
  }
}

TEST_CASE("low: at debug level, token and code query parameters are masked in the log") {
  test::TestServer srv;
  test::TempDir dir;
  const std::string path = dir.file("stderr.log");
  fflush(stderr);
  const int saved = dup(2);
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE(fd >= 0);
  dup2(fd, 2);
  server::set_log_level("debug");
  auto c = srv.client();
  c.request("GET", "/v1/changes?token=s3cr3t-value&limit=5&code=ABCD-1234", {}, srv.a.auth());
  c.request("GET", "/v1/me?x=1", {}, srv.a.auth());
  server::set_log_level("warn");
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  close(fd);
  const std::string log = test::read_text_file(path);
  CHECK(log.find("s3cr3t-value") == std::string::npos);
  CHECK(log.find("ABCD-1234") == std::string::npos);
  CHECK(log.find("/v1/changes?token=***&limit=5&code=***") != std::string::npos);
  CHECK(log.find("/v1/me?x=1") != std::string::npos);
}

TEST_CASE("low: the startup log names https:// when TLS is configured") {
  test::TempDir dir;
  auto cert = test::make_test_cert(dir.path());
  std::ofstream(dir.file("aktsyncd.json")) << R"({"listen":"127.0.0.1:0","data_dir":")" << dir.file("data")
                                           << R"(","tls":{"cert_file":")" << cert.cert_file << R"(","key_file":")"
                                           << cert.key_file << R"("}})";
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int fd = open(dir.file("stderr.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    execl(AKTSYNCD_PATH, "aktsyncd", "--config", dir.file("aktsyncd.json").c_str(), "--port-file",
          dir.file("port").c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  bool up = false;
  for (int i = 0; i < 1000 && !up; ++i) {
    up = !test::read_text_file(dir.file("port")).empty();
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  REQUIRE(up);
  const std::string log = test::read_text_file(dir.file("stderr.log"));
  CHECK(log.find("listening on https://127.0.0.1:") != std::string::npos);
  CHECK(log.find("http://") == std::string::npos);
}

// Request ids and the request log (README "Operating aktsync", PROTOCOL §"Errors"): every answer carries
// X-Request-Id, every problem+json body the same `request_id`, and the request's log line the same id
// with its route template and principal; in JSON format every line is one JSON object. A whole session
// of logins, an enrolment, pushes and pulls with known secret strings, logged at debug level, leaves
// none of them in the log.
#include <doctest/doctest.h>

#include <chrono>
#include <mutex>
#include <thread>
#include <sstream>

#include <nlohmann/json.hpp>

#include "server/log.hpp"
#include "sync/wire_json.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"

using namespace akt;
using nlohmann::json;

namespace {

// Captures every log line while alive.
struct LogCapture {
  std::mutex mu;
  std::vector<std::string> lines;
  explicit LogCapture(const char* format) {
    server::set_log_format(format);
    server::set_log_level("debug");
    server::set_log_sink([this](std::string_view line) {
      std::lock_guard lock(mu);
      lines.emplace_back(line);
    });
  }
  ~LogCapture() {
    server::set_log_sink(nullptr);
    server::set_log_format("text");
    server::set_log_level("warn");
  }
  // The log once it holds `what` (lines are written once the answer went out, so they may trail the
  // client by a moment); the log as it is after a generous deadline otherwise.
  std::string once_it_has(const std::string& what) {
    for (int i = 0; i < 2000; ++i) {
      std::string log = all();
      if (log.find(what) != std::string::npos) return log;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return all();
  }
  std::string all() {
    std::lock_guard lock(mu);
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
  }
};

std::string header_of(const client::HttpResult& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return {};
}

}  // namespace

TEST_CASE("request log: request ids in answers, problems and log lines, no secret in any line") {
  const std::string password = "Secret-Password-7f3a9c";
  const std::string body_secret = "Secret-Body-Vlora-Krasniqi-0a1b";
  test::TestServer srv;
  srv.create_user("root", "admin", password);
  srv.create_user("enis", "enumerator", password, {{"gracanice", "*", "*", "*"}});
  LogCapture cap("text");
  auto c = srv.client();

  // Logins (one failing with a password close to the real one), an enrolment, pushes and pulls.
  auto bad = c.request("POST", "/v1/login", json{{"username", "root"}, {"password", password + "x"}}.dump(),
                       {{"Content-Type", "application/json"}});
  REQUIRE(bad.ok());
  CHECK(bad->status == 401);
  const std::string admin = srv.login("root", password);
  auto code = c.request("POST", "/v1/admin/enrolments", json{{"username", "enis"}, {"device_name", "t1"}}.dump(),
                        test::bearer(admin));
  REQUIRE(code.ok());
  REQUIRE(code->status == 201);
  const std::string enrol_code = json::parse(code->body)["code"];
  const std::string actor = test::uuid_n(0x7777);
  auto enrolled = c.request("POST", "/v1/enrol", json{{"code", enrol_code}, {"actor", actor}, {"app_version", "t"}}.dump(),
                            {{"Content-Type", "application/json"}});
  REQUIRE(enrolled.ok());
  REQUIRE(enrolled->status == 201);
  const test::Device dev{actor, json::parse(enrolled->body)["token"].get<std::string>()};
  const std::string record = test::uuid7(1700000000000, 1);
  sync::Edit e = test::make_edit(record, dev.actor, 1, {}, json{{"name", body_secret}}.dump(), {"name"});
  e.scope = {"gracanice", "serb", "SO1"};
  auto pushed = test::push(c, dev, {"b-1", {e}});
  CHECK(pushed.status == 200);
  auto pulled = test::get(c, dev, "/v1/changes?since=&limit=10&token=" + dev.token);
  CHECK(pulled.status == 200);
  CHECK(test::get(c, dev, "/v1/records/" + record).status == 200);
  // A replayed enrolment code and a bad token: problems, each with its request id.
  auto replay = c.request("POST", "/v1/enrol", json{{"code", enrol_code}, {"actor", test::uuid_n(0x7778)}}.dump(),
                          {{"Content-Type", "application/json"}});
  REQUIRE(replay.ok());
  CHECK(replay->status >= 400);
  auto unauth = c.request("GET", "/v1/changes", {}, test::bearer(admin + "0"));
  REQUIRE(unauth.ok());
  CHECK(unauth->status == 401);
  auto out = c.request("POST", "/v1/logout", {}, test::bearer(admin));
  REQUIRE(out.ok());

  const std::string log = cap.once_it_has("id=" + header_of(*out, "x-request-id"));
  REQUIRE(log.find("POST /v1/logout") != std::string::npos);
  for (const std::string& secret : {password, body_secret, admin, dev.token, enrol_code})
    CHECK_MESSAGE(log.find(secret) == std::string::npos, "secret '" << secret << "' in the log:\n" << log);

  SUBCASE("the id of a problem is in its header, its body and its log line") {
    const std::string id = header_of(*unauth, "x-request-id");
    REQUIRE(id.size() == 16);
    CHECK(json::parse(unauth->body)["request_id"] == id);
    const std::string bad_id = header_of(*bad, "x-request-id");
    CHECK(json::parse(bad->body)["request_id"] == bad_id);
    CHECK(bad_id != id);
    CHECK(log.find("GET /v1/changes 401") != std::string::npos);
    CHECK(log.find("route=/v1/changes id=" + id) != std::string::npos);
    // Successful answers carry the header too, and their lines the principal and the route template.
    CHECK(header_of(pulled, "x-request-id").size() == 16);
    CHECK(log.find("device=" + dev.actor) != std::string::npos);
    CHECK(log.find("route=/v1/records/{id} id=") != std::string::npos);
  }
}

TEST_CASE("request log: log_format json writes one JSON object per line with the request fields") {
  test::TestServer srv;
  LogCapture cap("json");
  auto c = srv.client();
  auto r = test::get(c, srv.a, "/v1/changes?since=&limit=5");
  CHECK(r.status == 200);
  auto missing = test::get(c, srv.a, "/v1/records/not-a-uuid");
  CHECK(missing.status >= 400);
  const std::string id = header_of(missing, "x-request-id");
  bool found = false;
  std::istringstream in(cap.once_it_has("\"request_id\":\"" + id + "\""));
  for (std::string line; std::getline(in, line);) {
    auto j = json::parse(line, nullptr, false);
    REQUIRE_MESSAGE(!j.is_discarded(), line);
    CHECK(j.contains("ts"));
    CHECK(j.contains("level"));
    if (j.value("request_id", "") != id) continue;
    found = true;
    CHECK(j["route"] == "/v1/records/{id}");
    CHECK(j["status"] == missing.status);
    CHECK(j["principal_kind"] == "device");
    CHECK(j["device"] == srv.a.actor);
    CHECK(j["method"] == "GET");
    CHECK(j.contains("bytes_in"));
    CHECK(j.contains("bytes_out"));
    CHECK(j.contains("ms"));
  }
  CHECK(found);
}

// Password change and reset, the command-line reset, team membership after creation, and a supervisor's
// cursor when the team's scope changes (SECURITY.md §4, §10; PROTOCOL §8.5, §9.10, §9.11).
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/feed.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"

using namespace akt;
using nlohmann::json;

namespace {

const std::string kPw = "correct horse battery";
const std::string kNew = "a much better passphrase";

client::HttpResult post(client::HttpClient& c, const std::string& target, const std::string& token, const json& body,
                        const std::string& method = "POST") {
  auto r = c.request(method, target, body.dump(), test::bearer(token));
  REQUIRE(r.ok());
  return *r;
}

int login_status(client::HttpClient& c, const std::string& user, const std::string& password) {
  auto r = c.request("POST", "/v1/login", json{{"username", user}, {"password", password}}.dump(),
                     {{"Content-Type", "application/json"}});
  REQUIRE(r.ok());
  return r->status;
}

std::string code_of(const client::HttpResult& r) { return json::parse(r.body, nullptr, false).value("code", ""); }

}  // namespace

TEST_CASE("passwords: a user changes their own password with the old one, other sessions end") {
  test::TestServer srv;
  srv.create_user("enis", "enumerator", kPw);
  auto c = srv.client();
  const std::string s1 = srv.login("enis", kPw);
  const std::string s2 = srv.login("enis", kPw);
  auto wrong = post(c, "/v1/me/password", s1, {{"old_password", "not it at all"}, {"new_password", kNew}});
  CHECK(wrong.status == 403);
  CHECK(code_of(wrong) == "wrong_password");
  auto weak = post(c, "/v1/me/password", s1, {{"old_password", kPw}, {"new_password", "short"}});
  CHECK(weak.status == 400);
  CHECK(code_of(weak) == "weak_password");
  auto missing = post(c, "/v1/me/password", s1, {{"new_password", kNew}});
  CHECK(missing.status == 400);
  CHECK(code_of(missing) == "invalid_password_change");
  CHECK(post(c, "/v1/me/password", s1, {{"old_password", kPw}, {"new_password", kNew}}).status == 204);
  CHECK(login_status(c, "enis", kPw) == 401);
  CHECK(login_status(c, "enis", kNew) == 200);
  CHECK(c.request("GET", "/v1/me", {}, test::bearer(s1))->status == 200);  // the session that changed it stays
  CHECK(c.request("GET", "/v1/me", {}, test::bearer(s2))->status == 401);  // the others end
  auto audit = c.request("GET", "/v1/admin/audit", {}, test::bearer(s1));
  CHECK(audit->status == 403);
}

TEST_CASE("passwords: an admin resets a password, or sets a one-time one, the user's sessions end, audited") {
  test::TestServer srv;
  srv.create_user("root", "admin", kPw);
  srv.create_user("enis", "enumerator", kPw);
  auto c = srv.client();
  const std::string admin = srv.login("root", kPw);
  const std::string enis = srv.login("enis", kPw);
  CHECK(post(c, "/v1/admin/users/enis/password", enis, {{"password", kNew}}).status == 403);
  CHECK(code_of(post(c, "/v1/admin/users/ghost/password", admin, {{"password", kNew}})) == "user_not_found");
  CHECK(code_of(post(c, "/v1/admin/users/enis/password", admin, {{"password", "short"}})) == "weak_password");
  CHECK(code_of(post(c, "/v1/admin/users/enis/password", admin, json::object())) == "invalid_password_reset");
  auto set = post(c, "/v1/admin/users/enis/password", admin, {{"password", kNew}});
  CHECK(set.status == 200);
  CHECK_FALSE(json::parse(set.body).contains("password"));
  CHECK(c.request("GET", "/v1/me", {}, test::bearer(enis))->status == 401);
  CHECK(login_status(c, "enis", kPw) == 401);
  CHECK(login_status(c, "enis", kNew) == 200);

  // A one-time password logs in once; that session can set the user's own password with it.
  auto once = post(c, "/v1/admin/users/enis/password", admin, {{"one_time", true}});
  REQUIRE(once.status == 200);
  const std::string otp = json::parse(once.body)["password"];
  auto first = c.request("POST", "/v1/login", json{{"username", "enis"}, {"password", otp}}.dump(),
                         {{"Content-Type", "application/json"}});
  REQUIRE(first->status == 200);
  CHECK(json::parse(first->body)["password_change_required"] == true);
  CHECK(login_status(c, "enis", otp) == 401);  // used
  const std::string session = json::parse(first->body)["token"];
  CHECK(post(c, "/v1/me/password", session, {{"old_password", otp}, {"new_password", kPw}}).status == 204);
  auto normal = c.request("POST", "/v1/login", json{{"username", "enis"}, {"password", kPw}}.dump(),
                          {{"Content-Type", "application/json"}});
  CHECK(json::parse(normal->body)["password_change_required"] == false);

  auto audit = json::parse(c.request("GET", "/v1/admin/audit", {}, test::bearer(admin))->body);
  int resets = 0, changes = 0;
  for (const auto& e : audit["entries"]) {
    if (e["action"] == "password_reset" && e["target"] == "enis" && e["username"] == "root") ++resets;
    if (e["action"] == "password_changed" && e["target"] == "enis") ++changes;
  }
  CHECK(resets == 2);
  CHECK(changes == 1);
}

TEST_CASE("passwords: aktsyncd --reset-password lets a locked-out admin in again") {
  test::TempDir dir;
  const std::string data = dir.file("data");
  {
    test::TestServer srv({}, data);
    srv.create_user("root", "admin", kPw);
  }
  std::ofstream(dir.file("pw")) << kNew << "\n";
  auto run = [&](const std::string& user) {
    const pid_t pid = fork();
    if (pid == 0) {
      execl(AKTSYNCD_PATH, "aktsyncd", "--data-dir", data.c_str(), "--reset-password", user.c_str(),
            "--password-file", dir.file("pw").c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  CHECK(run("ghost") == 3);
  CHECK(run("root") == 0);
  test::TestServer srv({}, data);
  auto c = srv.client();
  CHECK(login_status(c, "root", kPw) == 401);
  CHECK(login_status(c, "root", kNew) == 200);
}

TEST_CASE("teams: membership is editable after creation, and the supervisor's cursor resets with the team's scope") {
  test::TestServer srv;
  srv.create_user("root", "admin", kPw);
  srv.create_user("sara", "supervisor", kPw, {{"gracanice", "serb", "SO1", "*"}});
  srv.create_user("enis", "enumerator", kPw, {{"gracanice", "serb", "SO1", "*"}});
  auto c = srv.client();
  const std::string admin = srv.login("root", kPw);
  const test::Device sara = srv.enrol(admin, "sara", "tablet-sara");
  const test::Device enis = srv.enrol(admin, "enis", "tablet-enis");
  CHECK(code_of(post(c, "/v1/admin/users/enis/supervisor", admin, {{"supervisor", "enis"}}, "PUT")) ==
        "invalid_supervisor");
  CHECK(code_of(post(c, "/v1/admin/users/enis/supervisor", admin, {{"supervisor", "root"}}, "PUT")) ==
        "invalid_supervisor");

  auto before = test::pull_all(c, sara, "", 100);
  // Joining the team widens the supervisor's scope: her old cursor is answered 410 scope_changed.
  CHECK(post(c, "/v1/admin/users/enis/supervisor", admin, {{"supervisor", "sara"}}, "PUT").status == 200);
  auto stale = c.request("GET", "/v1/changes?since=" + before.cursor, {}, sara.auth());
  CHECK(stale->status == 410);
  CHECK(code_of(*stale) == "scope_changed");

  // A team member's assignments change: the supervisor's devices get scope_changed too.
  auto mid = test::pull_all(c, sara, "", 100);
  CHECK(post(c, "/v1/admin/users/enis/assignments", admin,
             {{"assignments", json::array({{{"municipality", "prizren"}}})}}, "PUT")
            .status == 200);
  auto stale2 = c.request("GET", "/v1/changes?since=" + mid.cursor, {}, sara.auth());
  CHECK(stale2->status == 410);
  CHECK(code_of(*stale2) == "scope_changed");

  // Leaving the team: null.
  auto last = test::pull_all(c, sara, "", 100);
  CHECK(post(c, "/v1/admin/users/enis/supervisor", admin, {{"supervisor", nullptr}}, "PUT").status == 200);
  CHECK(c.request("GET", "/v1/changes?since=" + last.cursor, {}, sara.auth())->status == 410);
  (void)enis;
}

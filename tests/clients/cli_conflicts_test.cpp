// `aktsync conflicts list|show|resolve` as a child process against a real in-process aktsyncd: two
// tablets diverge on a field, the admin lists, shows and resolves the entry from the terminal, and both
// tablets pull the resolution with the flag gone.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "tests/clients/client_support.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;

namespace {

test::Run aktsync(const test::TempDir& dir, const std::vector<std::string>& args) {
  return test::run_program(AKTSYNC_PATH, args, dir);
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("cli conflicts: an admin lists, shows and resolves an entry from the terminal") {
  test::TestServer srv;
  srv.create_user("root", "admin", "correct horse battery");
  srv.create_user("emma", "enumerator", "correct horse battery", {{"gracanice", "*", "*", "*"}});
  test::TempDir dir;
  const std::string a = dir.file("a.db"), b = dir.file("b.db"), server = "127.0.0.1:" + std::to_string(srv.port());
  const std::string pw = dir.file("pw");
  std::ofstream(pw) << "correct horse battery\n";
  const std::vector<std::string> as_root = {"--server", server, "--user", "root", "--password-file", pw};
  auto conflicts = [&](std::vector<std::string> args, const std::vector<std::string>& who) {
    args.insert(args.begin(), "conflicts");
    args.insert(args.end(), who.begin(), who.end());
    return aktsync(dir, args);
  };

  REQUIRE(aktsync(dir, {"--db", a, "init", "--server", server, "--actor", srv.a.actor, "--token", srv.a.token}).code == 0);
  REQUIRE(aktsync(dir, {"--db", b, "init", "--server", server, "--actor", srv.b.actor, "--token", srv.b.token}).code == 0);
  test::Run created = aktsync(dir, {"--db", a, "new", "--form", "so1_infra_monitoring", "--version", "1", "--municipality",
                                    "gracanice", "--community", "serb", "--component", "SO1", "--set", "pct_complete=60",
                                    "--set", "status=in_progress"});
  REQUIRE(created.code == 0);
  const std::string id = created.out.substr(0, 36);
  CHECK(has(conflicts({"list"}, as_root).out, "no entries"));
  REQUIRE(aktsync(dir, {"--db", a, "sync"}).code == 0);
  REQUIRE(aktsync(dir, {"--db", b, "sync"}).code == 0);
  REQUIRE(aktsync(dir, {"--db", a, "edit", id, "--set", "pct_complete=75"}).code == 0);
  REQUIRE(aktsync(dir, {"--db", b, "edit", id, "--set", "pct_complete=70"}).code == 0);
  REQUIRE(aktsync(dir, {"--db", a, "sync"}).code == 0);
  REQUIRE(aktsync(dir, {"--db", b, "sync"}).code == 0);

  test::Run listed = conflicts({"list"}, as_root);
  REQUIRE_MESSAGE(listed.code == 0, listed.err);
  CHECK(has(listed.out, "pct_complete"));
  CHECK(has(listed.out, id));
  const std::string entry = listed.out.substr(listed.out.find('\n') + 1, listed.out.find(' ', listed.out.find('\n') + 1) -
                                                                           listed.out.find('\n') - 1);
  test::Run shown = conflicts({"show", entry}, as_root);
  REQUIRE_MESSAGE(shown.code == 0, shown.err);
  CHECK(has(shown.out, "field pct_complete"));
  CHECK(has(shown.out, "ancestor:    60"));
  CHECK(has(shown.out, "[1] 75"));
  CHECK(has(shown.out, "[2] 70"));
  CHECK(has(shown.out, "seen: {"));

  // Clear errors: no choice, a candidate that does not exist, an enumerator, a wrong password, no server.
  CHECK(conflicts({"resolve", entry}, as_root).code == 2);
  CHECK(conflicts({"resolve", entry, "--pick", "3"}, as_root).code == 2);
  test::Run denied = conflicts({"list"}, {"--server", server, "--user", "emma", "--password-file", pw});
  CHECK(denied.code == 4);
  CHECK(has(denied.err, "forbidden"));
  const std::string bad_pw = dir.file("bad");
  std::ofstream(bad_pw) << "wrong\n";
  CHECK(conflicts({"list"}, {"--server", server, "--user", "root", "--password-file", bad_pw}).code == 4);
  CHECK(conflicts({"list"}, {"--server", "127.0.0.1:1", "--user", "root", "--password-file", pw}).code == 3);
  CHECK(conflicts({"list"}, {"--user", "root"}).code == 2);

  test::Run resolved = conflicts({"resolve", entry, "--pick", "2"}, as_root);
  REQUIRE_MESSAGE(resolved.code == 0, resolved.err);
  CHECK(has(resolved.out, "resolved entry " + entry));
  CHECK(has(conflicts({"list"}, as_root).out, "no entries"));
  CHECK(has(conflicts({"list", "--status", "resolved"}, as_root).out, "pct_complete"));
  CHECK(conflicts({"resolve", entry, "--pick", "1"}, as_root).code == 1);  // already resolved

  for (const std::string& db : {a, b}) {
    REQUIRE(aktsync(dir, {"--db", db, "sync"}).code == 0);
    test::Run st = aktsync(dir, {"--db", db, "show", id});
    CHECK(has(st.out, R"("pct_complete": 70)"));
    CHECK_FALSE(has(st.out, "CONFLICT"));
  }

  // With the form published, a tablet's change of an admin-only field is held; the admin rejects it.
  client::HttpClient http = srv.client();
  const std::string admin = srv.login("root", "correct horse battery");
  const std::vector<std::pair<std::string, std::string>> auth = {{"Authorization", "Bearer " + admin},
                                                                 {"Content-Type", "application/json"}};
  std::ifstream def(std::string(AKT_SOURCE_DIR) + "/schema/forms/programme/so1_infra_monitoring.json");
  const std::string definition((std::istreambuf_iterator<char>(def)), std::istreambuf_iterator<char>());
  REQUIRE(http.request("POST", "/v1/admin/forms", definition, auth)->status == 201);
  REQUIRE(http.request("POST", "/v1/admin/forms/so1_infra_monitoring/1/publish", "{}", auth)->status == 200);
  REQUIRE(aktsync(dir, {"--db", a, "edit", id, "--set", "grant_amount=25000"}).code == 0);
  REQUIRE(aktsync(dir, {"--db", a, "sync"}).code == 0);
  test::Run held = conflicts({"list", "--kind", "permission"}, as_root);
  REQUIRE(has(held.out, "grant_amount"));
  const std::string pid = held.out.substr(held.out.find('\n') + 1, held.out.find(' ', held.out.find('\n') + 1) -
                                                                      held.out.find('\n') - 1);
  CHECK(has(conflicts({"show", pid}, as_root).out, R"({"grant_amount":25000})"));
  CHECK(conflicts({"resolve", pid, "--action", "restore"}, as_root).code == 2);
  test::Run rejected = conflicts({"resolve", pid, "--action", "reject"}, as_root);
  REQUIRE_MESSAGE(rejected.code == 0, rejected.err);
  CHECK(has(conflicts({"list"}, as_root).out, "no entries"));
  REQUIRE(aktsync(dir, {"--db", a, "sync"}).code == 0);
  CHECK_FALSE(has(aktsync(dir, {"--db", a, "show", id}).out, "25000"));
}

TEST_CASE("cli export: an M&E officer exports a dataset incrementally with a cursor file, and the indicators") {
  test::TestServer srv;
  srv.create_user("root", "admin", "correct horse battery");
  srv.create_user("mira", "me_officer", "correct horse battery");
  srv.create_user("emma", "enumerator", "correct horse battery", {{"gracanice", "*", "*", "*"}});
  test::TempDir dir;
  const std::string a = dir.file("a.db"), server = "127.0.0.1:" + std::to_string(srv.port());
  const std::string pw = dir.file("pw"), cursor = dir.file("cursor"), out = dir.file("out.jsonl");
  std::ofstream(pw) << "correct horse battery\n";
  client::HttpClient http = srv.client();
  const std::vector<std::pair<std::string, std::string>> auth = {
      {"Authorization", "Bearer " + srv.login("root", "correct horse battery")}, {"Content-Type", "application/json"}};
  std::ifstream def(std::string(AKT_SOURCE_DIR) + "/schema/forms/programme/so1_infra_monitoring.json");
  const std::string definition((std::istreambuf_iterator<char>(def)), std::istreambuf_iterator<char>());
  REQUIRE(http.request("POST", "/v1/admin/forms", definition, auth)->status == 201);
  REQUIRE(http.request("POST", "/v1/admin/forms/so1_infra_monitoring/1/publish", "{}", auth)->status == 200);

  REQUIRE(aktsync(dir, {"--db", a, "init", "--server", server, "--actor", srv.a.actor, "--token", srv.a.token}).code == 0);
  std::vector<std::string> ids;
  for (const char* pct : {"10", "20", "30"}) {
    test::Run r = aktsync(dir, {"--db", a, "new", "--form", "so1_infra_monitoring", "--version", "1", "--municipality",
                                "gracanice", "--community", "serb", "--component", "SO1", "--set",
                                std::string("pct_complete=") + pct, "--set", "status=in_progress"});
    REQUIRE(r.code == 0);
    ids.push_back(r.out.substr(0, 36));
  }
  REQUIRE(aktsync(dir, {"--db", a, "sync"}).code == 0);
  const std::vector<std::string> as_me = {"--server", server, "--user", "mira", "--password-file", pw};
  auto run = [&](std::vector<std::string> args, const std::vector<std::string>& who) {
    args.insert(args.end(), who.begin(), who.end());
    return aktsync(dir, args);
  };
  auto slurp = [](const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  test::Run first = run({"export", "so1_infra_monitoring", "--format", "jsonl", "--cursor-file", cursor, "--out", out}, as_me);
  REQUIRE_MESSAGE(first.code == 0, first.err);
  CHECK(has(first.err, "next cursor: "));
  std::string csv = slurp(out);
  for (const std::string& id : ids) CHECK(has(csv, id));
  const std::string saved = slurp(cursor);
  CHECK(saved.size() > 2);

  // One record changes, one is deleted: the next export from the cursor file has exactly those two.
  REQUIRE(aktsync(dir, {"--db", a, "edit", ids[0], "--set", "pct_complete=15"}).code == 0);
  REQUIRE(aktsync(dir, {"--db", a, "delete", ids[1]}).code == 0);
  REQUIRE(aktsync(dir, {"--db", a, "sync"}).code == 0);
  test::Run second = run({"export", "so1_infra_monitoring", "--format", "jsonl", "--cursor-file", cursor}, as_me);
  REQUIRE_MESSAGE(second.code == 0, second.err);
  CHECK(has(second.out, ids[0]));
  CHECK(has(second.out, ids[1]));
  CHECK_FALSE(has(second.out, ids[2]));
  CHECK(slurp(cursor) != saved);
  test::Run third = run({"export", "so1_infra_monitoring", "--format", "jsonl", "--cursor-file", cursor}, as_me);
  CHECK(third.code == 0);
  CHECK_FALSE(has(third.out, ids[0]));

  // Clear errors: XLSX to a terminal, an unknown form, a bad option, an enumerator.
  CHECK(run({"export", "so1_infra_monitoring", "--format", "xlsx"}, as_me).code == 2);
  CHECK(run({"export", "so1_infra_monitoring"}, as_me).code == 2);  // CSV of a form with repeats is a ZIP
  test::Run unknown = run({"export", "no_such_form"}, as_me);
  CHECK(unknown.code == 1);
  CHECK(has(unknown.err, "form_not_found"));
  CHECK(has(run({"export", "so1_infra_monitoring", "--conflicts", "maybe"}, as_me).err, "invalid_option"));
  CHECK(run({"export", "so1_infra_monitoring"}, {"--server", server, "--user", "emma", "--password-file", pw}).code == 4);
  test::Run xlsx = run({"export", "so1_infra_monitoring", "--format", "xlsx", "--out", dir.file("x.xlsx")}, as_me);
  CHECK(xlsx.code == 0);
  CHECK(slurp(dir.file("x.xlsx")).rfind("PK", 0) == 0);

  test::Run ind = run({"indicators"}, as_me);
  REQUIRE_MESSAGE(ind.code == 0, ind.err);
  CHECK(has(ind.out, "\"cells\""));
  CHECK(has(run({"indicators", "--format", "csv"}, as_me).out, "indicator"));
}

TEST_CASE("cli conflicts: a duplicate household is shown as records and one is excluded") {
  test::TestServer srv({}, {}, false, true);
  srv.create_user("root", "admin", "correct horse battery");
  test::TempDir dir;
  const std::string server = "127.0.0.1:" + std::to_string(srv.port()), pw = dir.file("pw");
  std::ofstream(pw) << "correct horse battery\n";
  const std::vector<std::string> as_root = {"--server", server, "--user", "root", "--password-file", pw};
  client::HttpClient http = srv.client();
  const std::vector<std::pair<std::string, std::string>> auth = {
      {"Authorization", "Bearer " + srv.login("root", "correct horse battery")}, {"Content-Type", "application/json"}};
  auto slurp = [](const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  REQUIRE(http.request("POST", "/v1/admin/forms",
                       slurp(std::string(AKT_SOURCE_DIR) + "/schema/forms/programme/so1_interethnic_survey.json"), auth)
              ->status == 201);
  REQUIRE(http.request("POST", "/v1/admin/forms/so1_interethnic_survey/1/publish", "{}", auth)->status == 200);
  const std::string body = slurp(std::string(AKT_SOURCE_DIR) + "/tests/schema/fixtures/so1_interethnic_survey.valid.json");
  std::vector<std::string> ids;
  for (int i = 1; i <= 2; ++i) {
    const test::Device& dev = i == 1 ? srv.a : srv.b;
    sync::Edit e = test::make_edit(test::uuid7(1700000000000 + i, i), dev.actor, 1, {},
                                   nlohmann::json::parse(body).dump());
    e.form_id = "so1_interethnic_survey";
    REQUIRE(test::push(http, dev, {"dup" + std::to_string(i), {e}}).status == 200);
    ids.push_back(e.record_id);
  }
  test::Run listed = aktsync(dir, {"conflicts", "list", "--kind", "duplicate_candidate", "--server", server, "--user",
                                   "root", "--password-file", pw});
  REQUIRE_MESSAGE(listed.code == 0, listed.err);
  const std::size_t nl = listed.out.find('\n') + 1;
  const std::string entry = listed.out.substr(nl, listed.out.find(' ', nl) - nl);
  std::vector<std::string> show_args = {"conflicts", "show", entry};
  show_args.insert(show_args.end(), as_root.begin(), as_root.end());
  test::Run shown = aktsync(dir, show_args);
  REQUIRE_MESSAGE(shown.code == 0, shown.err);
  CHECK(has(shown.out, "records with the same key"));
  CHECK(has(shown.out, "[2] record " + ids[1]));
  std::vector<std::string> resolve_args = {"conflicts", "resolve", entry, "--action", "exclude", "--pick", "2"};
  resolve_args.insert(resolve_args.end(), as_root.begin(), as_root.end());
  test::Run resolved = aktsync(dir, resolve_args);
  REQUIRE_MESSAGE(resolved.code == 0, resolved.err);
  auto rec = test::get(http, srv.a, "/v1/records/" + ids[1]);
  CHECK(nlohmann::json::parse(rec.body)["live"][0]["body"]["review_status"] == "excluded_duplicate");
}

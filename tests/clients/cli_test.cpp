// The aktsync binary, run as a child process against a real in-process aktsyncd: the offline edit
// -> sync -> conflict story, the export formats, and the exit codes of each failure.
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/clients/client_support.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;

namespace {

// Runs aktsync with `args`.
test::Run aktsync(const test::TempDir& dir, const std::vector<std::string>& args) {
  return test::run_program(AKTSYNC_PATH, args, dir);
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("cli: --help lines are aligned") {
  test::TempDir dir;
  test::Run help = aktsync(dir, {"--help"});
  REQUIRE(help.code == 0);
  std::istringstream lines(help.out);
  std::string line;
  bool in_commands = false;
  while (std::getline(lines, line)) {
    if (line == "commands:") in_commands = true;
    else if (line.empty() || line.rfind("exit codes", 0) == 0) in_commands = false;
    else if (in_commands) {
      // Synopses start at column 2, descriptions at column 6; nothing starts further left.
      CHECK_MESSAGE(line.rfind("  ", 0) == 0, line);
      CHECK_MESSAGE(line.rfind("  aktsync", 0) != 0, line);
      if (line.size() > 4 && line[2] == ' ' && line[3] == ' ' && line[4] != ' ' && line[4] != '[')
        CHECK_MESSAGE(line.rfind("      ", 0) == 0, line);
    }
  }
}

TEST_CASE("cli: offline edits, sync, a conflict on both tablets, export") {
  test::TestServer srv;
  test::TempDir dir;
  const std::string a = dir.file("a.db"), b = dir.file("b.db"), server = "127.0.0.1:" + std::to_string(srv.port());
  CHECK(aktsync(dir, {"--help"}).code == 0);
  CHECK(has(aktsync(dir, {"sync", "--help"}).out, "usage: aktsync"));
  REQUIRE(aktsync(dir, {"--db", a, "init", "--server", server, "--actor", srv.a.actor, "--token", srv.a.token}).code == 0);
  REQUIRE(aktsync(dir, {"--db", b, "init", "--server", server, "--actor", srv.b.actor, "--token", srv.b.token}).code == 0);

  test::Run created = aktsync(dir, {"--db", a, "new", "--form", "so1_infra_monitoring", "--version", "1", "--municipality",
                              "gracanice", "--community", "serb", "--component", "SO1", "--set", "pct_complete=60",
                              "--set", "status=in_progress"});
  REQUIRE(created.code == 0);
  const std::string id = created.out.substr(0, 36);
  CHECK(has(aktsync(dir, {"--db", a, "status"}).out, "unsynced   1"));
  test::Run sa = aktsync(dir, {"--db", a, "sync"});
  REQUIRE_MESSAGE(sa.code == 0, sa.err);
  CHECK(has(sa.out, "pushed     1"));
  CHECK(has(sa.out, "applied    1"));
  test::Run sb = aktsync(dir, {"--db", b, "sync"});
  REQUIRE(sb.code == 0);
  CHECK(has(sb.out, "pulled     1"));
  CHECK(has(aktsync(dir, {"--db", b, "show", id}).out, R"("pct_complete": 60)"));

  REQUIRE(aktsync(dir, {"--db", a, "edit", id, "--set", "pct_complete=75"}).code == 0);
  REQUIRE(aktsync(dir, {"--db", b, "edit", id, "--set", "pct_complete=70"}).code == 0);
  REQUIRE(aktsync(dir, {"--db", a, "sync"}).code == 0);
  test::Run sb2 = aktsync(dir, {"--db", b, "sync"});
  REQUIRE(sb2.code == 0);
  CHECK(has(sb2.out, "conflicts  1"));
  REQUIRE(aktsync(dir, {"--db", a, "sync"}).code == 0);
  for (const std::string& db : {a, b}) {
    CHECK(has(aktsync(dir, {"--db", db, "show", id}).out, "CONFLICT"));
    CHECK(has(aktsync(dir, {"--db", db, "list"}).out, "CONFLICT"));
    test::Run st = aktsync(dir, {"--db", db, "status"});
    CHECK(has(st.out, "conflicts  1"));
    CHECK(has(st.out, "unsynced   0"));
    CHECK_FALSE(has(st.out, "last sync  never"));
  }
  test::Run csv = aktsync(dir, {"--db", b, "pull", "--format", "csv"});
  REQUIRE(csv.code == 0);
  CHECK(has(csv.out, "record,form,form_version,municipality,community,component,deleted,conflict,unsynced,"));
  CHECK(has(csv.out, id + ",so1_infra_monitoring,1,gracanice,serb,SO1,0,1,0,"));
  test::Run jsonl = aktsync(dir, {"--db", b, "pull", "--format", "jsonl"});
  CHECK(has(jsonl.out, R"("conflict":true)"));
  CHECK(has(jsonl.out, R"("versions":[)"));

  REQUIRE(aktsync(dir, {"--db", a, "delete", id}).code == 0);
  REQUIRE(aktsync(dir, {"--db", a, "sync"}).code == 0);
  REQUIRE(aktsync(dir, {"--db", b, "sync"}).code == 0);
}

TEST_CASE("cli: clear errors and exit codes") {
  test::TestServer srv;
  test::TempDir dir;
  const std::string server = "127.0.0.1:" + std::to_string(srv.port());
  const std::string db = dir.file("x.db");
  const std::vector<std::string> new_record{"new", "--form", "so1_infra_monitoring", "--version", "1", "--municipality",
                                            "gracanice", "--community", "serb", "--component", "SO1", "--set", "x=1"};
  auto with_db = [](const std::string& file, std::vector<std::string> args) {
    args.insert(args.begin(), {"--db", file});
    return args;
  };
  SUBCASE("usage") {
    CHECK(aktsync(dir, {"frobnicate"}).code == 2);
    CHECK(aktsync(dir, {"--db", db, "list"}).code == 1);  // not initialised
    REQUIRE(aktsync(dir, {"--db", db, "init", "--server", server, "--actor", srv.a.actor, "--token", "t"}).code == 0);
    CHECK(aktsync(dir, {"--db", db, "init", "--server", server, "--actor", srv.a.actor, "--token", "t"}).code == 1);
    CHECK(aktsync(dir, {"--db", db, "new", "--form", "f"}).code == 2);
    CHECK(aktsync(dir, {"--db", db, "list", "--colour", "red"}).code == 2);
    test::Run missing = aktsync(dir, {"--db", db, "show", "0190f5c2-7a1e-7cc0-9a4b-000000000001"});
    CHECK(missing.code == 1);
    CHECK(has(missing.err, "no record"));
    CHECK(aktsync(dir, {"--db", db, "pull", "--format", "xml"}).code == 2);
  }
  SUBCASE("token rejected: 401") {
    REQUIRE(aktsync(dir, {"--db", db, "init", "--server", server, "--actor", srv.a.actor, "--token", "wrong"}).code == 0);
    REQUIRE(aktsync(dir, with_db(db, new_record)).code == 0);
    test::Run r = aktsync(dir, {"--db", db, "sync"});
    CHECK(r.code == 4);
    CHECK(has(r.err, "token"));
  }
  SUBCASE("server unreachable") {
    REQUIRE(aktsync(dir, {"--db", db, "init", "--server", "127.0.0.1:1", "--actor", srv.a.actor, "--token", "t"}).code == 0);
    test::Run r = aktsync(dir, {"--db", db, "sync", "--attempts", "1"});
    CHECK(r.code == 3);
    CHECK(has(r.err, "unreachable"));
  }
  SUBCASE("record rejected, and why") {
    const std::string first = dir.file("first.db");
    REQUIRE(aktsync(dir, {"--db", first, "init", "--server", server, "--actor", srv.a.actor, "--token", srv.a.token}).code == 0);
    REQUIRE(aktsync(dir, with_db(first, new_record)).code == 0);
    REQUIRE(aktsync(dir, {"--db", first, "sync"}).code == 0);
    // A second database with the same actor (a restored backup): its first dot is already taken.
    REQUIRE(aktsync(dir, {"--db", db, "init", "--server", server, "--actor", srv.a.actor, "--token", srv.a.token}).code == 0);
    REQUIRE(aktsync(dir, with_db(db, new_record)).code == 0);
    test::Run r = aktsync(dir, {"--db", db, "sync"});
    CHECK(r.code == 5);
    CHECK(has(r.err, "dot_reuse"));
    CHECK(has(aktsync(dir, {"--db", db, "rejected"}).out, "dot_reuse"));
    CHECK(has(aktsync(dir, {"--db", db, "status"}).out, "rejected   1"));
  }
}

TEST_CASE("cli: sync over TLS with a private CA") {
  test::TestServer srv(server::Limits{}, {}, /*tls=*/true);
  test::TempDir dir;
  const std::string db = dir.file("t.db"), server = "https://127.0.0.1:" + std::to_string(srv.port());
  REQUIRE(aktsync(dir, {"--db", db, "init", "--server", server, "--actor", srv.a.actor, "--token", srv.a.token}).code == 0);
  REQUIRE(aktsync(dir, {"--db", db, "new", "--form", "so1_infra_monitoring", "--version", "1", "--municipality",
                        "gracanice", "--community", "serb", "--component", "SO1", "--body", R"({"pct_complete":10})"})
              .code == 0);
  // Without the CA the certificate cannot be verified: nothing is sent, at once (no retries), and the
  // message says why and what to do.
  test::Run untrusted = aktsync(dir, {"--db", db, "sync"});
  CHECK(untrusted.code == 7);
  CHECK_MESSAGE(has(untrusted.err, "not signed by a trusted CA"), untrusted.err);
  CHECK(has(untrusted.err, "--ca"));
  CHECK_FALSE(has(untrusted.err, "unreachable"));
  CHECK(has(untrusted.out, "sent       0 B in 0 request(s)"));  // the summary, also on failure
  CHECK(has(untrusted.out, "unsynced   1"));
  test::Run ok = aktsync(dir, {"--db", db, "sync", "--ca", srv.cert_file()});
  CHECK_MESSAGE(ok.code == 0, ok.err);
  CHECK(has(ok.out, "pushed     1"));
  // --ca given at init is kept: sync needs it no more.
  const std::string kept = dir.file("kept.db");
  REQUIRE(aktsync(dir, {"--db", kept, "init", "--server", server, "--actor", srv.b.actor, "--token", srv.b.token,
                        "--ca", srv.cert_file()})
              .code == 0);
  test::Run again = aktsync(dir, {"--db", kept, "sync"});
  CHECK_MESSAGE(again.code == 0, again.err);
  CHECK(has(again.out, "pulled     1"));
  // The wrong scheme says what is wrong, both ways.
  const std::string plain_db = dir.file("plain.db");
  REQUIRE(aktsync(dir, {"--db", plain_db, "init", "--server", "127.0.0.1:" + std::to_string(srv.port()), "--actor",
                        srv.b.actor, "--token", srv.b.token})
              .code == 0);
  test::Run plain = aktsync(dir, {"--db", plain_db, "sync"});
  CHECK(plain.code == 7);
  CHECK_MESSAGE(has(plain.err, "https://"), plain.err);
  test::TestServer http_srv;
  const std::string tls_db = dir.file("tls.db");
  REQUIRE(aktsync(dir, {"--db", tls_db, "init", "--server", "https://127.0.0.1:" + std::to_string(http_srv.port()),
                        "--actor", http_srv.b.actor, "--token", http_srv.b.token})
              .code == 0);
  test::Run tls = aktsync(dir, {"--db", tls_db, "sync"});
  CHECK(tls.code == 7);
  CHECK_MESSAGE(has(tls.err, "plain HTTP"), tls.err);
}

TEST_CASE("cli: a failed init leaves no database file behind") {
  test::TempDir dir;
  const std::string db = dir.file("never.db");
  test::Run down = aktsync(dir, {"--db", db, "init", "--server", "127.0.0.1:1", "--code", "x"});
  CHECK(down.code == 3);
  CHECK_FALSE(std::filesystem::exists(db));
  test::Run bad = aktsync(dir, {"--db", db, "init", "--server", "nowhere", "--actor", "a", "--token", "t"});
  CHECK(bad.code == 2);
  CHECK_FALSE(std::filesystem::exists(db));
}

TEST_CASE("cli: init with an enrolment code, and the errors of enrolment") {
  test::TestServer srv;
  test::TempDir dir;
  srv.create_user("cliadmin", "admin", "cli-admin-password-1");
  srv.create_user("enis", "enumerator", "enis-password-12345", {sync::Assignment{}});
  srv.create_user("vera", "enumerator", "vera-password-12345", {sync::Assignment{}});
  const std::string admin = srv.login("cliadmin", "cli-admin-password-1");
  auto http = srv.client();
  auto issue = [&](const std::string& device, const std::string& user = "enis") {
    auto r = http.request("POST", "/v1/admin/enrolments",
                          R"({"username":")" + user + R"(","device_name":")" + device + R"("})",
                          {{"Authorization", "Bearer " + admin}, {"Content-Type", "application/json"}});
    REQUIRE(r.ok());
    REQUIRE(r->status == 201);
    const auto at = r->body.find("\"code\":\"");
    REQUIRE(at != std::string::npos);
    return r->body.substr(at + 8, 19);
  };
  const std::string server = "127.0.0.1:" + std::to_string(srv.port());
  const std::string db = dir.file("e.db"), code = issue("tablet-enis");
  CHECK(has(aktsync(dir, {"init", "--help"}).out, "--code ENROLMENT-CODE"));
  const std::string actor = "0190f5c2-7a1e-4cc0-9a4b-2f1e3d4c5b6a";  // the tablet's own, chosen at install
  test::Run init = aktsync(dir, {"--db", db, "init", "--server", server, "--code", code, "--actor", actor});
  REQUIRE_MESSAGE(init.code == 0, init.err);
  CHECK(has(init.out, actor));
  CHECK(has(init.out, "user enis, enumerator"));
  CHECK(has(aktsync(dir, {"--db", db, "status"}).out, "actor      "));
  // The enrolled device works: a record goes up.
  REQUIRE(aktsync(dir, {"--db", db, "new", "--form", "so1_infra_monitoring", "--version", "1", "--municipality",
                        "gracanice", "--community", "serb", "--component", "SO1", "--set", "pct_complete=5"})
              .code == 0);
  test::Run s = aktsync(dir, {"--db", db, "sync"});
  CHECK_MESSAGE(s.code == 0, s.err);
  CHECK(has(s.out, "applied    1"));
  // Errors.
  SUBCASE("a used code") {
    test::Run again = aktsync(dir, {"--db", dir.file("f.db"), "init", "--server", server, "--code", code});
    CHECK(again.code == 4);
    CHECK(has(again.err, "ask an admin for a new one"));
  }
  SUBCASE("re-enrolment after the token ended keeps the actor and the unsynced edits") {
    REQUIRE(http.request("POST", "/v1/admin/devices/" + actor + "/revoke", "{}",
                         {{"Authorization", "Bearer " + admin}, {"Content-Type", "application/json"}})
                ->status == 200);
    REQUIRE(aktsync(dir, {"--db", db, "new", "--form", "so1_infra_monitoring", "--version", "1", "--municipality",
                          "gracanice", "--community", "serb", "--component", "SO1", "--set", "pct_complete=7"})
                .code == 0);
    CHECK(aktsync(dir, {"--db", db, "sync", "--attempts", "1"}).code == 4);
    CHECK(aktsync(dir, {"--db", db, "reenrol"}).code == 2);
    test::Run other = aktsync(dir, {"--db", db, "reenrol", "--code", issue("t5", "vera")});
    CHECK(other.code == 1);
    test::Run re = aktsync(dir, {"--db", db, "reenrol", "--code", issue("t4")});
    REQUIRE_MESSAGE(re.code == 0, re.err);
    CHECK(has(re.out, actor));
    test::Run after = aktsync(dir, {"--db", db, "sync"});
    CHECK_MESSAGE(after.code == 0, after.err);
    CHECK(has(after.out, "applied    1"));
    CHECK(has(aktsync(dir, {"--db", db, "status"}).out, "unsynced   0"));
  }
  SUBCASE("an actor already registered to another user") {
    test::Run taken = aktsync(dir, {"--db", dir.file("g.db"), "init", "--server", server, "--code", issue("t2", "vera"),
                                    "--actor", actor});
    CHECK(taken.code == 1);
    CHECK(has(taken.err, "already registered"));
  }
  SUBCASE("usage and unreachable") {
    CHECK(aktsync(dir, {"--db", dir.file("h.db"), "init", "--server", server}).code == 2);
    CHECK(aktsync(dir, {"--db", dir.file("h.db"), "init", "--server", server, "--code", "x", "--token", "t"}).code == 2);
    CHECK(aktsync(dir, {"--db", dir.file("h.db"), "init", "--server", server, "--code", "x", "--actor", "nope"}).code == 2);
    test::Run down = aktsync(dir, {"--db", dir.file("h.db"), "init", "--server", "127.0.0.1:1", "--code", "x"});
    CHECK(down.code == 3);
    CHECK(has(down.err, "unreachable"));
    test::Run twice = aktsync(dir, {"--db", db, "init", "--server", server, "--code", issue("t3")});
    CHECK(twice.code == 1);
    CHECK(has(twice.err, "already is a device"));
  }
}

TEST_CASE("cli: show --lang prints the record by its labels in en, sq, sr and sr-Latn") {
  test::TempDir dir;
  const std::string db = dir.file("l.db");
  REQUIRE(aktsync(dir, {"--db", db, "init", "--server", "127.0.0.1:1", "--actor", "0190f5c2-7a1e-7cc0-9a4b-2f1e3d4c5b6a",
                        "--token", "t"}).code == 0);
  test::Run created = aktsync(dir, {"--db", db, "new", "--form", "so1_infra_monitoring", "--version", "1",
                                    "--municipality", "gracanice", "--community", "serb", "--component", "SO1",
                                    "--set", "pct_complete=60", "--set", "status=in_progress",
                                    "--set", R"(target_communities=["serb","roma"])", "--set", "x_unknown=7"});
  REQUIRE(created.code == 0);
  const std::string id = created.out.substr(0, 36);
  auto show = [&](const std::string& lang) {
    test::Run r = aktsync(dir, {"--db", db, "show", id, "--lang", lang});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    return r.out;
  };
  const std::string en = show("en"), sq = show("sq"), sr = show("sr"), latn = show("sr-Latn");
  CHECK(has(en, "Current status: In progress"));
  CHECK(has(en, "Physical completion (%): 60"));
  CHECK(has(sq, "Statusi aktual: Në vazhdim"));
  CHECK(has(sq, "Përfundimi fizik (%): 60"));
  CHECK(has(sr, "Тренутни статус: У току"));
  CHECK(has(sr, "Физичка завршеност (%): 60"));
  CHECK(has(latn, "Trenutni status: U toku"));
  CHECK(has(latn, "Fizička završenost (%): 60"));
  // A multi-select by its choices' labels, the scope by its names, the form by its title; unknown keys as they are.
  CHECK(has(sr, "Заједнице којима је пројекат намењен: Српска заједница; Ромска заједница"));
  CHECK(has(sq, "scope    Graçanicë / "));
  CHECK(has(sr, "scope    Грачаница / "));
  CHECK(has(latn, "scope    Gračanica / "));
  CHECK(has(sq, "(so1_infra_monitoring v1)"));
  CHECK(has(sr, "x_unknown: 7"));
  CHECK_FALSE(has(sr, "\"status\""));  // no JSON body
  // Without --lang: as before (the JSON body).
  CHECK(has(aktsync(dir, {"--db", db, "show", id}).out, R"("status": "in_progress")"));
  // Exact tags only.
  CHECK(aktsync(dir, {"--db", db, "show", id, "--lang", "fr"}).code == 2);
  CHECK(aktsync(dir, {"--db", db, "show", id, "--lang", "sr-latn"}).code == 2);
  // A definition file that cannot be read is an error.
  test::Run missing = aktsync(dir, {"--db", db, "show", id, "--lang", "sq", "--form", dir.file("none.json")});
  CHECK(missing.code == 1);
  // list --lang: the form by its title, the scope by its names; state words stay English.
  auto list = [&](const std::string& lang) {
    test::Run r = aktsync(dir, {"--db", db, "list", "--lang", lang});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    return r.out;
  };
  const std::string list_sq = list("sq"), list_sr = list("sr"), list_latn = list("sr-Latn");
  CHECK(has(list_sq, id + "  "));
  CHECK(has(list_sq, "(so1_infra_monitoring v1)  Graçanicë / "));
  CHECK(has(list_sr, "(so1_infra_monitoring v1)  Грачаница / "));
  CHECK(has(list_latn, "(so1_infra_monitoring v1)  Gračanica / "));
  CHECK(has(list_sq, "active unsynced"));
  CHECK_FALSE(has(list_sq, "gracanice/serb"));
  CHECK(has(aktsync(dir, {"--db", db, "list"}).out, "so1_infra_monitoring v1  gracanice/serb/SO1  active unsynced"));
  CHECK(aktsync(dir, {"--db", db, "list", "--lang", "fr"}).code == 2);
}

TEST_CASE("cli: sync and rejected show the server's reason for every field") {
  test::TestServer srv({}, {}, false, /*validate_forms=*/true);
  srv.create_user("root", "admin", "correct horse battery");
  test::TempDir dir;
  auto slurp = [](const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  client::HttpClient http = srv.client();
  const auto auth = test::bearer(srv.login("root", "correct horse battery"));
  REQUIRE(http.request("POST", "/v1/admin/forms",
                       slurp(std::string(AKT_SOURCE_DIR) + "/schema/forms/programme/so1_interethnic_survey.json"), auth)
              ->status == 201);
  REQUIRE(http.request("POST", "/v1/admin/forms/so1_interethnic_survey/1/publish", "{}", auth)->status == 200);
  auto body = nlohmann::json::parse(slurp(std::string(AKT_SOURCE_DIR) + "/tests/schema/fixtures/so1_interethnic_survey.valid.json"));
  body["hh_number"] = 5000;  // out of range
  body.erase("resp_gender");  // required
  const std::string db = dir.file("t.db");
  REQUIRE(aktsync(dir, {"--db", db, "init", "--server", "127.0.0.1:" + std::to_string(srv.port()), "--actor",
                        srv.a.actor, "--token", srv.a.token})
              .code == 0);
  REQUIRE(aktsync(dir, {"--db", db, "new", "--form", "so1_interethnic_survey", "--version", "1", "--municipality",
                        "gracanice", "--community", "serb", "--component", "SO1", "--body", body.dump()})
              .code == 0);
  test::Run s = aktsync(dir, {"--db", db, "sync"});
  CHECK(s.code == 5);
  CHECK_MESSAGE(has(s.err, "invalid_record"), s.err);
  CHECK_MESSAGE(has(s.err, "hh_number: range"), s.err);
  CHECK(has(s.err, "resp_gender: required"));
  test::Run listed = aktsync(dir, {"--db", db, "rejected"});
  CHECK(has(listed.out, "    hh_number: range"));
  CHECK(has(listed.out, "    resp_gender: required"));
  test::Run js = aktsync(dir, {"--db", db, "rejected", "--json"});
  REQUIRE(js.code == 0);
  auto j = nlohmann::json::parse(js.out, nullptr, false);
  REQUIRE(j.is_array());
  REQUIRE(j.size() == 1);
  CHECK(j[0]["code"] == "invalid_record");
  std::set<std::string> paths;
  for (const auto& f : j[0]["fields"]) paths.insert(f["path"].get<std::string>());
  CHECK(paths.count("hh_number") == 1);
  CHECK(paths.count("resp_gender") == 1);
}

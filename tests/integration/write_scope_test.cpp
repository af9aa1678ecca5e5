// Write scope and redaction over loopback, each promise checked where a single broken line would show:
// an existing record's scope guards it against takeover; a record keeps its form; every member of an
// assignment (municipality, community, component, form) bounds a push; a supervisor writes and reads their
// team's scope; M&E officers get redacted values from GET /v1/records/{id}, nothing for a form without a
// definition, and the strictest class any version of the form gives a field.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "sync/wire_json.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"

using namespace akt;
using nlohmann::json;

namespace {

const std::string kPw = "correct horse battery";

using test::bearer;

sync::Edit edit_at(const test::Device& d, std::int64_t n, const std::string& record, const sync::Scope& scope,
                   const std::string& form = "t_form", const sync::VectorClock& context = {},
                   const std::string& body = R"({"x":1})") {
  sync::Edit e = test::make_edit(record, d.actor, n, context, body, {"x"});
  e.scope = scope;
  e.form_id = form;
  return e;
}

// The one result of a one-edit push.
sync::EditResult push_one(client::HttpClient& c, const test::Device& d, const std::string& batch, const sync::Edit& e) {
  auto r = test::push(c, d, {batch, {e}});
  REQUIRE_MESSAGE(r.status == 200, r.body);
  auto resp = sync::decode_push_response(r.body);
  REQUIRE(resp.ok());
  REQUIRE(resp->results.size() == 1);
  return resp->results[0];
}

// The record's state as an admin reads it.
json record_as(client::HttpClient& c, const std::string& token, const std::string& id) {
  auto r = c.request("GET", "/v1/records/" + id, {}, bearer(token));
  REQUIRE(r.ok());
  REQUIRE_MESSAGE(r->status == 200, r->body);
  return json::parse(r->body);
}

// An admin, an M&E officer with a device, and an enumerator scoped to one assignment.
struct ScopeWorld {
  test::TestServer srv;
  client::HttpClient c = srv.client();
  std::string admin;
  test::Device me;
  ScopeWorld() {
    srv.create_user("root", "admin", kPw);
    srv.create_user("mira", "me_officer", kPw);
    admin = srv.login("root", kPw);
    me = srv.enrol(admin, "mira", "tablet-mira");
  }
  test::Device enumerator(const std::string& name, const std::vector<sync::Assignment>& scope,
                          const std::string& supervisor = {}) {
    srv.create_user(name, "enumerator", kPw, scope, supervisor);
    return srv.enrol(admin, name, "tablet-" + name);
  }
};

const sync::Scope kGracanica{"gracanice", "serb", "SO1"};
const sync::Scope kPrizren{"prizren", "serb", "SO1"};

}  // namespace

TEST_CASE("write scope: an enumerator cannot take over an out-of-scope record by sending an in-scope scope") {
  ScopeWorld w;
  const test::Device enis = w.enumerator("enis", {{"gracanice", "serb", "SO1", "*"}});
  const std::string rec = test::uuid7(1700000000001, 1);
  sync::Edit created = edit_at(w.me, 1, rec, kPrizren);
  REQUIRE(push_one(w.c, w.me, "m1", created).outcome == sync::Outcome::kApplied);
  // The edit names Gračanica (inside enis's scope) for a record that lives in Prizren (outside it).
  sync::Edit takeover = edit_at(enis, 1, rec, kGracanica, "t_form", created.clock(), R"({"x":666})");
  const sync::EditResult r = push_one(w.c, enis, "e1", takeover);
  CHECK(r.outcome == sync::Outcome::kRejected);
  CHECK(r.error_code == "out_of_scope");
  const json state = record_as(w.c, w.admin, rec);
  CHECK(state["scope"]["municipality"] == "prizren");
  REQUIRE(state["live"].size() == 1);
  CHECK(state["live"][0]["body"]["x"] == 1);
}

TEST_CASE("write scope: an edit naming another form than its record's is refused with form_mismatch") {
  ScopeWorld w;
  const std::string rec = test::uuid7(1700000000002, 2);
  sync::Edit created = edit_at(w.me, 1, rec, kGracanica, "t_form");
  REQUIRE(push_one(w.c, w.me, "f1", created).outcome == sync::Outcome::kApplied);
  sync::Edit other = edit_at(w.me, 2, rec, kGracanica, "t_other", created.clock(), R"({"x":2})");
  const sync::EditResult r = push_one(w.c, w.me, "f2", other);
  CHECK(r.outcome == sync::Outcome::kRejected);
  CHECK(r.error_code == "form_mismatch");
  const json state = record_as(w.c, w.admin, rec);
  CHECK(state["form"] == "t_form");
  CHECK(state["live"][0]["body"]["x"] == 1);
}

TEST_CASE("write scope: community, component and form of an assignment each bound a push") {
  ScopeWorld w;
  const test::Device enis = w.enumerator("enis", {{"gracanice", "serb", "SO1", "t_form"}});
  struct Case {
    const char* what;
    sync::Scope scope;
    std::string form;
    bool allowed;
  };
  const std::vector<Case> cases{
      {"all four members match", kGracanica, "t_form", true},
      {"another community", {"gracanice", "albanian", "SO1"}, "t_form", false},
      {"another component", {"gracanice", "serb", "SO2"}, "t_form", false},
      {"another form", kGracanica, "t_other", false},
      {"another municipality", kPrizren, "t_form", false},
  };
  std::int64_t n = 0;
  for (const Case& k : cases) {
    INFO(std::string(k.what));
    ++n;
    const std::string rec = test::uuid7(1700000000100 + static_cast<std::uint64_t>(n), static_cast<std::uint64_t>(n));
    const sync::EditResult r = push_one(w.c, enis, "s" + std::to_string(n), edit_at(enis, n, rec, k.scope, k.form));
    CHECK(r.outcome == (k.allowed ? sync::Outcome::kApplied : sync::Outcome::kRejected));
    if (!k.allowed) CHECK(r.error_code == "out_of_scope");
    // Reads obey the same matcher: a record the M&E officer writes there is absent for the enumerator.
    const std::string other = test::uuid7(1700000000200 + static_cast<std::uint64_t>(n), static_cast<std::uint64_t>(n));
    REQUIRE(push_one(w.c, w.me, "r" + std::to_string(n), edit_at(w.me, n, other, k.scope, k.form)).outcome ==
            sync::Outcome::kApplied);
    auto read = w.c.request("GET", "/v1/records/" + other, {}, bearer(enis.token));
    CHECK(read->status == (k.allowed ? 200 : 404));
  }
}

TEST_CASE("write scope: a supervisor writes and reads their team's scope, and no other") {
  ScopeWorld w;
  w.srv.create_user("sara", "supervisor", kPw, {{"gracanice", "*", "*", "*"}});
  const test::Device sara = w.srv.enrol(w.admin, "sara", "tablet-sara");
  w.enumerator("enis", {{"prizren", "*", "*", "*"}}, "sara");   // sara's team
  w.enumerator("olti", {{"peja", "*", "*", "*"}});              // someone else's
  const std::string own = test::uuid7(1700000000301, 1), team = test::uuid7(1700000000302, 2),
                    foreign = test::uuid7(1700000000303, 3);
  CHECK(push_one(w.c, sara, "t1", edit_at(sara, 1, own, kGracanica)).outcome == sync::Outcome::kApplied);
  CHECK(push_one(w.c, sara, "t2", edit_at(sara, 2, team, kPrizren)).outcome == sync::Outcome::kApplied);
  const sync::EditResult out = push_one(w.c, sara, "t3", edit_at(sara, 3, foreign, {"peja", "serb", "SO1"}));
  CHECK(out.outcome == sync::Outcome::kRejected);
  CHECK(out.error_code == "out_of_scope");
  // Reading: a Prizren record the M&E officer wrote is visible to sara, a Peja one is not.
  const std::string team_read = test::uuid7(1700000000304, 4), foreign_read = test::uuid7(1700000000305, 5);
  REQUIRE(push_one(w.c, w.me, "m1", edit_at(w.me, 1, team_read, kPrizren)).outcome == sync::Outcome::kApplied);
  REQUIRE(push_one(w.c, w.me, "m2", edit_at(w.me, 2, foreign_read, {"peja", "serb", "SO1"})).outcome ==
          sync::Outcome::kApplied);
  CHECK(w.c.request("GET", "/v1/records/" + team_read, {}, bearer(sara.token))->status == 200);
  CHECK(w.c.request("GET", "/v1/records/" + foreign_read, {}, bearer(sara.token))->status == 404);
}

namespace {

// A form with one field of each treatment for M&E officers: D removed, S pseudonymised, "-" kept;
// `note` and `remark` change class between versions, in opposite directions.
std::string redaction_form(int version, const char* note_class, const char* remark_class) {
  json f{{"v", 1},
         {"form_id", "t_redact"},
         {"version", version},
         {"title", {{"en", "Redaction test"}}},
         {"fields", json::array({
                        json{{"key", "resp_name"}, {"type", "text"}, {"label", {{"en", "Name"}}}, {"sensitivity", "D"}},
                        json{{"key", "resp_ethnicity"}, {"type", "text"}, {"label", {{"en", "Ethnicity"}}}, {"sensitivity", "S"}},
                        json{{"key", "hh_size"}, {"type", "integer"}, {"label", {{"en", "Household size"}}}, {"sensitivity", "-"}},
                        json{{"key", "note"}, {"type", "text"}, {"label", {{"en", "Note"}}}, {"sensitivity", note_class}},
                        json{{"key", "remark"}, {"type", "text"}, {"label", {{"en", "Remark"}}}, {"sensitivity", remark_class}},
                    })}};
  return f.dump();
}

void publish(client::HttpClient& c, const std::string& admin, const std::string& def, int version) {
  auto up = c.request("POST", "/v1/admin/forms", def, bearer(admin));
  REQUIRE_MESSAGE(up->status == 201, up->body);
  auto pub = c.request("POST", "/v1/admin/forms/t_redact/" + std::to_string(version) + "/publish", "{}", bearer(admin));
  REQUIRE_MESSAGE(pub->status == 200, pub->body);
}

const std::string kClearBody =
    R"({"hh_size":4,"note":"lives next to the mosque","remark":"her brother drives the bus",)"
    R"("resp_ethnicity":"serb","resp_name":"Milica Petrović","stray":"x"})";

}  // namespace

TEST_CASE("redaction: GET /v1/records/{id} redacts the values for M&E officers, strictest class across versions") {
  ScopeWorld w;
  // Version 1 calls `note` harmless and `remark` a direct identifier; version 2 the other way round. The
  // stricter class of each applies, whichever version the record was filled with.
  publish(w.c, w.admin, redaction_form(1, "-", "D"), 1);
  publish(w.c, w.admin, redaction_form(2, "D", "-"), 2);
  const std::string rec = test::uuid7(1700000000401, 1);
  sync::Edit e = edit_at(w.me, 1, rec, kGracanica, "t_redact", {}, kClearBody);
  e.form_version = 1;
  REQUIRE(push_one(w.c, w.me, "r1", e).outcome == sync::Outcome::kApplied);

  const std::string mira = w.srv.login("mira", kPw);
  const json me_body = record_as(w.c, mira, rec)["live"][0]["body"];
  CHECK_FALSE(me_body.contains("resp_name"));  // D: removed
  REQUIRE(me_body.contains("resp_ethnicity"));  // S: a pseudonym, never the value
  CHECK(me_body["resp_ethnicity"].get<std::string>().rfind("ps_", 0) == 0);
  CHECK(me_body["hh_size"] == 4);               // "-": kept
  CHECK_FALSE(me_body.contains("note"));        // D in version 2 applies to the version-1 record
  CHECK_FALSE(me_body.contains("remark"));      // D in version 1 still applies after version 2 relaxed it
  CHECK_FALSE(me_body.contains("stray"));       // no version defines it
  CHECK(me_body.dump().find("Milica") == std::string::npos);
  CHECK(me_body.dump().find("mosque") == std::string::npos);
  // The admin reads the same record in clear.
  const json admin_body = record_as(w.c, w.admin, rec)["live"][0]["body"];
  CHECK(admin_body == json::parse(kClearBody));
}

TEST_CASE("redaction: M&E officers get an empty body for a form without a definition") {
  ScopeWorld w;
  const std::string rec = test::uuid7(1700000000402, 2);
  REQUIRE(push_one(w.c, w.me, "n1", edit_at(w.me, 1, rec, kGracanica, "t_undefined", {}, kClearBody)).outcome ==
          sync::Outcome::kApplied);
  const std::string mira = w.srv.login("mira", kPw);
  const json state = record_as(w.c, mira, rec);
  REQUIRE(state["live"].size() == 1);
  CHECK(state["live"][0]["body"] == json::object());
  CHECK(record_as(w.c, w.admin, rec)["live"][0]["body"] == json::parse(kClearBody));
}

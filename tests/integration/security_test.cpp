// Security model over loopback (docs/SECURITY.md): the secret pseudonym key, reserved actor ids and
// counter bounds, a record's scope tied to its body, the special-category grant, and re-enrolment of a
// device under the actor it already has.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "clients/record_gen.hpp"
#include "schema/export/redact.hpp"
#include "schema/store/accounts_store.hpp"
#include "schema/store/db.hpp"
#include "schema/store/store_tx.hpp"
#include "server/handlers/handlers.hpp"
#include "sync/counter.hpp"
#include "sync/uuid.hpp"
#include "sync/wire_json.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;
using nlohmann::json;
using test::bearer;

namespace {

const std::string kPw = "correct horse battery";
const std::string kForm = "so1_interethnic_survey";

void publish_survey(test::TestServer& srv, const std::string& admin) {
  auto c = srv.client();
  auto up = c.request("POST", "/v1/admin/forms",
                      test::read_text_file(std::string(AKT_SOURCE_DIR) + "/schema/forms/programme/" + kForm + ".json"),
                      bearer(admin));
  REQUIRE(up->status == 201);
  REQUIRE(c.request("POST", "/v1/admin/forms/" + kForm + "/1/publish", "{}", bearer(admin))->status == 200);
}

// `count` valid survey records by `actor`, counters from `first_n`, deterministic from `seed`.
std::vector<sync::Edit> survey_edits(const std::string& actor, int count, std::uint64_t seed, std::int64_t first_n = 1) {
  std::mt19937_64 rng(seed);
  std::vector<sync::Edit> out;
  for (int i = 0; i < count; ++i) {
    auto g = client::generate_survey_record(rng);
    sync::Edit e = test::make_edit(client::new_record_id(1700000000000 + static_cast<std::uint64_t>(i), rng), actor,
                                   first_n + i, {}, g.body, g.changed);
    e.form_id = kForm;
    e.scope = g.scope;
    out.push_back(e);
  }
  return out;
}

json push_json(client::HttpClient& c, const test::Device& dev, const std::string& batch,
               const std::vector<sync::Edit>& edits) {
  auto r = test::push(c, dev, {batch, edits});
  REQUIRE_MESSAGE(r.status == 200, r.body);
  return json::parse(r.body);
}

std::string read_file(const std::string& path) { return test::read_text_file(path); }

std::string unhex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

// The first live body and the scope of the record `id` in a feed answer.
std::pair<json, json> feed_record(const std::string& feed, const std::string& id) {
  const json page = json::parse(feed);  // named: a range over a temporary's member would dangle
  for (const auto& ch : page["changes"])
    if (ch["record"] == id) return {ch["live"][0]["body"], ch["scope"]};
  FAIL("record not in the feed: " << id << " in " << feed.substr(0, 600));
  return {};
}

}  // namespace

TEST_CASE("pseudonym key: a random secret per server in a 0600 file, not the replica id, never in an answer") {
  // Two servers with the same records.
  test::TestServer s1({}, {}, false, true), s2({}, {}, false, true);
  std::string pseudonyms[2], communities[2];
  std::string key_hex;
  const auto edits = survey_edits(s1.a.actor, 3, 11);
  int k = 0;
  for (test::TestServer* srv : {&s1, &s2}) {
    srv->create_user("root", "admin", kPw);
    srv->create_user("mira", "me_officer", kPw);
    const std::string admin = srv->login("root", kPw), me = srv->login("mira", kPw);
    publish_survey(*srv, admin);
    auto c = srv->client();
    const json pushed = push_json(c, srv->a, "p1", edits);
    for (const auto& r : pushed["results"]) REQUIRE(r["outcome"] == "applied");
    // A merge, so that the server's replica id appears in a clock the M&E officer sees.
    sync::Edit e1 = edits[0], e2 = edits[0];
    auto b1 = json::parse(edits[0].body), b2 = b1;
    b1["hh_size"] = 3;
    b2["trust_municipality"] = b1["trust_municipality"] == "a_lot" ? "not_much" : "a_lot";
    e1 = test::make_edit(edits[0].record_id, srv->a.actor, 10, edits[0].clock(), b1.dump(), {"hh_size"});
    e2 = test::make_edit(edits[0].record_id, srv->b.actor, 1, edits[0].clock(), b2.dump(), {"trust_municipality"});
    for (sync::Edit* e : {&e1, &e2}) e->form_id = kForm, e->scope = edits[0].scope;
    REQUIRE(push_json(c, srv->a, "p2", {e1})["results"][0]["outcome"] == "applied");
    REQUIRE(push_json(c, srv->b, "p3", {e2})["results"][0]["outcome"] == "merged");

    // The key file: in the data folder, readable by the owner only.
    const std::string key_path = srv->data_dir() + "/pseudonym.key";
    struct stat st{};
    REQUIRE(::stat(key_path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    std::string hex = read_file(key_path);
    hex = hex.substr(0, hex.find('\n'));
    REQUIRE(hex.size() == 64);
    if (k == 0) key_hex = hex;
    else CHECK(hex != key_hex);

    // Everything the M&E officer (and the admin) can read.
    std::vector<std::string> answers;
    const auto feed = c.request("GET", "/v1/changes?limit=100", {}, bearer(me));
    REQUIRE(feed->status == 200);
    answers.push_back(feed->body);
    for (const char* target : {"/v1/exports/so1_interethnic_survey?format=jsonl", "/v1/exports/so1_interethnic_survey",
                               "/v1/me", "/v1/forms", "/v1/indicators"})
      answers.push_back(c.request("GET", target, {}, bearer(me))->body);
    answers.push_back(c.request("GET", "/v1/records/" + edits[0].record_id, {}, bearer(me))->body);
    for (const char* target : {"/v1/changes?limit=100", "/v1/admin/devices", "/v1/admin/audit", "/v1/admin/users",
                               "/v1/healthz", "/healthz"})
      answers.push_back(c.request("GET", target, {}, bearer(admin))->body);
    const std::string raw_key = unhex(hex);
    for (const std::string& a : answers) {
      CHECK(a.find(hex) == std::string::npos);
      CHECK(a.find(raw_key) == std::string::npos);
    }

    // The officer's pseudonym is made with the key file, not with anything the officer sees: every actor
    // of every clock in the feed (the server replica's included) fails to reproduce it.
    auto [body, scope] = feed_record(feed->body, edits[0].record_id);
    const std::string clear = json::parse(edits[0].body)["resp_community"].get<std::string>();
    const std::string ps = body["resp_community"].get<std::string>();
    REQUIRE(ps.rfind("ps_", 0) == 0);
    CHECK(ps == exports::pseudonym(raw_key, kForm, "resp_community", clear));
    std::set<std::string> actors{srv->app().store->server_actor(), srv->app().store->epoch()};
    const json page = json::parse(feed->body);
    for (const auto& ch : page["changes"])
      for (const auto& v : ch["live"])
        for (const auto& [actor, n] : v["clock"].items()) actors.insert(actor);
    CHECK(actors.count(srv->app().store->server_actor()) == 1);
    CHECK(actors.size() >= 3);
    for (const std::string& a : actors) CHECK(exports::pseudonym(a, kForm, "resp_community", clear) != ps);
    pseudonyms[k] = ps;
    communities[k] = clear;
    ++k;
  }
  REQUIRE(communities[0] == communities[1]);
  CHECK(pseudonyms[0] != pseudonyms[1]);  // two servers, two keys
}

TEST_CASE("pseudonym key: aktsyncd --rotate-pseudonym-key changes every pseudonym, a key others can read is refused") {
  test::TempDir dir;
  const std::string data = dir.path() + "/data";
  auto pseudonym_of_first = [&](const std::string& data_dir, bool first_run) {
    test::TestServer srv({}, data_dir, false, true);
    if (first_run) {
      srv.create_user("root", "admin", kPw);
      srv.create_user("mira", "me_officer", kPw);
      publish_survey(srv, srv.login("root", kPw));
      auto c = srv.client();
      push_json(c, srv.a, "p1", survey_edits(srv.a.actor, 1, 5));
    }
    auto c = srv.client();
    auto feed = c.request("GET", "/v1/changes", {}, bearer(srv.login("mira", kPw)));
    return json::parse(feed->body)["changes"][0]["live"][0]["body"]["resp_community"].get<std::string>();
  };
  const std::string before = pseudonym_of_first(data, true);
  CHECK(pseudonym_of_first(data, false) == before);  // stable across restarts
  const std::string cmd = std::string(AKTSYNCD_PATH) + " --data-dir " + data + " --rotate-pseudonym-key > " +
                          dir.path() + "/rotate.out 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  CHECK(read_file(dir.path() + "/rotate.out").find("rotated the pseudonym key") != std::string::npos);
  struct stat st{};
  REQUIRE(::stat((data + "/pseudonym.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  const std::string after = pseudonym_of_first(data, false);
  CHECK(after.rfind("ps_", 0) == 0);
  CHECK(after != before);
  {
    test::TestServer srv({}, data, false, true);
    auto c = srv.client();
    auto audit = c.request("GET", "/v1/admin/audit", {}, bearer(srv.login("root", kPw)));
    CHECK(audit->body.find("pseudonym_key_rotated") != std::string::npos);
  }

  // A key file that group or others may read is refused at start (the server does not open).
  ::chmod((data + "/pseudonym.key").c_str(), 0644);
  server::Config c;
  c.data_dir = data;
  auto app = server::make_app_state(c);
  REQUIRE_FALSE(app.ok());
  CHECK(app.status().message().find("chmod 600") != std::string::npos);
}

TEST_CASE("pseudonym key: a key file that is not the database's is refused at start, a rotation mends it") {
  test::TempDir dir;
  const std::string data = dir.path() + "/data";
  { test::TestServer srv({}, data, false, true); }  // first start: the key and its check value are made
  server::Config c;
  c.data_dir = data;
  REQUIRE(server::make_app_state(c).ok());  // the same key again: it starts
  // The folder's key replaced by another (a data folder moved or restored without its key, a second
  // server that made its own): refused, naming the file, before any pseudonym is handed out.
  const std::string key_path = data + "/pseudonym.key";
  ::unlink(key_path.c_str());
  {
    std::ofstream out(key_path);
    out << std::string(64, 'a') << "\n";
  }
  ::chmod(key_path.c_str(), 0600);
  auto refused = server::make_app_state(c);
  REQUIRE_FALSE(refused.ok());
  CHECK_MESSAGE(refused.status().message().find("is not the key this database's pseudonyms were made with") !=
                    std::string::npos,
                refused.status().message());
  CHECK(refused.status().message().find(key_path) != std::string::npos);
  // The real binary says so and exits 1.
  // (`timeout`: a server that started anyway is stopped, exit 124, and the case fails instead of hanging.)
  const std::string serve = "timeout 30 " + std::string(AKTSYNCD_PATH) + " --data-dir " + data +
                            " --listen 127.0.0.1:0 > " + dir.path() + "/serve.out 2>&1";
  CHECK(WEXITSTATUS(std::system(serve.c_str())) == 1);
  CHECK(read_file(dir.path() + "/serve.out").find("pseudonym key") != std::string::npos);
  // A rotation writes a new key and its check value: the server starts again.
  const std::string rotate = std::string(AKTSYNCD_PATH) + " --data-dir " + data + " --rotate-pseudonym-key > " +
                             dir.path() + "/rotate.out 2>&1";
  REQUIRE(std::system(rotate.c_str()) == 0);
  CHECK(server::make_app_state(c).ok());
  // The check value is no pseudonym of the key's text and differs per key.
  CHECK(server::pseudonym_key_check("k1") != server::pseudonym_key_check("k2"));
  CHECK(server::pseudonym_key_check("k1") == server::pseudonym_key_check("k1"));
}

TEST_CASE("enrolment refuses reserved actor ids: server replica, nil, resolvers, static devices, actors in clocks") {
  test::TestServer srv({}, {}, false, false);
  srv.create_user("root", "admin", kPw);
  srv.create_user("enis", "enumerator", kPw, {{"*", "*", "*", "*"}});
  const std::string admin = srv.login("root", kPw);
  auto c = srv.client();
  // An actor that wrote a version without being a registered device: a record pushed by static device a
  // carries a's dot; the resolver of a user has its own actor id.
  push_json(c, srv.a, "p1", {test::make_edit(test::uuid7(1700000000000, 1), srv.a.actor, 1, {}, R"({"x":1})")});
  auto code = [&] {
    auto r = c.request("POST", "/v1/admin/enrolments", json{{"username", "enis"}, {"device_name", "t"}}.dump(),
                       bearer(admin));
    REQUIRE(r->status == 201);
    return json::parse(r->body)["code"].get<std::string>();
  };
  const std::string the_code = code();
  auto resolver = [&](const std::string& username) {
    std::string actor;
    REQUIRE(srv.app().store->query([&](store::StoreReader& tx) {
      auto a = server::resolver_actor_of(tx, srv.app(), username);
      if (a.ok()) actor = *a;
      return a.status();
    }).ok());
    REQUIRE(sync::is_uuid(actor));
    return actor;
  };
  for (const std::string& actor :
       {srv.app().store->server_actor(), std::string("00000000-0000-0000-0000-000000000000"), resolver("root"),
        resolver("enis"), srv.a.actor, srv.b.actor}) {
    auto r = c.request("POST", "/v1/enrol", json{{"code", the_code}, {"actor", actor}}.dump(),
                       {{"Content-Type", "application/json"}});
    CHECK_MESSAGE(r->status == 409, actor << ": " << r->body);
    CHECK(json::parse(r->body)["code"] == "actor_reserved");
  }
  // The code was not used up by the refusals.
  auto ok = c.request("POST", "/v1/enrol", json{{"code", the_code}, {"actor", test::uuid_n(0x7001)}}.dump(),
                      {{"Content-Type", "application/json"}});
  CHECK_MESSAGE(ok->status == 201, ok->body);
}

TEST_CASE("counters: n = 2^63-1 and contexts above 2^53 are refused, merges still work, also after a restart") {
  test::TempDir dir;
  const std::string record = test::uuid7(1700000000000, 7);
  {
    test::TestServer srv({}, dir.path(), false, false);
    auto c = srv.client();
    REQUIRE(push_json(c, srv.a, "p1", {test::make_edit(record, srv.a.actor, 1, {}, R"({"x":1,"y":1})", {"x", "y"})})
                ["results"][0]["outcome"] == "applied");
    const sync::VectorClock base = test::make_edit(record, srv.a.actor, 1, {}, "{}").clock();
    // The dot counter with no headroom: the whole batch is refused with a precise path.
    auto huge = test::push(c, srv.b, {"p2", {test::make_edit(record, srv.b.actor, INT64_MAX, base, R"({"x":2,"y":1})", {"x"})}});
    CHECK(huge.status == 400);
    CHECK(json::parse(huge.body)["code"] == "invalid_batch");
    CHECK(huge.body.find("2^53") != std::string::npos);
    auto just_above = test::push(
        c, srv.b, {"p3", {test::make_edit(record, srv.b.actor, sync::kMaxCounter + 1, base, R"({"x":2,"y":1})", {"x"})}});
    CHECK(just_above.status == 400);
    // A context claiming a server version that was never made: that edit is rejected, the others apply.
    sync::VectorClock forged = base;
    forged.advance(srv.app().store->server_actor(), sync::kMaxCounter);
    auto r = push_json(c, srv.b, "p4",
                       {test::make_edit(record, srv.b.actor, 1, forged, R"({"x":3,"y":1})", {"x"}),
                        test::make_edit(test::uuid7(1700000000001, 1), srv.b.actor, 2, {}, R"({"z":1})", {"z"})});
    CHECK(r["results"][0]["outcome"] == "rejected");
    CHECK(r["results"][0]["error"]["code"] == "unknown_context");
    CHECK(r["results"][1]["outcome"] == "applied");
    // Merges go on.
    auto m1 = push_json(c, srv.a, "p5", {test::make_edit(record, srv.a.actor, 5, base, R"({"x":5,"y":1})", {"x"})});
    CHECK(m1["results"][0]["outcome"] == "applied");
    auto m2 = push_json(c, srv.b, "p6", {test::make_edit(record, srv.b.actor, 3, base, R"({"x":1,"y":6})", {"y"})});
    CHECK(m2["results"][0]["outcome"] == "merged");
  }
  // After a restart, a second concurrent pair merges again under the server's next counter.
  test::TestServer srv({}, dir.path(), false, false);
  auto c = srv.client();
  auto clock_of = [&] {
    auto rec = json::parse(test::get(c, srv.a, "/v1/records/" + record).body);
    REQUIRE(rec["live"].size() == 1);
    sync::VectorClock v;
    for (const auto& [a, n] : rec["live"][0]["clock"].items()) v.advance(a, n.get<std::int64_t>());
    return v;
  };
  const sync::VectorClock seen = clock_of();
  const std::string server = srv.app().store->server_actor();
  REQUIRE(seen.get(server) >= 1);
  CHECK(push_json(c, srv.a, "p7", {test::make_edit(record, srv.a.actor, 6, seen, R"({"x":7,"y":6})", {"x"})})
            ["results"][0]["outcome"] == "applied");
  auto m4 = push_json(c, srv.b, "p8", {test::make_edit(record, srv.b.actor, 4, seen, R"({"x":5,"y":8})", {"y"})});
  CHECK(m4["results"][0]["outcome"] == "merged");
  CHECK(clock_of().get(server) == seen.get(server) + 1);
  // The bound itself is a valid counter.
  CHECK(push_json(c, srv.a, "p9", {test::make_edit(test::uuid7(1700000000002, 1), srv.a.actor, sync::kMaxCounter, {},
                                                   R"({"z":2})", {"z"})})["results"][0]["outcome"] == "applied");
}

TEST_CASE("a record's scope follows its body: Graçanicë scope with a Prizren body is refused on create and edit") {
  test::TestServer srv({}, {}, false, true);
  srv.create_user("root", "admin", kPw);
  srv.create_user("enis", "enumerator", kPw, {{"gracanice", "*", "*", "*"}});
  srv.create_user("pris", "supervisor", kPw, {{"prizren", "*", "*", "*"}});
  const std::string admin = srv.login("root", kPw);
  publish_survey(srv, admin);
  const test::Device tab = srv.enrol(admin, "enis", "tab-enis");
  auto c = srv.client();
  auto edit = survey_edits(tab.actor, 1, 21)[0];
  auto body = json::parse(edit.body);
  body["municipality"] = "prizren";
  body["cluster_id"] = "prizren-12";
  edit.body = body.dump();
  edit.scope = {"gracanice", "serb", "SO1"};
  auto r = push_json(c, tab, "s1", {edit});
  CHECK(r["results"][0]["outcome"] == "rejected");
  CHECK(r["results"][0]["error"]["code"] == "scope_mismatch");
  CHECK(r["results"][0]["error"]["fields"][0]["path"] == "municipality");
  CHECK(c.request("GET", "/v1/records/" + edit.record_id, {}, bearer(admin))->status == 404);
  CHECK(json::parse(c.request("GET", "/v1/changes", {}, bearer(admin))->body)["changes"].empty());

  // A record whose body agrees with its scope applies; an edit that moves the body alone is refused.
  body["municipality"] = "gracanice";
  body["cluster_id"] = "gracanice-12";
  edit.body = body.dump();
  edit.dot.n = 2;
  REQUIRE(push_json(c, tab, "s2", {edit})["results"][0]["outcome"] == "applied");
  body["municipality"] = "prizren";
  body["cluster_id"] = "prizren-12";
  auto move = test::make_edit(edit.record_id, tab.actor, 3, edit.clock(), body.dump(), {"municipality", "cluster_id"});
  move.form_id = kForm;
  move.scope = edit.scope;
  auto m = push_json(c, tab, "s3", {move});
  CHECK(m["results"][0]["outcome"] == "rejected");
  CHECK(m["results"][0]["error"]["code"] == "scope_mismatch");
  auto stored = json::parse(c.request("GET", "/v1/records/" + edit.record_id, {}, bearer(admin))->body);
  CHECK(stored["live"][0]["body"]["municipality"] == "gracanice");
  CHECK(stored["scope"]["municipality"] == "gracanice");
  // The Prizren supervisor sees nothing; nothing was exported as Prizren.
  CHECK(json::parse(c.request("GET", "/v1/changes", {}, bearer(srv.login("pris", kPw)))->body)["changes"].empty());
}

TEST_CASE("special-category grant: pseudonyms (body and scope community) without it, clear with it, D only to admins") {
  test::TestServer srv({}, {}, false, true);
  srv.create_user("root", "admin", kPw);
  srv.create_user("mira", "me_officer", kPw);
  srv.create_user("enis", "enumerator", kPw, {{"*", "*", "*", "*"}});
  const std::string admin = srv.login("root", kPw), me = srv.login("mira", kPw), enis = srv.login("enis", kPw);
  publish_survey(srv, admin);
  auto c = srv.client();
  const auto edits = survey_edits(srv.a.actor, 2, 31);
  const json pushed = push_json(c, srv.a, "g1", edits);
  for (const auto& r : pushed["results"]) REQUIRE(r["outcome"] == "applied");
  const std::string id = edits[0].record_id;
  const json clear = json::parse(edits[0].body);
  const std::string community = edits[0].scope.community;
  REQUIRE_FALSE(community.empty());

  struct Seen {
    json feed_body, feed_scope, record_body, record_scope, export_row;
    std::string csv;
  };
  auto look = [&](const std::string& token) {
    Seen s;
    std::tie(s.feed_body, s.feed_scope) = feed_record(c.request("GET", "/v1/changes", {}, bearer(token))->body, id);
    auto rec = json::parse(c.request("GET", "/v1/records/" + id, {}, bearer(token))->body);
    s.record_body = rec["live"][0]["body"];
    s.record_scope = rec["scope"];
    auto ex = c.request("GET", "/v1/exports/" + kForm + "?format=jsonl", {}, bearer(token));
    if (ex->status == 200) {
      std::istringstream in(ex->body);
      for (std::string line; std::getline(in, line);)
        if (!line.empty() && json::parse(line).value("record_id", "") == id) s.export_row = json::parse(line);
      s.csv = c.request("GET", "/v1/exports/" + kForm + "?format=csv", {}, bearer(token))->body;
    }
    return s;
  };
  auto grant = [&](bool on) {
    auto r = c.request("PUT", "/v1/admin/users/mira/special_category", json{{"granted", on}}.dump(), bearer(admin));
    REQUIRE_MESSAGE(r->status == 200, r->body);
  };

  // M&E without the grant: class S and the scope community are pseudonyms everywhere; D is gone.
  {
    Seen s = look(me);
    for (const json* b : {&s.feed_body, &s.record_body, &s.export_row}) {
      CHECK((*b)["resp_community"].get<std::string>().rfind("ps_", 0) == 0);
      CHECK_FALSE(b->contains("backcheck_phone"));
    }
    for (const json* sc : {&s.feed_scope, &s.record_scope}) {
      CHECK((*sc)["community"].get<std::string>().rfind("ps_", 0) == 0);
      CHECK((*sc)["community"] == s.feed_scope["community"]);
    }
    CHECK(s.export_row["scope_community"] == s.feed_scope["community"]);
    CHECK(s.csv.find("," + community + ",") == std::string::npos);
    CHECK(s.csv.find("+38344123456") == std::string::npos);
    // Filtering by the clear community finds nothing (no probing); by the pseudonym it finds the record.
    auto by_clear = c.request("GET", "/v1/exports/" + kForm + "?format=jsonl&community=" + community, {}, bearer(me));
    CHECK(by_clear->body.find(id) == std::string::npos);
    auto by_ps = c.request("GET", "/v1/exports/" + kForm + "?format=jsonl&community=" +
                                      s.feed_scope["community"].get<std::string>(), {}, bearer(me));
    CHECK(by_ps->body.find(id) != std::string::npos);
  }
  // With the grant: class S and the community in clear; D still removed.
  grant(true);
  {
    Seen s = look(me);
    for (const json* b : {&s.feed_body, &s.record_body, &s.export_row}) {
      CHECK((*b)["resp_community"] == clear["resp_community"]);
      CHECK((*b)["resp_gender"].get<std::string>().rfind("ps_", 0) == 0);  // Q: the grant covers class S only
      CHECK_FALSE(b->contains("backcheck_phone"));
    }
    CHECK(s.feed_scope["community"] == community);
    CHECK(s.record_scope["community"] == community);
    CHECK(s.export_row["scope_community"] == community);
    CHECK(s.csv.find("+38344123456") == std::string::npos);
  }
  // The user list shows the grant; the audit log has both changes.
  auto users = json::parse(c.request("GET", "/v1/admin/users", {}, bearer(admin))->body)["users"];
  for (const auto& u : users) CHECK(u["special_category"] == (u["username"] == "mira"));
  grant(false);
  CHECK(look(me).feed_scope["community"].get<std::string>().rfind("ps_", 0) == 0);
  auto audit = c.request("GET", "/v1/admin/audit", {}, bearer(admin))->body;
  CHECK(audit.find("special_category_granted") != std::string::npos);
  CHECK(audit.find("special_category_withdrawn") != std::string::npos);
  // Admins see everything, class D included; enumerators see their scope in full and may not grant.
  {
    Seen s = look(admin);
    CHECK(s.feed_body["backcheck_phone"] == clear["backcheck_phone"]);
    CHECK(s.record_scope["community"] == community);
    CHECK(s.export_row["backcheck_phone"] == clear["backcheck_phone"]);
  }
  CHECK(look(enis).feed_scope["community"] == community);
  CHECK(c.request("PUT", "/v1/admin/users/enis/special_category", json{{"granted", true}}.dump(), bearer(enis))->status ==
        403);
  CHECK(c.request("PUT", "/v1/admin/users/mira/special_category", R"({"granted":"yes"})", bearer(admin))->status == 400);
  CHECK(c.request("PUT", "/v1/admin/users/nobody/special_category", R"({"granted":true})", bearer(admin))->status == 404);
}

TEST_CASE("re-enrolment keeps the actor: edits made offline past the token's life all apply") {
  test::TestServer srv({}, {}, false, false);
  srv.create_user("root", "admin", kPw);
  srv.create_user("enis", "enumerator", kPw, {{"*", "*", "*", "*"}});
  srv.create_user("vera", "enumerator", kPw, {{"*", "*", "*", "*"}});
  const std::string admin = srv.login("root", kPw);
  test::Device tab = srv.enrol(admin, "enis", "tab-enis");
  auto c = srv.client();
  const std::string rec = test::uuid7(1700000000000, 9);
  REQUIRE(push_json(c, tab, "r1", {test::make_edit(rec, tab.actor, 1, {}, R"({"x":1})", {"x"})})["results"][0]["outcome"] ==
          "applied");
  // Offline: three more saves. Meanwhile the token ends (revoked here; expiry is the same check).
  std::vector<sync::Edit> offline;
  sync::VectorClock ctx = test::make_edit(rec, tab.actor, 1, {}, "{}").clock();
  for (int i = 2; i <= 4; ++i) {
    offline.push_back(test::make_edit(rec, tab.actor, i, ctx, json{{"x", i}}.dump(), {"x"}));
    ctx = offline.back().clock();
  }
  offline.push_back(test::make_edit(test::uuid7(1700000000001, 9), tab.actor, 5, {}, R"({"y":1})", {"y"}));
  REQUIRE(c.request("POST", "/v1/admin/devices/" + tab.actor + "/revoke", "{}", bearer(admin))->status == 200);
  CHECK(test::push(c, tab, {"r2", offline}).status == 401);

  auto new_code = [&](const std::string& user) {
    auto r = c.request("POST", "/v1/admin/enrolments", json{{"username", user}, {"device_name", "tab"}}.dump(),
                       bearer(admin));
    REQUIRE(r->status == 201);
    return json::parse(r->body)["code"].get<std::string>();
  };
  // Another user's code cannot take the actor.
  auto other = c.request("POST", "/v1/enrol", json{{"code", new_code("vera")}, {"actor", tab.actor}}.dump(),
                         {{"Content-Type", "application/json"}});
  CHECK(other->status == 409);
  CHECK(json::parse(other->body)["code"] == "actor_registered");
  // The same user's new code re-binds it.
  const std::string old_token = tab.token;
  auto again = c.request("POST", "/v1/enrol", json{{"code", new_code("enis")}, {"actor", tab.actor}}.dump(),
                         {{"Content-Type", "application/json"}});
  REQUIRE_MESSAGE(again->status == 201, again->body);
  CHECK(json::parse(again->body)["renewed"] == true);
  tab.token = json::parse(again->body)["token"].get<std::string>();
  auto r = push_json(c, tab, "r2", offline);
  for (const auto& res : r["results"]) CHECK(res["outcome"] == "applied");
  auto stored = json::parse(c.request("GET", "/v1/records/" + rec, {}, bearer(admin))->body);
  CHECK(stored["live"][0]["body"]["x"] == 4);
  // The old token stays dead; the audit log names the re-enrolment.
  CHECK(c.request("GET", "/v1/me", {}, bearer(old_token))->status == 401);
  CHECK(c.request("GET", "/v1/admin/audit", {}, bearer(admin))->body.find("device_reenrolled") != std::string::npos);
}

TEST_CASE("resolver actors of users created later cannot be taken by a tablet enrolled before them") {
  test::TestServer srv({}, {}, false, false);
  srv.create_user("root", "admin", kPw);
  srv.create_user("enis", "enumerator", kPw, {{"*", "*", "*", "*"}});
  const std::string admin = srv.login("root", kPw);
  auto c = srv.client();
  auto resolver = [&](const std::string& username) {
    std::string actor;
    REQUIRE(srv.app().store->query([&](store::StoreReader& tx) {
      auto a = server::resolver_actor_of(tx, srv.app(), username);
      if (a.ok()) actor = *a;
      return a.status();
    }).ok());
    return actor;
  };
  // What a tablet can compute from what it sees (the server's actor id, a guessed username): the actor a
  // user "late" would have had if resolver actors were derived from them.
  store::User late;
  late.username = "late";
  const std::string guessed = server::resolver_actor_of(srv.app(), late);
  const test::Device tablet = [&] {
    auto r = c.request("POST", "/v1/admin/enrolments", json{{"username", "enis"}, {"device_name", "t"}}.dump(),
                       bearer(admin));
    REQUIRE(r->status == 201);
    auto e = c.request("POST", "/v1/enrol",
                       json{{"code", json::parse(r->body)["code"]}, {"actor", guessed}}.dump(),
                       {{"Content-Type", "application/json"}});
    REQUIRE_MESSAGE(e->status == 201, e->body);
    return test::Device{guessed, json::parse(e->body)["token"].get<std::string>()};
  }();
  srv.create_user("late", "admin", kPw);
  const std::string mine = resolver("late");
  CHECK(sync::is_uuid(mine));
  CHECK(mine != guessed);
  CHECK(mine != resolver("root"));
  // late resolves a conflict: the resolution is written under late's own actor, never the tablet's.
  const std::string record = test::uuid7(1700000000000, 31);
  const sync::Edit e0 = test::make_edit(record, srv.a.actor, 1, {}, R"({"x":1})", {"x"});
  push_json(c, srv.a, "p1", {e0});
  push_json(c, srv.a, "p2", {test::make_edit(record, srv.a.actor, 2, e0.clock(), R"({"x":2})", {"x"})});
  REQUIRE(push_json(c, srv.b, "p3", {test::make_edit(record, srv.b.actor, 1, e0.clock(), R"({"x":3})", {"x"})})
              ["results"][0]["outcome"] == "merged");
  const std::string late_token = srv.login("late", kPw);
  auto list = c.request("GET", "/v1/admin/conflicts", {}, bearer(late_token));
  REQUIRE(list->status == 200);
  const json entry = json::parse(list->body)["entries"][0];
  auto one = c.request("GET", "/v1/admin/conflicts/" + std::to_string(entry["id"].get<int>()), {}, bearer(late_token));
  const json seen = json::parse(one->body)["entry"]["record_state"]["live"][0]["clock"];
  auto res = c.request("POST", "/v1/admin/conflicts/" + std::to_string(entry["id"].get<int>()) + "/resolve",
                       json{{"seen", seen}, {"value", 2}}.dump(), bearer(late_token));
  REQUIRE_MESSAGE(res->status == 200, res->body);
  CHECK(json::parse(res->body)["version"]["actor"] == mine);
  auto history = c.request("GET", "/v1/records/" + record + "/history", {}, bearer(admin));
  REQUIRE(history->status == 200);
  bool found = false;
  const json versions = json::parse(history->body)["versions"];  // named: a range over a temporary's member dangles
  for (const json& v : versions) {
    CHECK(v["dot"]["actor"] != guessed);
    if (v["dot"]["actor"] != mine) continue;
    found = true;
    CHECK(v["author"]["kind"] == "resolver");
    CHECK(v["author"]["user"] == "late");
  }
  CHECK(found);
  // late's actor is reserved from now on.
  auto r = c.request("POST", "/v1/admin/enrolments", json{{"username", "enis"}, {"device_name", "t2"}}.dump(),
                     bearer(admin));
  REQUIRE(r->status == 201);
  auto again = c.request("POST", "/v1/enrol", json{{"code", json::parse(r->body)["code"]}, {"actor", mine}}.dump(),
                         {{"Content-Type", "application/json"}});
  CHECK(again->status == 409);
  CHECK(json::parse(again->body)["code"] == "actor_reserved");
  (void)tablet;
}

TEST_CASE("resolver actors: a user created before resolver actors were stored keeps the derived one") {
  test::TestServer srv({}, {}, false, false);
  srv.create_user("root", "admin", kPw);
  srv.create_user("enis", "enumerator", kPw, {{"*", "*", "*", "*"}});
  // As migration 11 leaves a user that existed before it.
  REQUIRE(srv.sqlite().write([](store::Db& db, std::int64_t&) {
    return db.exec("UPDATE users SET resolver_actor = NULL WHERE username = 'root'");
  }).ok());
  store::User root;
  root.username = "root";
  const std::string legacy = server::resolver_actor_of(srv.app(), root);
  const std::string admin = srv.login("root", kPw);
  auto c = srv.client();
  const std::string record = test::uuid7(1700000000000, 32);
  const sync::Edit e0 = test::make_edit(record, srv.a.actor, 1, {}, R"({"x":1,"review_status":"submitted"})", {"x"});
  push_json(c, srv.a, "p1", {e0});
  auto rec = c.request("GET", "/v1/records/" + record, {}, bearer(admin));
  REQUIRE(rec->status == 200);
  auto review = c.request("POST", "/v1/admin/records/" + record + "/review",
                          json{{"seen", json::parse(rec->body)["live"][0]["clock"]}, {"status", "approved"}}.dump(),
                          bearer(admin));
  REQUIRE_MESSAGE(review->status == 200, review->body);
  CHECK(json::parse(review->body)["version"]["actor"] == legacy);
  // Still reserved at enrolment.
  auto r = c.request("POST", "/v1/admin/enrolments", json{{"username", "enis"}, {"device_name", "t"}}.dump(),
                     bearer(admin));
  REQUIRE(r->status == 201);
  auto e = c.request("POST", "/v1/enrol", json{{"code", json::parse(r->body)["code"]}, {"actor", legacy}}.dump(),
                     {{"Content-Type", "application/json"}});
  CHECK(e->status == 409);
}

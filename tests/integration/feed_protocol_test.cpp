// The feed and push over a bad link (issue 18), on loopback: `limit` counts the entries returned and a
// narrow scope skips what it cannot see; `max_bytes` sizes a page; a cut page resumes with `after`; the
// compact feed leaves out `changed`, `parents` and the caller's own bodies; a create may leave `changed`
// out; a lost push answer is read back with GET /v1/push/{batch_id}. Old requests get what they always got.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "schema/store/blob_store.hpp"
#include "sync/wire_json.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"

using namespace akt;
using nlohmann::json;

namespace {

const std::string kPw = "correct horse battery";

sync::Edit create_in(const test::Device& d, std::int64_t n, const sync::Scope& scope, const std::string& body) {
  sync::Edit e = test::make_edit(test::uuid7(1700000000000 + static_cast<std::uint64_t>(n), 1), d.actor, n, {}, body,
                                 {"x"});
  e.scope = scope;
  return e;
}

// Pushes `count` creates by `d` (counters from `first`) in batches of at most 1000.
void push_creates(client::HttpClient& c, const test::Device& d, std::int64_t first, int count, const sync::Scope& scope) {
  for (int done = 0; done < count;) {
    sync::PushRequest req;
    req.batch_id = "bulk-" + std::to_string(first + done);
    for (; done < count && req.edits.size() < 1000; ++done)
      req.edits.push_back(create_in(d, first + done, scope, R"({"x":)" + std::to_string(done) + "}"));
    auto r = test::push(c, d, req);
    REQUIRE_MESSAGE(r.status == 200, r.body);
  }
}

json get_json(client::HttpClient& c, const test::Device& d, const std::string& target, int status = 200) {
  auto r = test::get(c, d, target);
  REQUIRE_MESSAGE(r.status == status, r.body);
  auto j = json::parse(r.body, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

// The seq part of a cursor (its form is <epoch>-<seq>-<scope version>, PROTOCOL §5.1).
std::int64_t cursor_seq(const std::string& cursor) {
  const std::size_t a = cursor.find('-'), b = cursor.find('-', a + 1);
  return std::stoll(cursor.substr(a + 1, b - a - 1));
}

struct World {
  test::TestServer srv;
  client::HttpClient c = srv.client();
  std::string admin;
  World() {
    srv.create_user("root", "admin", kPw);
    admin = srv.login("root", kPw);
  }
  test::Device enumerator(const std::string& name, const std::string& municipality) {
    srv.create_user(name, "enumerator", kPw, {{municipality, "*", "*", "*"}});
    return srv.enrol(admin, name, "tablet-" + name);
  }
};

const sync::Scope kGracanica{"gracanice", "serb", "SO1"};
const sync::Scope kPrizren{"prizren", "serb", "SO1"};

}  // namespace

TEST_CASE("feed: a narrow scope on a big server gets its records in few requests, an empty feed ends at once") {
  World w;
  push_creates(w.c, w.srv.a, 1, 3000, kPrizren);      // out of enis's scope
  push_creates(w.c, w.srv.a, 5001, 25, kGracanica);   // in it
  push_creates(w.c, w.srv.a, 6001, 500, kPrizren);    // out of it again, after
  const test::Device enis = w.enumerator("enis", "gracanice");
  const test::Device pjeter = w.enumerator("pjeter", "peje");  // nothing there

  SUBCASE("limit counts the records returned") {
    std::string cursor;
    int requests = 0, got = 0;
    for (bool more = true; more;) {
      json page = get_json(w.c, enis, "/v1/changes?since=" + cursor + "&limit=10");
      ++requests;
      got += static_cast<int>(page["changes"].size());
      if (page["more"].get<bool>()) CHECK(page["changes"].size() == 10);
      more = page["more"].get<bool>();
      cursor = page["next"].get<std::string>();
    }
    CHECK(got == 25);
    CHECK(requests == 3);  // 10 + 10 + 5, not one page per 10 records of the whole server
    CHECK(cursor_seq(cursor) == w.srv.app().store->last_seq());
  }
  SUBCASE("an empty feed answers with the head cursor in one request") {
    json page = get_json(w.c, pjeter, "/v1/changes?limit=10");
    CHECK(page["changes"].empty());
    CHECK_FALSE(page["more"].get<bool>());
    CHECK(cursor_seq(page["next"].get<std::string>()) == w.srv.app().store->last_seq());
  }
  SUBCASE("a record that moves out of the scope still sends its marker") {
    const sync::Edit first = create_in(w.srv.a, 5001, kGracanica, R"({"x":0})");
    sync::Edit moved = test::make_edit(first.record_id, w.srv.a.actor, 9001, first.clock(), R"({"x":7})", {"x"});
    moved.scope = kPrizren;
    json before = get_json(w.c, enis, "/v1/changes?limit=1000");
    REQUIRE(test::push(w.c, w.srv.a, {"move", {moved}}).status == 200);
    json page = get_json(w.c, enis, "/v1/changes?limit=1000&since=" + before["next"].get<std::string>());
    REQUIRE(page["changes"].size() == 1);
    CHECK(page["changes"][0]["record"] == first.record_id);
    CHECK(page["changes"][0]["out_of_scope"] == true);
  }
}

TEST_CASE("feed: max_bytes ends a page after the record that crosses it, and after resumes within a page") {
  World w;
  push_creates(w.c, w.srv.a, 1, 20, kGracanica);
  json whole = get_json(w.c, w.srv.b, "/v1/changes?limit=100");
  REQUIRE(whole["changes"].size() == 20);
  const std::size_t one = whole["changes"][0].dump().size();

  json tiny = get_json(w.c, w.srv.b, "/v1/changes?limit=100&max_bytes=1");
  CHECK(tiny["changes"].size() == 1);  // at least one record, whatever the bound
  CHECK(tiny["more"].get<bool>());
  json three = get_json(w.c, w.srv.b, "/v1/changes?limit=100&max_bytes=" + std::to_string(2 * one + 10));
  CHECK(three["changes"].size() == 3);  // the third crosses the bound and ends the page
  CHECK(three["next"].get<std::string>() != whole["next"].get<std::string>());

  // A page cut after its 4th record: the request again from the same cursor, after that record's seq.
  const std::int64_t fourth = whole["changes"][3]["seq"].get<std::int64_t>();
  json rest = get_json(w.c, w.srv.b, "/v1/changes?limit=100&after=" + std::to_string(fourth));
  REQUIRE(rest["changes"].size() == 16);
  CHECK(rest["changes"][0]["record"] == whole["changes"][4]["record"]);
  CHECK(rest["next"] == whole["next"]);
  get_json(w.c, w.srv.b, "/v1/changes?after=999999", 400);
  get_json(w.c, w.srv.b, "/v1/changes?max_bytes=0", 400);
}

TEST_CASE("feed: the compact feed leaves out changed, parents and the caller's own bodies, the default does not") {
  World w;
  const sync::Edit mine = create_in(w.srv.a, 1, kGracanica, R"({"x":1,"y":"a"})");
  const sync::Edit theirs = create_in(w.srv.b, 2, kGracanica, R"({"x":2})");  // another record
  REQUIRE(test::push(w.c, w.srv.a, {"a1", {mine}}).status == 200);
  REQUIRE(test::push(w.c, w.srv.b, {"b1", {theirs}}).status == 200);

  json old = get_json(w.c, w.srv.a, "/v1/changes");
  for (const json& rec : old["changes"]) {
    CHECK(rec["live"][0].contains("changed"));
    CHECK(rec["live"][0].contains("parents"));
    CHECK(rec["live"][0].contains("body"));
  }
  json compact = get_json(w.c, w.srv.a, "/v1/changes?compact=1&echo=0");
  REQUIRE(compact["changes"].size() == 2);
  for (const json& rec : compact["changes"]) {
    const json& v = rec["live"][0];
    CHECK_FALSE(v.contains("changed"));
    CHECK_FALSE(v.contains("parents"));
    CHECK(v.contains("clock"));
    if (rec["record"] == mine.record_id) {
      CHECK_FALSE(v.contains("body"));
      CHECK(v["body_hash"] == store::sha256_hex_of(mine.body).substr(0, 16));
    } else {
      CHECK(v["body"] == json::parse(theirs.body));
      CHECK_FALSE(v.contains("body_hash"));
    }
  }
  json with_changed = get_json(w.c, w.srv.a, "/v1/changes?compact=1&changed=1");
  CHECK(with_changed["changes"][0]["live"][0].contains("changed"));
  CHECK(with_changed["changes"][0]["live"][0].contains("body"));  // echo is asked for separately
  get_json(w.c, w.srv.a, "/v1/changes?compact=yes", 400);
  get_json(w.c, w.srv.a, "/v1/changes?echo=2", 400);
}

TEST_CASE("push: a create without changed stores its body's top-level keys, the same edit as one listing them") {
  World w;
  const std::string id = test::uuid7(1700000000001, 1);
  const std::string body = R"({"b":1,"a":{"z":2},"c":[1]})";
  const std::string bare = R"({"v":1,"batch_id":"bare","edits":[{"record":")" + id +
                           R"(","form":"so1_infra_monitoring","form_version":1,"scope":{"municipality":"gracanice",)"
                           R"("community":"serb","component":"SO1"},"dot":{"actor":")" + w.srv.a.actor +
                           R"(","n":1},"device_time":5,"body":)" + body + "}]}";
  auto r = w.c.request("POST", "/v1/push", bare, w.srv.a.auth());
  REQUIRE(r.ok());
  REQUIRE_MESSAGE(r->status == 200, r->body);
  json rec = get_json(w.c, w.srv.a, "/v1/records/" + id);
  CHECK(rec["live"][0]["changed"] == json::array({"a", "b", "c"}));
  // The same edit as an older client sends it (changed listed): a duplicate, not a reused dot.
  sync::Edit listed = test::make_edit(id, w.srv.a.actor, 1, {}, body, {"a", "b", "c"});
  listed.device_time = 5;
  auto again = test::push(w.c, w.srv.a, {"listed", {listed}});
  REQUIRE(again.status == 200);
  auto resp = sync::decode_push_response(again.body);
  REQUIRE(resp.ok());
  CHECK(resp->results[0].outcome == sync::Outcome::kDuplicate);
  // encode_push_request leaves such a list out, and keeps one that is not the body's keys.
  CHECK(sync::encode_push_request({"x", {listed}}).find("\"changed\"") == std::string::npos);
  listed.changed = {"a"};
  CHECK(sync::encode_push_request({"x", {listed}}).find("\"changed\":[\"a\"]") != std::string::npos);
}

TEST_CASE("push: GET /v1/push/{batch_id} gives the pushing device its stored answer, and no one else") {
  World w;
  auto first = test::push(w.c, w.srv.a, {"batch-7", {create_in(w.srv.a, 1, kGracanica, R"({"x":1})")}});
  REQUIRE(first.status == 200);
  auto r = w.c.request("GET", "/v1/push/batch-7", {}, w.srv.a.auth());
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  CHECK(r->body == first.body);  // byte for byte
  CHECK(r->header("aktsync-replayed") == "true");
  CHECK(test::get(w.c, w.srv.b, "/v1/push/batch-7").status == 404);   // another device's batch
  CHECK(test::get(w.c, w.srv.a, "/v1/push/batch-8").status == 404);   // never pushed
  auto session = w.c.request("GET", "/v1/push/batch-7", {}, test::bearer(w.admin));
  REQUIRE(session.ok());
  CHECK(session->status == 403);
  auto del = w.c.request("DELETE", "/v1/push/batch-7", {}, w.srv.a.auth());
  REQUIRE(del.ok());
  CHECK(del->status == 405);
}

TEST_CASE("push: a lean answer leaves out the record of every edit not rejected, replays and reads give it as stored") {
  World w;
  const sync::Edit one = create_in(w.srv.a, 1, kGracanica, R"({"x":1})");
  const sync::Edit two = create_in(w.srv.a, 2, kGracanica, R"({"x":2})");
  sync::Edit reused = one;  // the same dot with other content: rejected with dot_reuse
  reused.body = R"({"x":9})";
  sync::PushRequest first{"lean-1", {one}};
  first.lean_answer = true;
  REQUIRE(sync::encode_push_request(first).find(R"("answer":"lean")") != std::string::npos);
  auto a = test::push(w.c, w.srv.a, first);
  REQUIRE_MESSAGE(a.status == 200, a.body);
  sync::PushRequest second{"lean-2", {reused, two}};
  second.lean_answer = true;
  auto b = test::push(w.c, w.srv.a, second);
  REQUIRE_MESSAGE(b.status == 200, b.body);
  const json answer = json::parse(b.body);
  REQUIRE(answer["results"].size() == 2);
  const json& bad = answer["results"][0];
  const json& good = answer["results"][1];
  CHECK(bad["outcome"] == "rejected");
  CHECK(bad["error"]["code"] == "dot_reuse");
  CHECK(bad["record"] == one.record_id);  // a rejected edit keeps its record
  CHECK(good["outcome"] == "applied");
  CHECK_FALSE(good.contains("record"));
  CHECK(good["dot"]["n"] == 2);
  CHECK(good["seq"].get<std::int64_t>() > 0);
  CHECK(json::parse(a.body)["results"][0].contains("record") == false);
  // The client's decoder reads both forms.
  auto decoded = sync::decode_push_response(b.body);
  REQUIRE(decoded.ok());
  CHECK(decoded->results[0].record_id == one.record_id);
  CHECK(decoded->results[1].record_id.empty());
  // A retry of the batch and a read of the stored answer give the same bytes.
  CHECK(test::push(w.c, w.srv.a, second).body == b.body);
  CHECK(test::get(w.c, w.srv.a, "/v1/push/lean-2").body == b.body);
  // Without it (or with "full"), every result names its record, as before.
  sync::PushRequest plain{"plain-3", {create_in(w.srv.a, 3, kGracanica, R"({"x":3})")}};
  auto p = test::push(w.c, w.srv.a, plain);
  REQUIRE(p.status == 200);
  CHECK(json::parse(p.body)["results"][0]["record"] == plain.edits[0].record_id);
  std::string full = sync::encode_push_request({"full-4", {create_in(w.srv.a, 4, kGracanica, R"({"x":4})")}});
  full.insert(1, R"("answer":"full",)");
  auto f = w.c.request("POST", "/v1/push", full, w.srv.a.auth());
  REQUIRE(f.ok());
  CHECK(f->status == 200);
  CHECK(json::parse(f->body)["results"][0].contains("record"));
  // Any other value refuses the batch whole, naming the member.
  std::string odd = sync::encode_push_request({"odd-5", {create_in(w.srv.a, 5, kGracanica, R"({"x":5})")}});
  odd.insert(1, R"("answer":"short",)");
  auto o = w.c.request("POST", "/v1/push", odd, w.srv.a.auth());
  REQUIRE(o.ok());
  CHECK(o->status == 400);
  CHECK(o->body.find("invalid_batch") != std::string::npos);
  CHECK(o->body.find("$.answer") != std::string::npos);
  CHECK(test::get(w.c, w.srv.a, "/v1/push/odd-5").status == 404);  // nothing of it stored
}

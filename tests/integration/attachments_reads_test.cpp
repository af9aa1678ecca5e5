// Reading attachments and what records say about them, over real sockets (PROTOCOL §14.4, §14.5):
// nothing an M&E officer receives names a photo field their view drops (SECURITY.md §8), and a file
// is read in ranges so a tablet can resume a download.
#include <random>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "schema/store/blob_store.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/edits.hpp"
#include "tests/support/pg_database.hpp"
#include "tests/support/photo_bytes.hpp"

namespace akt {
namespace {

using nlohmann::json;
constexpr const char* kPw = "a long password 1";

// A site photo (class "-"), a photo that may show people (D), one that may locate a household (Q, a
// repeat item's), and a note.
constexpr const char* kForm =
    R"({"v":1,"form_id":"t_reads","version":1,"title":{"en":"T"},"fields":[)"
    R"({"key":"site_photo","type":"photo","label":{"en":"Site"},"sensitivity":"-"},)"
    R"({"key":"face_photo","type":"photo","label":{"en":"People"},"sensitivity":"D"},)"
    R"({"key":"note","type":"text","label":{"en":"Note"},"sensitivity":"-"},)"
    R"({"key":"rooms","type":"repeat","label":{"en":"Rooms"},"item_id":"room_id","fields":[)"
    R"({"key":"room_id","type":"text","label":{"en":"Id"},"sensitivity":"-"},)"
    R"({"key":"door_photo","type":"photo","label":{"en":"Door"},"sensitivity":"Q"},)"
    R"({"key":"wall_photo","type":"photo","label":{"en":"Wall"},"sensitivity":"-"}]}]})";

using test::bytes_of;
using test::ref_of;

struct World {
  test::TestServer srv;
  client::HttpClient c = srv.client();
  std::string admin, mira;
  // On SQLite, or with `postgres_url` on PostgreSQL (the attachment files in its database).
  explicit World(std::string postgres_url = {}) : srv({}, {}, false, true, std::move(postgres_url)) {
    srv.create_user("root", "admin", kPw);
    srv.create_user("mira", "me_officer", kPw);
    admin = srv.login("root", kPw);
    mira = srv.login("mira", kPw);
    REQUIRE(c.request("POST", "/v1/admin/forms", kForm, test::bearer(admin))->status == 201);
    REQUIRE(c.request("POST", "/v1/admin/forms/t_reads/1/publish", "{}", test::bearer(admin))->status == 200);
  }
  sync::Edit edit(const test::Device& d, std::int64_t n, std::uint64_t rec, json body, const sync::VectorClock& ctx = {}) {
    body.update(json{{"enumerator_id", "enum_07"}, {"team_id", "t1"}, {"device_id", "tab-1"},
                     {"started_at", "2026-12-01T09:00:00+01:00"}, {"ended_at", "2026-12-01T09:30:00+01:00"},
                     {"app_version", "1"}, {"review_status", "submitted"}});
    std::vector<std::string> changed;
    for (auto it = body.begin(); it != body.end(); ++it) {
      if (it.key() != "rooms") changed.push_back(it.key());
      else
        for (const json& item : it.value())
          for (auto f = item.begin(); f != item.end(); ++f)
            if (f.key() != "room_id") changed.push_back("rooms[" + item["room_id"].get<std::string>() + "]." + f.key());
    }
    sync::Edit e = test::make_edit(test::uuid7(1700000000000 + rec, rec), d.actor, n, ctx, body.dump(), changed);
    e.form_id = "t_reads";
    e.scope = {"gracanice", "serb", "SO1"};
    return e;
  }
  client::HttpResult call(const std::string& method, const std::string& target, const std::string& token,
                          const std::string& body = {}, std::vector<std::pair<std::string, std::string>> h = {}) {
    h.emplace_back("Authorization", "Bearer " + token);
    if (h.size() == 1) h.emplace_back("Content-Type", "application/json");
    auto r = c.request(method, target, body, h);
    REQUIRE(r.ok());
    return std::move(*r);
  }
  void upload(const test::Device& d, const std::string& bytes) {
    const json req{{"v", 1}, {"digest", store::sha256_hex_of(bytes)}, {"size", bytes.size()}, {"type", "image/jpeg"}};
    auto created = call("POST", "/v1/uploads", d.token, req.dump());
    REQUIRE(created.status == 201);
    auto r = call("PATCH", "/v1/uploads/" + json::parse(created.body)["upload"].get<std::string>(), d.token, bytes,
                  {{"Content-Type", "application/offset+octet-stream"}, {"Upload-Offset", "0"}});
    REQUIRE_MESSAGE(r.status == 200, r.body);
  }
};

// Every text that names a field path in a record answer: pending_upload, conflicted, versions' changed.
std::vector<std::string> named_paths(const json& record) {
  std::vector<std::string> out;
  for (const char* k : {"pending_upload", "conflicted"})
    if (record.contains(k))
      for (const json& p : record[k]) out.push_back(p.get<std::string>());
  for (const char* k : {"live", "versions"})
    for (const json& v : record.value(k, json::array()))
      for (const json& p : v.value("changed", json::array())) out.push_back(p.get<std::string>());
  return out;
}

bool names(const std::vector<std::string>& paths, const std::string& needle) {
  for (const std::string& p : paths)
    if (p.find(needle) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("attachment reads: an M&E officer sees no path of a photo field their view drops") {
  World w;
  const std::string site = bytes_of(3000, 1), face = bytes_of(3000, 2), door = bytes_of(3000, 3),
                    wall = bytes_of(3000, 4), face_b = bytes_of(3000, 5);
  const json rooms = json::array({{{"room_id", "R1"}, {"door_photo", ref_of(door)}, {"wall_photo", ref_of(wall)}}});
  // Two devices create the same record concurrently: the face photo differs (a field conflict), nothing
  // is uploaded yet (every photo pending).
  const sync::Edit a = w.edit(w.srv.a, 1, 1, {{"site_photo", ref_of(site)}, {"face_photo", ref_of(face)}, {"rooms", rooms}});
  const sync::Edit b = w.edit(w.srv.b, 1, 1, {{"site_photo", ref_of(site)}, {"face_photo", ref_of(face_b)}, {"rooms", rooms}});
  REQUIRE(test::push(w.c, w.srv.a, {"b1", {a}}).status == 200);
  auto merged = test::push(w.c, w.srv.b, {"b2", {b}});
  REQUIRE(merged.status == 200);
  REQUIRE_MESSAGE(json::parse(merged.body)["results"][0]["outcome"] == "merged", merged.body);

  auto record = [&](const std::string& token) {
    auto r = w.call("GET", "/v1/records/" + a.record_id, token);
    REQUIRE(r.status == 200);
    return json::parse(r.body);
  };
  auto feed_entry = [&](const std::string& token) {
    auto r = w.call("GET", "/v1/changes?limit=100", token);
    REQUIRE(r.status == 200);
    const json page = json::parse(r.body);
    for (const json& e : page["changes"])
      if (e["record"] == a.record_id) return e;
    FAIL("record not in the feed: " << r.body.substr(0, 600));
    return json();
  };
  auto history = [&](const std::string& token) {
    auto r = w.call("GET", "/v1/records/" + a.record_id + "/history", token);
    REQUIRE(r.status == 200);
    return json::parse(r.body);
  };

  // The admin sees every path: the premise of the check below.
  const auto admin_paths = named_paths(record(w.admin));
  REQUIRE(names(admin_paths, "face_photo"));
  REQUIRE(names(admin_paths, "door_photo"));
  REQUIRE(names(named_paths(record(w.admin)), "site_photo"));
  CHECK(record(w.admin)["conflicted"] == json::array({"face_photo"}));

  for (const json& seen : {record(w.mira), feed_entry(w.mira)}) {
    const auto paths = named_paths(seen);
    CAPTURE(seen.dump());
    CHECK_FALSE(names(paths, "face_photo"));  // class D
    CHECK_FALSE(names(paths, "door_photo"));  // class Q photo: removed from the view
    // What the view keeps is still said: the site and wall photos are on their way.
    CHECK(seen["pending_upload"] == json::array({"rooms[R1].wall_photo", "site_photo"}));
    CHECK(seen["conflict"] == true);  // the record as a whole is flagged, as for any conflict
  }
  const json hist = history(w.mira);  // named: a range-for over a member of a temporary dangles (C++20)
  for (const json& v : hist.at("versions")) {
    CAPTURE(v.dump());
    CHECK_FALSE(names(v["changed"].get<std::vector<std::string>>(), "face_photo"));
    CHECK_FALSE(names(v["changed"].get<std::vector<std::string>>(), "door_photo"));
  }

  // Once the kept photos arrive, the M&E view has nothing pending, though the hidden ones still are.
  w.upload(w.srv.a, site);
  w.upload(w.srv.a, wall);
  CHECK(record(w.admin)["pending_upload"].size() == 2);
  CHECK_FALSE(record(w.mira).contains("pending_upload"));
  CHECK_FALSE(feed_entry(w.mira).contains("pending_upload"));
}

}  // namespace akt

namespace akt {

static void range_reads(const std::string& url) {
  World w(url);
  const std::string photo = bytes_of(200000, 21);
  const std::string digest = store::sha256_hex_of(photo);
  REQUIRE(test::push(w.c, w.srv.a, {"b1", {w.edit(w.srv.a, 1, 21, {{"site_photo", ref_of(photo)}})}}).status == 200);
  w.upload(w.srv.a, photo);
  auto get = [&](const std::string& token, std::vector<std::pair<std::string, std::string>> h) {
    return w.call("GET", "/v1/blobs/" + digest, token, {}, std::move(h));
  };
  auto whole = get(w.admin, {});
  REQUIRE(whole.status == 200);
  CHECK(whole.body == photo);
  CHECK(whole.header("accept-ranges") == "bytes");

  SUBCASE("a download cut at some byte resumes from there, exact bytes") {
    const std::size_t cut = 123457;
    auto rest = get(w.admin, {{"Range", "bytes=" + std::to_string(cut) + "-"}});
    REQUIRE(rest.status == 206);
    CHECK(rest.header("content-range") == "bytes 123457-199999/200000");
    CHECK(rest.header("content-type") == "image/jpeg");
    CHECK(photo.substr(0, cut) + rest.body == photo);
  }
  SUBCASE("first-last, a last past the end, a suffix") {
    auto mid = get(w.mira, {{"Range", "bytes=1000-1999"}});  // the M&E officer may read this class "-" photo
    REQUIRE(mid.status == 206);
    CHECK(mid.header("content-range") == "bytes 1000-1999/200000");
    CHECK(mid.body == photo.substr(1000, 1000));
    auto past = get(w.admin, {{"Range", "bytes=199990-500000"}});
    REQUIRE(past.status == 206);
    CHECK(past.header("content-range") == "bytes 199990-199999/200000");
    CHECK(past.body == photo.substr(199990));
    auto suffix = get(w.admin, {{"Range", "bytes=-5"}});
    REQUIRE(suffix.status == 206);
    CHECK(suffix.header("content-range") == "bytes 199995-199999/200000");
    CHECK(suffix.body == photo.substr(199995));
    auto one = get(w.admin, {{"Range", "bytes=0-0"}});
    REQUIRE(one.status == 206);
    CHECK(one.body == photo.substr(0, 1));
  }
  SUBCASE("unsatisfiable: 416 with the size, nothing else") {
    for (const char* spec : {"bytes=200000-", "bytes=300000-300010", "bytes=-0"}) {
      CAPTURE(std::string(spec));
      auto r = get(w.admin, {{"Range", spec}});
      CHECK(r.status == 416);
      CHECK(r.header("content-range") == "bytes */200000");
      CHECK(json::parse(r.body)["code"] == "range_not_satisfiable");
    }
  }
  SUBCASE("several ranges, another unit, malformed, or an If-Range of another file: the whole file") {
    for (const char* spec : {"bytes=0-1,5-9", "items=0-1", "bytes=9-1", "bytes=abc", "bytes=1-2-3"}) {
      CAPTURE(std::string(spec));
      auto r = get(w.admin, {{"Range", spec}});
      CHECK(r.status == 200);
      CHECK(r.body == photo);
    }
    auto other = get(w.admin, {{"Range", "bytes=10-"}, {"If-Range", "\"0000\""}});
    CHECK(other.status == 200);
    CHECK(other.body == photo);
    auto same = get(w.admin, {{"Range", "bytes=10-"}, {"If-Range", "\"" + digest + "\""}});
    CHECK(same.status == 206);
    CHECK(same.body == photo.substr(10));
  }
  SUBCASE("a range never opens a file the caller may not read") {
    const std::string face = bytes_of(5000, 22);
    REQUIRE(test::push(w.c, w.srv.a, {"b2", {w.edit(w.srv.a, 2, 22, {{"face_photo", ref_of(face)}})}}).status == 200);
    w.upload(w.srv.a, face);
    for (const char* spec : {"bytes=0-10", "bytes=999999-"}) {
      auto r = w.call("GET", "/v1/blobs/" + store::sha256_hex_of(face), w.mira, {}, {{"Range", spec}});
      CHECK(r.status == 404);
      CHECK(r.header("content-range").empty());
    }
  }
}

TEST_CASE("attachment reads: a single byte range resumes a download (206), others read whole or 416") { range_reads({}); }
TEST_CASE("attachment reads: a single byte range resumes a download (206), others read whole or 416, on PostgreSQL") {
  const std::string url = test::fresh_pg_database("akt_reads");
  if (url.empty()) return;
  range_reads(url);
}

// On PostgreSQL a file is chunk rows (pg_blobs.hpp, 256 KiB each): reads whole and ranges across and at
// the chunk boundaries.
TEST_CASE("attachment reads: ranges across the chunk rows of a photo stored in PostgreSQL") {
  const std::string url = test::fresh_pg_database("akt_reads");
  if (url.empty()) return;
  World w(url);
  const std::string photo = bytes_of(600000, 23);
  REQUIRE(test::push(w.c, w.srv.a, {"b1", {w.edit(w.srv.a, 1, 23, {{"site_photo", ref_of(photo)}})}}).status == 200);
  w.upload(w.srv.a, photo);
  const std::string target = "/v1/blobs/" + store::sha256_hex_of(photo);
  CHECK(w.call("GET", target, w.admin).body == photo);
  const std::vector<std::pair<std::size_t, std::size_t>> ranges{
      {262143, 262144}, {262100, 524300}, {524288, 599999}, {1, 262143}, {300000, 300000}, {0, 599999}};
  for (const auto& range : ranges) {
    const std::string spec = "bytes=" + std::to_string(range.first) + "-" + std::to_string(range.second);
    CAPTURE(spec);
    auto r = w.call("GET", target, w.admin, {}, {{"Range", spec}});
    CHECK(r.status == 206);
    CHECK(r.body == photo.substr(range.first, range.second - range.first + 1));
  }
}

}  // namespace akt

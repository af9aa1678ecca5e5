// Attachments over real sockets (PROTOCOL §14): resumable uploads, the digest check, pending_upload in
// records and the feed, storage once per content, and who may read a file.
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "schema/store/blob_store.hpp"
#include "sync/wire_json.hpp"
#include "tests/support/feed.hpp"
#include "tests/support/test_server.hpp"
#include "server/handlers/handlers.hpp"
#include "tests/support/edits.hpp"
#include "tests/support/pg_database.hpp"
#include "tests/support/photo_bytes.hpp"
#include "tests/support/temp_dir.hpp"

namespace akt {
namespace {

using nlohmann::json;
constexpr const char* kPw = "a long password 1";

// A form with a site photo (class "-": M&E officers see it) and a photo that may show people (class D).
constexpr const char* kPhotoForm =
    R"({"v":1,"form_id":"t_photo","version":1,"title":{"en":"T"},"fields":[)"
    R"({"key":"site_photo","type":"photo","label":{"en":"Site"},"sensitivity":"-"},)"
    R"({"key":"face_photo","type":"photo","label":{"en":"People"},"sensitivity":"D"},)"
    R"({"key":"note","type":"text","label":{"en":"Note"},"sensitivity":"-"}]})";

using test::bytes_of;
using test::ref_of;

struct World {
  test::TestServer srv;
  client::HttpClient c = srv.client();
  std::string admin;
  // On SQLite, or with `postgres_url` on PostgreSQL (the attachment files in its database).
  explicit World(std::string postgres_url = {}) : srv({}, {}, false, true, std::move(postgres_url)) {
    srv.create_user("root", "admin", kPw);
    admin = srv.login("root", kPw);
    REQUIRE(c.request("POST", "/v1/admin/forms", kPhotoForm, test::bearer(admin))->status == 201);
    REQUIRE(c.request("POST", "/v1/admin/forms/t_photo/1/publish", "{}", test::bearer(admin))->status == 200);
  }
  sync::Edit edit(const test::Device& d, std::int64_t n, std::uint64_t rec, json body,
                  const std::string& municipality = "gracanice") {
    // The common header every form has (FORMS.md §2).
    body.update(json{{"enumerator_id", "enum_07"}, {"team_id", "t1"}, {"device_id", "tab-1"},
                     {"started_at", "2026-12-01T09:00:00+01:00"}, {"ended_at", "2026-12-01T09:30:00+01:00"},
                     {"app_version", "1"}, {"review_status", "submitted"}});
    sync::Edit e = test::make_edit(test::uuid7(1700000000000 + rec, rec), d.actor, n, {}, body.dump());
    e.form_id = "t_photo";
    e.scope = {municipality, "serb", "SO1"};
    for (auto it = body.begin(); it != body.end(); ++it) e.changed.push_back(it.key());
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
  // Creates an upload of `bytes` as `d`; returns its id.
  std::string create(const test::Device& d, const std::string& bytes, int expect = 201) {
    const json req{{"v", 1}, {"digest", store::sha256_hex_of(bytes)}, {"size", bytes.size()}, {"type", "image/jpeg"}};
    auto r = call("POST", "/v1/uploads", d.token, req.dump());
    REQUIRE_MESSAGE(r.status == expect, r.body);
    return expect == 201 ? json::parse(r.body)["upload"].get<std::string>() : std::string();
  }
  client::HttpResult append(const test::Device& d, const std::string& id, std::int64_t offset, std::string_view chunk) {
    return call("PATCH", "/v1/uploads/" + id, d.token, std::string(chunk),
                {{"Content-Type", "application/offset+octet-stream"}, {"Upload-Offset", std::to_string(offset)}});
  }
  // Uploads `bytes` whole as `d`, in chunks of `chunk` bytes.
  void upload(const test::Device& d, const std::string& bytes, std::size_t chunk = 65536) {
    const std::string id = create(d, bytes);
    for (std::size_t at = 0; at < bytes.size(); at += chunk) {
      auto r = append(d, id, static_cast<std::int64_t>(at), std::string_view(bytes).substr(at, chunk));
      REQUIRE_MESSAGE(r.status == 200, r.body);
      CHECK(json::parse(r.body)["complete"] == (at + chunk >= bytes.size()));
    }
  }
  std::vector<std::string> missing(const test::Device& d, const std::vector<std::string>& digests) {
    auto r = call("POST", "/v1/blobs/missing", d.token, json{{"v", 1}, {"digests", digests}}.dump());
    REQUIRE_MESSAGE(r.status == 200, r.body);
    return json::parse(r.body)["missing"].get<std::vector<std::string>>();
  }
};

std::vector<std::string> pending_of(World& w, const std::string& record) {
  auto r = w.call("GET", "/v1/records/" + record, w.admin);
  REQUIRE(r.status == 200);
  auto s = sync::decode_record_state(json::parse(r.body));
  REQUIRE(s.ok());
  return s->pending_upload;
}

}  // namespace

static void pending_then_complete(const std::string& url) {
  World w(url);
  const std::string site = bytes_of(300000, 1), face = bytes_of(70000, 2);
  const sync::Edit e = w.edit(w.srv.a, 1, 1, {{"site_photo", ref_of(site)}, {"face_photo", ref_of(face)}});
  auto pushed = test::push(w.c, w.srv.a, {"b1", {e}});
  REQUIRE(pushed.status == 200);
  REQUIRE_MESSAGE(json::parse(pushed.body)["results"][0]["outcome"] == "applied", pushed.body);
  CHECK(pending_of(w, e.record_id) == std::vector<std::string>{"face_photo", "site_photo"});
  auto feed = test::pull_all(w.c, w.srv.a, "", 100);
  CHECK(feed.records.at(e.record_id).pending_upload.size() == 2);
  CHECK(w.missing(w.srv.a, {store::sha256_hex_of(site), store::sha256_hex_of(face)}).size() == 2);

  // The site photo in 64 KiB chunks; a wrong offset is refused with the server's offset.
  const std::string id = w.create(w.srv.a, site);
  REQUIRE(w.append(w.srv.a, id, 0, std::string_view(site).substr(0, 65536)).status == 200);
  auto wrong = w.append(w.srv.a, id, 0, std::string_view(site).substr(0, 65536));
  CHECK(wrong.status == 409);
  CHECK(json::parse(wrong.body)["code"] == "offset_mismatch");
  CHECK(json::parse(wrong.body)["offset"] == 65536);
  CHECK(wrong.header("upload-offset") == "65536");
  auto head = w.call("HEAD", "/v1/uploads/" + id, w.srv.a.token);
  CHECK(head.status == 200);
  CHECK(head.header("upload-offset") == "65536");
  // Creating again (a client that lost the id) resumes the same upload.
  auto again = w.call("POST", "/v1/uploads", w.srv.a.token,
                      json{{"v", 1}, {"digest", store::sha256_hex_of(site)}, {"size", site.size()}, {"type", "image/jpeg"}}.dump());
  CHECK(again.status == 200);
  CHECK(json::parse(again.body)["upload"] == id);
  CHECK(json::parse(again.body)["offset"] == 65536);
  // No blob is visible before the last byte.
  CHECK(w.call("GET", "/v1/blobs/" + store::sha256_hex_of(site), w.admin).status == 404);
  CHECK(w.append(w.srv.a, id, 65536, std::string_view(site).substr(65536, 1 << 20 )).status == 200);
  CHECK(pending_of(w, e.record_id) == std::vector<std::string>{"face_photo"});
  // The record took a new feed position: a pull from the old cursor sees it again, still pending one.
  auto after = test::pull_all(w.c, w.srv.a, feed.cursor, 100);
  REQUIRE(after.records.count(e.record_id) == 1);
  CHECK(after.records.at(e.record_id).pending_upload == std::vector<std::string>{"face_photo"});
  auto got = w.call("GET", "/v1/blobs/" + store::sha256_hex_of(site), w.admin);
  CHECK(got.status == 200);
  CHECK(got.body == site);
  CHECK(got.header("content-type") == "image/jpeg");

  w.upload(w.srv.a, face);
  CHECK(pending_of(w, e.record_id).empty());
  auto done = test::pull_all(w.c, w.srv.a, after.cursor, 100);
  REQUIRE(done.records.count(e.record_id) == 1);
  CHECK(done.records.at(e.record_id).pending_upload.empty());
  auto raw = w.call("GET", "/v1/records/" + e.record_id, w.admin);
  CHECK(raw.body.find("pending_upload") == std::string::npos);
  CHECK(w.missing(w.srv.a, {store::sha256_hex_of(site), store::sha256_hex_of(face)}).empty());

  // A second tablet with the same photo: told it is missing (it never sent it), uploads it, one copy kept.
  CHECK(w.missing(w.srv.b, {store::sha256_hex_of(site)}).size() == 1);
  w.upload(w.srv.b, site, 100000);
  CHECK(w.missing(w.srv.b, {store::sha256_hex_of(site)}).empty());
  store::BlobStore& blobs = *w.srv.app().blobs;  // the engine's: the data folder's files, or the database's
  CHECK(blobs.digests().size() == 2);
  CHECK(blobs.part_ids().empty());
}

// skip_own (PROTOCOL §5.1) leaves a record out only while nothing changed it after its version was
// stored: a photo that arrives later changes the row (its pending_upload, seq and updated_at) without a
// new version, and the record must come again although its one live version is still the device's own.
static void photo_after_push_comes_again(const std::string& url) {
  World w(url);
  const std::string site = bytes_of(3000, 3);
  const sync::Edit e = w.edit(w.srv.a, 1, 1, {{"site_photo", ref_of(site)}, {"note", "pushed before its photo"}});
  auto pushed = test::push(w.c, w.srv.a, {"b1", {e}});
  REQUIRE(pushed.status == 200);
  REQUIRE_MESSAGE(json::parse(pushed.body)["results"][0]["outcome"] == "applied", pushed.body);
  auto page = [&](const std::string& since) {
    auto r = test::get(w.c, w.srv.a, "/v1/changes?compact=2&echo=0&skip_own=1&since=" + since);
    REQUIRE_MESSAGE(r.status == 200, r.body);
    return json::parse(r.body);
  };
  // As pushed, the missing photo notwithstanding: left out.
  const json before = page("");
  CHECK(before["changes"].empty());
  // The photo arrives a server millisecond later than the version was stored (updated_at > server_time).
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  w.upload(w.srv.a, site);
  REQUIRE(pending_of(w, e.record_id).empty());
  for (const std::string& since : {std::string(), before["next"].get<std::string>()}) {
    CAPTURE(since);
    const json after = page(since);
    REQUIRE(after["changes"].size() == 1);
    const json& entry = after["changes"][0];
    CHECK(entry["record"] == e.record_id);
    CHECK(!entry.contains("pending_upload"));
    // Still the device's own version (its body by hash: the device holds it), not a new one.
    REQUIRE(entry["live"].size() == 1);
    CHECK(entry["live"][0]["dot"]["actor"] == w.srv.a.actor);
    CHECK(entry["live"][0]["dot"]["n"] == 1);
    CHECK(entry["live"][0]["body_hash"] == store::sha256_hex_of(e.body).substr(0, 16));
  }
}

static void bad_uploads(const std::string& url) {
  World w(url);
  const std::string good = bytes_of(5000, 3), evil = bytes_of(5000, 4);
  SUBCASE("digest mismatch: discarded, never visible") {
    const std::string id = w.create(w.srv.a, good);
    auto r = w.append(w.srv.a, id, 0, evil);
    CHECK(r.status == 422);
    CHECK(json::parse(r.body)["code"] == "digest_mismatch");
    CHECK(w.call("GET", "/v1/uploads/" + id, w.srv.a.token).status == 404);
    CHECK(w.srv.app().blobs->digests().empty());
    CHECK(w.srv.app().blobs->part_ids().empty());
    CHECK(w.missing(w.srv.a, {store::sha256_hex_of(good)}).size() == 1);
  }
  SUBCASE("size bound, malformed members, overrun, content type, another device's upload") {
    w.srv.app().config.attachments.max_bytes = 4096;
    w.create(w.srv.a, good, 413);
    w.srv.app().config.attachments.max_bytes = 1 << 20;
    CHECK(w.call("POST", "/v1/uploads", w.srv.a.token, R"({"v":1,"digest":"abc","size":5,"type":"image/jpeg"})").status == 400);
    CHECK(w.call("POST", "/v1/uploads", w.srv.a.token,
                 json{{"v", 1}, {"digest", store::sha256_hex_of(good)}, {"size", 5}, {"type", "text/html"}}.dump())
              .status == 400);
    const std::string id = w.create(w.srv.a, good);
    CHECK(w.append(w.srv.a, id, 0, good + "x").status == 400);
    CHECK(w.call("PATCH", "/v1/uploads/" + id, w.srv.a.token, good,
                 {{"Content-Type", "application/json"}, {"Upload-Offset", "0"}}).status == 415);
    CHECK(w.call("PATCH", "/v1/uploads/" + id, w.srv.a.token, good,
                 {{"Content-Type", "application/offset+octet-stream"}, {"Upload-Offset", "-1"}}).status == 400);
    CHECK(w.append(w.srv.b, id, 0, good).status == 404);  // uploads belong to their device
    CHECK(w.call("GET", "/v1/uploads/" + id, w.admin).status == 403);  // sessions do not upload
    CHECK(w.call("GET", "/v1/blobs/XYZ", w.admin).status == 400);
    CHECK(w.call("POST", "/v1/blobs/missing", w.srv.a.token, R"({"v":1,"digests":["nope"]})").status == 400);
  }
  SUBCASE("a stale partial upload expires") {
    const std::string id = w.create(w.srv.a, good);
    REQUIRE(w.append(w.srv.a, id, 0, std::string_view(good).substr(0, 1000)).status == 200);
    const std::int64_t later = w.srv.app().now_ms() + w.srv.app().config.attachments.upload_expiry_ms + 60000;
    w.srv.app().now_ms.freeze_at(later);
    CHECK(w.call("GET", "/v1/uploads/" + id, w.srv.a.token).status == 404);
    CHECK(w.srv.app().blobs->part_ids().empty());
    // Starting again works from zero.
    const std::string again = w.create(w.srv.a, good);
    CHECK(again != id);
    CHECK(json::parse(w.call("GET", "/v1/uploads/" + again, w.srv.a.token).body)["offset"] == 0);
  }
}

static void read_only_by_readers(const std::string& url) {
  World w(url);
  w.srv.create_user("enis", "enumerator", kPw, {{"gracanice", "*", "*", "*"}});
  w.srv.create_user("pera", "enumerator", kPw, {{"prizren", "*", "*", "*"}});
  w.srv.create_user("mira", "me_officer", kPw);
  const std::string enis = w.srv.login("enis", kPw), pera = w.srv.login("pera", kPw), mira = w.srv.login("mira", kPw);
  const std::string site = bytes_of(20000, 5), face = bytes_of(20000, 6);
  const sync::Edit e = w.edit(w.srv.a, 1, 7, {{"site_photo", ref_of(site)}, {"face_photo", ref_of(face)}});
  REQUIRE(test::push(w.c, w.srv.a, {"b1", {e}}).status == 200);
  w.upload(w.srv.a, site);
  w.upload(w.srv.a, face);
  auto status = [&](const std::string& token, const std::string& bytes) {
    return w.call("GET", "/v1/blobs/" + store::sha256_hex_of(bytes), token).status;
  };
  CHECK(status(w.admin, site) == 200);
  CHECK(status(w.admin, face) == 200);
  CHECK(status(enis, site) == 200);
  CHECK(status(enis, face) == 200);
  CHECK(status(pera, site) == 404);  // out of scope reads as absent
  CHECK(status(pera, face) == 404);
  CHECK(status(mira, site) == 200);  // class "-": kept in the M&E view
  CHECK(status(mira, face) == 404);  // class D: removed from the M&E view
  CHECK(status(w.srv.b.token, site) == 200);  // static devices read everything

  // Knowing a digest and writing it into a record of one's own scope gives nothing: the device that
  // referenced it never sent the bytes.
  const sync::Edit thief = w.edit(w.srv.b, 1, 8, {{"face_photo", ref_of(face)}}, "prizren");
  REQUIRE(test::push(w.c, w.srv.b, {"b2", {thief}}).status == 200);
  CHECK(status(pera, face) == 404);
  // ... unless it proves it holds them by uploading every byte.
  w.upload(w.srv.b, face);
  CHECK(status(pera, face) == 200);
}

}  // namespace akt

namespace akt {

static void collected_after_grace(const std::string& url) {
  World w(url);
  const std::string kept = bytes_of(3000, 9), orphan = bytes_of(3000, 10);
  REQUIRE(test::push(w.c, w.srv.a, {"b1", {w.edit(w.srv.a, 1, 9, {{"site_photo", ref_of(kept)}})}}).status == 200);
  w.upload(w.srv.a, kept);
  w.upload(w.srv.a, orphan);  // uploaded, but no record ever referenced it
  auto& app = w.srv.app();
  CHECK(*server::collect_unreferenced_blobs(app) == 0);  // both younger than the grace period
  const std::int64_t later = app.now_ms() + app.config.attachments.gc_grace_ms + 60000;
  app.now_ms.freeze_at(later);
  CHECK(*server::collect_unreferenced_blobs(app) == 1);
  CHECK(app.blobs->has(store::sha256_hex_of(kept)));
  CHECK(!app.blobs->has(store::sha256_hex_of(orphan)));
  CHECK(w.missing(w.srv.a, {store::sha256_hex_of(orphan)}).size() == 1);
}

}  // namespace akt

namespace akt {

static void export_with_media(const std::string& url) {
  World w(url);
  w.srv.create_user("mira", "me_officer", kPw);
  const std::string mira = w.srv.login("mira", kPw);
  const std::string site = bytes_of(150000, 11), face = bytes_of(2000, 12);
  const sync::Edit e = w.edit(w.srv.a, 1, 11, {{"site_photo", ref_of(site)}, {"face_photo", ref_of(face)}});
  REQUIRE(test::push(w.c, w.srv.a, {"b1", {e}}).status == 200);
  w.upload(w.srv.a, site);  // the face photo never arrives
  CHECK(w.call("GET", "/v1/exports/t_photo?format=jsonl&media=include", mira).status == 403);
  CHECK(w.call("GET", "/v1/exports/t_photo?format=jsonl&media=maybe", w.admin).status == 400);
  auto r = w.call("GET", "/v1/exports/t_photo?format=jsonl&media=include", w.admin);
  REQUIRE(r.status == 200);
  CHECK(r.header("content-type") == "application/zip");
  CHECK(r.header("transfer-encoding") == "chunked");
  test::TempDir dir;
  std::ofstream(dir.file("x.zip"), std::ios::binary) << r.body;
  const std::string cmd = "python3 -c \"import zipfile,sys; z=zipfile.ZipFile(sys.argv[1]); "
                          "assert z.testzip() is None; z.extractall(sys.argv[2])\" " +
                          dir.file("x.zip") + " " + dir.file("out");
  REQUIRE(std::system(cmd.c_str()) == 0);
  auto slurp = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  CHECK(slurp(dir.file("out/t_photo.jsonl")).find(e.record_id) != std::string::npos);
  CHECK(slurp(dir.file("out/media/" + e.record_id + "/site_photo.jpg")) == site);
  CHECK(!std::filesystem::exists(dir.file("out/media/" + e.record_id + "/face_photo.jpg")));
  CHECK(slurp(dir.file("out/media/missing.csv")) ==
        "record_id,field,digest\r\n" + e.record_id + ",face_photo," + store::sha256_hex_of(face) + "\r\n");
}

// Each scenario on both engines: on PostgreSQL the attachment files are rows of its database
// (pg_blobs.hpp); without PostgreSQL those cases print "PostgreSQL engine skipped".
static void on_postgres(void (*scenario)(const std::string&)) {
  const std::string url = test::fresh_pg_database("akt_attach");
  if (url.empty()) return;
  scenario(url);
}

TEST_CASE("attachments: a record pushed before its photos is pending, then complete, resumed chunks, stored once") {
  pending_then_complete({});
}
TEST_CASE("attachments: a record pushed before its photos is pending, then complete, resumed chunks, stored once, on PostgreSQL") {
  on_postgres(pending_then_complete);
}
TEST_CASE("skip_own: a record whose photo arrived after its push comes again") { photo_after_push_comes_again({}); }
TEST_CASE("skip_own: a record whose photo arrived after its push comes again, on PostgreSQL") {
  on_postgres(photo_after_push_comes_again);
}
TEST_CASE("attachments: bad uploads are refused and change nothing") { bad_uploads({}); }
TEST_CASE("attachments: bad uploads are refused and change nothing, on PostgreSQL") { on_postgres(bad_uploads); }
TEST_CASE("attachments: a file is read only by readers of a record referencing it, after redaction") {
  read_only_by_readers({});
}
TEST_CASE("attachments: a file is read only by readers of a record referencing it, after redaction, on PostgreSQL") {
  on_postgres(read_only_by_readers);
}
TEST_CASE("attachments: files no version references are collected after the grace period, others stay") {
  collected_after_grace({});
}
TEST_CASE("attachments: files no version references are collected after the grace period, others stay, on PostgreSQL") {
  on_postgres(collected_after_grace);
}
TEST_CASE("attachments: an export with media=include is a ZIP of the dataset and the photos, M&E refused") {
  export_with_media({});
}
TEST_CASE("attachments: an export with media=include is a ZIP of the dataset and the photos, M&E refused, on PostgreSQL") {
  on_postgres(export_with_media);
}

}  // namespace akt

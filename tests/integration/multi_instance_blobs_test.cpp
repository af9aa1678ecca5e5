// Attachment files with several aktsyncd on one PostgreSQL database (issue #20 item 4, docs/STORE.md §12
// item 5): the files are rows of the database (pg_blobs.hpp), so any server serves any photo, resumes any
// upload and knows every digest. Two in-process servers, each with its own data folder, on the same
// database of the test binary's throwaway cluster. Without PostgreSQL each case prints "PostgreSQL engine
// skipped" (CTest: skipped) unless AKT_REQUIRE_POSTGRES=1.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "schema/store/blob_store.hpp"
#include "server/handlers/handlers.hpp"
#include "sync/wire_json.hpp"
#include "tests/support/edits.hpp"
#include "tests/support/pg_database.hpp"
#include "tests/support/photo_bytes.hpp"
#include "tests/support/test_server.hpp"

using namespace akt;
using nlohmann::json;
using test::bytes_of;
using test::ref_of;

namespace {

constexpr const char* kPw = "a long password 1";
constexpr const char* kPhotoForm =
    R"({"v":1,"form_id":"t_photo","version":1,"title":{"en":"T"},"fields":[)"
    R"({"key":"site_photo","type":"photo","label":{"en":"Site"},"sensitivity":"-"},)"
    R"({"key":"note","type":"text","label":{"en":"Note"},"sensitivity":"-"}]})";

using Headers = std::vector<std::pair<std::string, std::string>>;

client::HttpResult call(test::TestServer& srv, const std::string& method, const std::string& target,
                        const std::string& token, const std::string& body = {}, Headers h = {}) {
  h.emplace_back("Authorization", "Bearer " + token);
  if (h.size() == 1) h.emplace_back("Content-Type", "application/json");
  auto c = srv.client();
  auto r = c.request(method, target, body, h);
  REQUIRE(r.ok());
  return std::move(*r);
}

// Creates an upload of `bytes` as `d` on `srv`; returns its id.
std::string create(test::TestServer& srv, const test::Device& d, const std::string& bytes) {
  const json req{{"v", 1}, {"digest", store::sha256_hex_of(bytes)}, {"size", bytes.size()}, {"type", "image/jpeg"}};
  auto r = call(srv, "POST", "/v1/uploads", d.token, req.dump());
  REQUIRE_MESSAGE(r.status == 201, r.body);
  return json::parse(r.body)["upload"].get<std::string>();
}

client::HttpResult append(test::TestServer& srv, const test::Device& d, const std::string& id, std::size_t offset,
                          std::string_view chunk) {
  return call(srv, "PATCH", "/v1/uploads/" + id, d.token, std::string(chunk),
              {{"Content-Type", "application/offset+octet-stream"}, {"Upload-Offset", std::to_string(offset)}});
}

// Sends bytes [from, to) of `bytes` to upload `id` on `srv` in chunks of `chunk` bytes.
void send(test::TestServer& srv, const test::Device& d, const std::string& id, const std::string& bytes,
          std::size_t from, std::size_t to, std::size_t chunk) {
  for (std::size_t at = from; at < to; at += chunk) {
    auto r = append(srv, d, id, at, std::string_view(bytes).substr(at, std::min(chunk, to - at)));
    REQUIRE_MESSAGE(r.status == 200, r.body);
  }
}

std::vector<std::string> missing(test::TestServer& srv, const test::Device& d, const std::vector<std::string>& digests) {
  auto r = call(srv, "POST", "/v1/blobs/missing", d.token, json{{"v", 1}, {"digests", digests}}.dump());
  REQUIRE_MESSAGE(r.status == 200, r.body);
  return json::parse(r.body)["missing"].get<std::vector<std::string>>();
}

// A record of form t_photo by `d` whose photo field references `photo`.
sync::Edit photo_edit(const test::Device& d, std::int64_t n, std::uint64_t rec, const std::string& photo) {
  json body{{"site_photo", ref_of(photo)}, {"note", "n"}, {"enumerator_id", "enum_07"}, {"team_id", "t1"},
            {"device_id", "tab-1"}, {"started_at", "2026-12-01T09:00:00+01:00"},
            {"ended_at", "2026-12-01T09:30:00+01:00"}, {"app_version", "1"}, {"review_status", "submitted"}};
  std::vector<std::string> changed;
  for (auto it = body.begin(); it != body.end(); ++it) changed.push_back(it.key());
  sync::Edit e = test::make_edit(test::uuid7(1700000000000 + rec, rec), d.actor, n, {}, body.dump(), changed);
  e.form_id = "t_photo";
  e.scope = {"gracanice", "serb", "SO1"};
  return e;
}

std::vector<std::string> pending_of(test::TestServer& srv, const std::string& token, const std::string& record) {
  auto r = call(srv, "GET", "/v1/records/" + record, token);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  auto s = sync::decode_record_state(json::parse(r.body));
  REQUIRE(s.ok());
  return s->pending_upload;
}

// Two servers on one fresh database, the photo form published through A before B starts, an admin
// session (sessions are the database's: valid on both).
struct Pair {
  std::string url;
  std::unique_ptr<test::TestServer> a, b;
  std::string admin;
  bool start() {
    url = test::fresh_pg_database("akt_multiblob");
    if (url.empty()) return false;
    a = std::make_unique<test::TestServer>(server::Limits{}, std::string{}, false, true, url);
    a->create_user("root", "admin", kPw);
    admin = a->login("root", kPw);
    auto c = a->client();
    REQUIRE(c.request("POST", "/v1/admin/forms", kPhotoForm, test::bearer(admin))->status == 201);
    REQUIRE(c.request("POST", "/v1/admin/forms/t_photo/1/publish", "{}", test::bearer(admin))->status == 200);
    b = std::make_unique<test::TestServer>(server::Limits{}, std::string{}, false, true, url);
    REQUIRE(a->data_dir() != b->data_dir());  // nothing shared but the database
    return true;
  }
};

}  // namespace

TEST_CASE("multi-instance photos: uploaded through server A, named in a push through B, served by B byte for byte") {
  Pair p;
  if (!p.start()) return;
  test::TestServer& a = *p.a;
  test::TestServer& b = *p.b;
  const std::string photo = bytes_of(700000, 31);  // three chunk rows (256 KiB each)
  const std::string digest = store::sha256_hex_of(photo);
  send(a, a.a, create(a, a.a, photo), photo, 0, photo.size(), 100000);
  CHECK(missing(a, a.a, {digest}).empty());
  // B knows the digest: device a holds it, and a push through B naming it is complete at once.
  CHECK(missing(b, b.a, {digest}).empty());
  const sync::Edit e = photo_edit(b.a, 1, 1, photo);
  auto bc = b.client();
  auto pushed = test::push(bc, b.a, {"b1", {e}});
  REQUIRE_MESSAGE(pushed.status == 200, pushed.body);
  CHECK_MESSAGE(json::parse(pushed.body)["results"][0]["outcome"] == "applied", pushed.body);
  CHECK(pending_of(b, p.admin, e.record_id).empty());
  CHECK(pending_of(a, p.admin, e.record_id).empty());
  // Served by B, whole and by ranges across the chunk rows.
  auto whole = call(b, "GET", "/v1/blobs/" + digest, p.admin);
  REQUIRE_MESSAGE(whole.status == 200, whole.body);
  CHECK(whole.body == photo);
  CHECK(whole.header("content-type") == "image/jpeg");
  auto part = call(b, "GET", "/v1/blobs/" + digest, p.admin, {}, {{"Range", "bytes=262000-524999"}});
  CHECK(part.status == 206);
  CHECK(part.body == photo.substr(262000, 263000));
  CHECK(call(a, "GET", "/v1/blobs/" + digest, p.admin).body == photo);
  // Neither data folder holds a file: the bytes are the database's.
  CHECK(!std::filesystem::exists(a.data_dir() + "/blobs"));
  CHECK(!std::filesystem::exists(b.data_dir() + "/blobs"));
  // The same photo uploaded again through B by device b is kept once.
  send(b, b.b, create(b, b.b, photo), photo, 0, photo.size(), 300000);
  CHECK(b.app().blobs->digests() == std::vector<std::string>{digest});
  CHECK(a.app().blobs->part_ids().empty());
}

TEST_CASE("multi-instance photos: an upload started through server A resumes through B from the offset A took") {
  Pair p;
  if (!p.start()) return;
  test::TestServer& a = *p.a;
  test::TestServer& b = *p.b;
  const std::string photo = bytes_of(600000, 32);
  const std::string digest = store::sha256_hex_of(photo);
  // The record first (through A): pending until the last byte arrives, whichever server takes it.
  const sync::Edit e = photo_edit(a.a, 1, 2, photo);
  auto ac = a.client();
  REQUIRE(test::push(ac, a.a, {"b1", {e}}).status == 200);
  CHECK(pending_of(a, p.admin, e.record_id) == std::vector<std::string>{"site_photo"});
  const std::string id = create(a, a.a, photo);
  send(a, a.a, id, photo, 0, 200000, 100000);  // two chunks through A, then A's link is lost
  // B holds the offset A acknowledged: HEAD, a second create of the same digest, a wrong offset.
  auto head = call(b, "HEAD", "/v1/uploads/" + id, b.a.token);
  CHECK(head.status == 200);
  CHECK(head.header("upload-offset") == "200000");
  auto again = call(b, "POST", "/v1/uploads", b.a.token,
                    json{{"v", 1}, {"digest", digest}, {"size", photo.size()}, {"type", "image/jpeg"}}.dump());
  CHECK(again.status == 200);
  CHECK(json::parse(again.body)["upload"] == id);
  CHECK(json::parse(again.body)["offset"] == 200000);
  auto wrong = append(b, b.a, id, 0, std::string_view(photo).substr(0, 1000));
  CHECK(wrong.status == 409);
  CHECK(json::parse(wrong.body)["offset"] == 200000);
  CHECK(b.app().blobs->digests().empty());  // nothing partial is ever a blob
  // The rest through B, in chunks that straddle the database's chunk rows; then one more through A is
  // refused (the upload is done).
  send(b, b.a, id, photo, 200000, photo.size(), 150000);
  CHECK(missing(a, a.a, {digest}).empty());
  CHECK(pending_of(a, p.admin, e.record_id).empty());
  auto got = call(a, "GET", "/v1/blobs/" + digest, p.admin);
  REQUIRE(got.status == 200);
  CHECK(got.body == photo);
  CHECK(call(b, "GET", "/v1/blobs/" + digest, p.admin).body == photo);
  CHECK(a.app().blobs->part_ids().empty());
  CHECK(append(a, a.a, id, photo.size(), "x").status == 404);
}

TEST_CASE("multi-instance photos: a collection through server A removes an unreferenced file for B too") {
  Pair p;
  if (!p.start()) return;
  test::TestServer& a = *p.a;
  test::TestServer& b = *p.b;
  const std::string kept = bytes_of(3000, 33), orphan = bytes_of(300000, 34);
  auto bc = b.client();
  REQUIRE(test::push(bc, b.a, {"b1", {photo_edit(b.a, 1, 3, kept)}}).status == 200);
  send(b, b.a, create(b, b.a, kept), kept, 0, kept.size(), 65536);
  send(b, b.a, create(b, b.a, orphan), orphan, 0, orphan.size(), 65536);  // no record references it
  CHECK(*server::collect_unreferenced_blobs(a.app()) == 0);  // both younger than the grace period
  const std::int64_t later = a.app().now_ms() + a.app().config.attachments.gc_grace_ms + 60000;
  a.app().now_ms.freeze_at(later);
  CHECK(*server::collect_unreferenced_blobs(a.app()) == 1);
  CHECK(!b.app().blobs->has(store::sha256_hex_of(orphan)));
  CHECK(b.app().blobs->has(store::sha256_hex_of(kept)));
  CHECK(missing(b, b.a, {store::sha256_hex_of(orphan), store::sha256_hex_of(kept)}) ==
        std::vector<std::string>{store::sha256_hex_of(orphan)});
  CHECK(call(b, "GET", "/v1/blobs/" + store::sha256_hex_of(kept), p.admin).body == kept);
  b.app().now_ms.freeze_at(later);
  CHECK(*server::collect_unreferenced_blobs(b.app()) == 0);  // nothing left for B to collect
  // A collector that decided on a stale look (a record referencing the file committed since, through
  // another server) still keeps it: the removal re-checks the references.
  CHECK(a.app().blobs->remove(store::sha256_hex_of(kept)).ok());
  CHECK(b.app().blobs->has(store::sha256_hex_of(kept)));
}

// `aktsync attach` and the photo step of `aktsync sync`, run as a child process against a real server:
// a photo taken offline reaches the server after the record, and nothing is sent twice.
#include <fstream>
#include <random>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "schema/store/blob_store.hpp"
#include "tests/clients/client_support.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;

namespace {

test::Run aktsync(const test::TempDir& dir, const std::vector<std::string>& args) {
  return test::run_program(AKTSYNC_PATH, args, dir);
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("cli: a photo attached offline is uploaded by sync after its record, once") {
  test::TestServer srv;
  test::TempDir dir;
  const std::string db = dir.file("a.db"), server = "127.0.0.1:" + std::to_string(srv.port());
  REQUIRE(aktsync(dir, {"--db", db, "init", "--server", server, "--actor", srv.a.actor, "--token", srv.a.token}).code == 0);
  test::Run created = aktsync(dir, {"--db", db, "new", "--form", "t_site", "--version", "1", "--municipality", "gracanice",
                                    "--community", "serb", "--component", "SO1", "--set", "note=trench"});
  REQUIRE(created.code == 0);
  const std::string id = created.out.substr(0, 36);
  std::mt19937_64 rng(3);
  std::string photo(400000, '\0');
  for (char& c : photo) c = static_cast<char>(rng() & 0xff);
  std::ofstream(dir.file("site.jpg"), std::ios::binary) << photo;
  const std::string digest = store::sha256_hex_of(photo);
  test::Run attached = aktsync(dir, {"--db", db, "attach", id, "site_photo", dir.file("site.jpg")});
  REQUIRE_MESSAGE(attached.code == 0, attached.err);
  CHECK(has(aktsync(dir, {"--db", db, "show", id}).out, "sha256:" + digest + ";size=400000;type=image/jpeg"));
  CHECK(aktsync(dir, {"--db", db, "attach", id, "site_photo", dir.file("nope.jpg")}).code == 1);

  test::Run s1 = aktsync(dir, {"--db", db, "sync"});
  REQUIRE_MESSAGE(s1.code == 0, s1.err);
  CHECK(has(s1.out, "pushed     2"));  // the new record and the attach edit
  CHECK(has(s1.out, "photos     1 sent, 0 already held, 400000 of 400000 bytes on the wire"));
  CHECK(srv.app().blobs->has(digest));
  auto rec = srv.client().request("GET", "/v1/records/" + id, "", srv.b.auth());
  REQUIRE(rec.ok());
  CHECK(rec->status == 200);
  CHECK(!has(rec->body, "pending_upload"));
  auto blob = srv.client().request("GET", "/v1/blobs/" + digest, "", srv.b.auth());
  CHECK(blob->status == 200);
  CHECK(blob->body == photo);
  // A second sync sends nothing; the photo is not in the outbox of files any more.
  test::Run s2 = aktsync(dir, {"--db", db, "sync"});
  REQUIRE(s2.code == 0);
  CHECK(!has(s2.out, "photos"));
}

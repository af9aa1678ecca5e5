// The attachment file store (blob_store.hpp): content addressing, fan-out, verification before a file
// becomes visible, one copy per content, resumable partials.
#include "schema/store/blob_store.hpp"

#include <sys/stat.h>

#include <fstream>

#include <doctest/doctest.h>

#include "sync/attachment_json.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("blob store: a file is named by its SHA-256 under fan-out directories and stored once") {
  test::TempDir dir;
  auto s = store::FileBlobStore::open(dir.path());
  REQUIRE(s.ok());
  std::string digest;
  REQUIRE((*s)->put("abc", &digest).ok());
  CHECK(digest == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK((*s)->path_of(digest) == dir.path() + "/blobs/ba/78/" + digest);
  CHECK(slurp((*s)->path_of(digest)) == "abc");
  CHECK((*s)->has(digest));
  CHECK(*(*s)->size_of(digest) == 3);
  REQUIRE((*s)->put("abc").ok());
  CHECK((*s)->digests() == std::vector<std::string>{digest});
  CHECK(!(*s)->has("../etc/passwd"));
  CHECK(!(*s)->has(std::string(64, 'A')));
}

TEST_CASE("blob store: partial uploads append at their offset and become a blob only with the right digest") {
  test::TempDir dir;
  auto s = store::FileBlobStore::open(dir.path());
  REQUIRE(s.ok());
  const std::string id = "0123456789abcdef0123456789abcdef";
  CHECK(*(*s)->part_size(id) == -1);
  REQUIRE((*s)->start_part(id).ok());
  CHECK(*(*s)->part_size(id) == 0);
  REQUIRE((*s)->append(id, 0, "hello ").ok());
  CHECK((*s)->append(id, 0, "hello ").code() == Status::Code::kConflict);  // not at the end
  REQUIRE((*s)->append(id, 6, "world").ok());
  CHECK(*(*s)->part_size(id) == 11);
  CHECK((*s)->digests().empty());  // a partial is never a blob
  SUBCASE("the wrong digest discards it") {
    const Status st = (*s)->promote(id, store::sha256_hex_of("hello there"));
    CHECK(st.code() == Status::Code::kInvalidArgument);
    CHECK((*s)->digests().empty());
    CHECK((*s)->part_ids().empty());
  }
  SUBCASE("the right digest makes it the blob, atomically") {
    const std::string d = store::sha256_hex_of("hello world");
    REQUIRE((*s)->promote(id, d).ok());
    CHECK(slurp((*s)->path_of(d)) == "hello world");
    CHECK((*s)->part_ids().empty());
    CHECK(*(*s)->part_size(id) == -1);
    // A second upload of the same bytes is verified, then dropped: one copy.
    const std::string id2 = "fedcba9876543210fedcba9876543210";
    REQUIRE((*s)->start_part(id2).ok());
    REQUIRE((*s)->append(id2, 0, "hello world").ok());
    REQUIRE((*s)->promote(id2, d).ok());
    CHECK((*s)->digests().size() == 1);
    CHECK((*s)->part_ids().empty());
  }
  CHECK((*s)->append("../../x", 0, "x").code() == Status::Code::kInvalidArgument);
}

TEST_CASE("attachment references: found in bodies with their paths, repeat items by item id") {
  const std::string a(64, 'a'), b(64, 'b');
  const std::string ra = "sha256:" + a + ";size=10;type=image/jpeg", rb = "sha256:" + b + ";size=2;type=image/png";
  const std::string body = R"({"note":"sha256:nope","p":")" + ra + R"(","visit":[{"visit_id":"V-1","ph":")" + rb +
                           R"("},{"visit_id":"V-2","ph":null}]})";
  const std::map<std::string, std::string> ids{{"visit", "visit_id"}};
  auto found = sync::find_attachment_refs(body, &ids);
  REQUIRE(found.size() == 2);
  CHECK(found[0].first == "p");
  CHECK(found[0].second.digest == a);
  CHECK(found[0].second.size == 10);
  CHECK(found[1].first == "visit[V-1].ph");
  CHECK(found[1].second.media_type == "image/png");
  CHECK(sync::find_attachment_refs("not json").empty());
}

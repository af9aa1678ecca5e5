// The attachment file store's contract (blob_store.hpp), on each engine's implementation: the data
// folder's files (FileBlobStore, next to SQLite) and the database's chunk rows (PgBlobStore, on the
// case's fresh PostgreSQL database). A partial is never a blob, its length is the resume offset, a wrong
// offset changes nothing, the digest decides the promotion, the same bytes are kept once, a reader hands
// out pieces from any offset, and copy_blobs (the migration's copy) verifies what it moved.
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "schema/store/blob_store.hpp"
#include "tests/store/contract/engines.hpp"
#include "tests/support/photo_bytes.hpp"
#include "tests/support/temp_dir.hpp"
#ifdef AKT_HAVE_POSTGRES
#include "schema/store/postgres/pg_blobs.hpp"
#endif

using namespace akt;

namespace {

// The engine's blob store; `dir` holds the SQLite engine's folder.
std::unique_ptr<store::BlobStore> blobs_of(test::Engine& engine, test::TempDir& dir) {
  if (engine.kind == test::EngineKind::kSqlite) {
    auto s = store::FileBlobStore::open(dir.path());
    REQUIRE(s.ok());
    return std::move(*s);
  }
#ifdef AKT_HAVE_POSTGRES
  auto s = store::PgBlobStore::open(engine.url);
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  return std::move(*s);
#else
  FAIL("no PostgreSQL engine in this build");
  return nullptr;
#endif
}

// Every byte of a blob from `offset`, read in pieces of `piece` bytes.
std::string read_all(const store::BlobStore& s, const std::string& digest, std::int64_t offset, std::size_t piece) {
  auto reader = s.open_reader(digest, offset);
  REQUIRE_MESSAGE(reader.ok(), reader.status().message());
  std::string out, buf;
  for (;;) {
    REQUIRE((*reader)->read(buf, piece).ok());
    if (buf.empty()) return out;
    CHECK(buf.size() <= piece);
    out += buf;
  }
}

}  // namespace

AKT_CONTRACT_CASE("blob store: a partial resumes at its length and becomes a blob only whole and verified") {
  test::TempDir dir;
  auto s = blobs_of(engine, dir);
  const std::string bytes = test::bytes_of(700001, 61);  // past two 256 KiB chunk rows
  const std::string digest = store::sha256_hex_of(bytes);
  const std::string id = "0123456789abcdef0123456789abcdef";
  CHECK(*s->part_size(id) == -1);
  CHECK(*s->part_mtime_ms(id) == 0);
  REQUIRE(s->start_part(id).ok());
  CHECK(*s->part_size(id) == 0);
  CHECK(*s->part_mtime_ms(id) > 1700000000000);
  // Appends of sizes that end inside, at and across chunk rows.
  std::size_t at = 0;
  const std::vector<std::size_t> sizes{100000, 162144, 1, 300000, 137856};
  for (std::size_t n : sizes) {
    REQUIRE(s->append(id, static_cast<std::int64_t>(at), std::string_view(bytes).substr(at, n)).ok());
    at += n;
    CHECK(*s->part_size(id) == static_cast<std::int64_t>(at));
    // A chunk at an offset other than the length (before it, inside a row, after it) is refused and
    // changes nothing.
    for (std::size_t wrong : {std::size_t{0}, at / 2 + 1, at - 1, at + 1}) {
      CAPTURE(wrong);
      CHECK(s->append(id, static_cast<std::int64_t>(wrong), "x").code() == Status::Code::kConflict);
    }
    CHECK(*s->part_size(id) == static_cast<std::int64_t>(at));
  }
  CHECK(at == 700001);
  CHECK(!s->has(digest));
  CHECK(s->digests().empty());  // a partial is never a blob
  CHECK(s->part_ids() == std::vector<std::string>{id});
  SUBCASE("the wrong digest discards the partial") {
    const Status st = s->promote(id, store::sha256_hex_of(bytes + "x"));
    CHECK(st.code() == Status::Code::kInvalidArgument);
    CHECK(s->digests().empty());
    CHECK(s->part_ids().empty());
    CHECK(*s->part_size(id) == -1);
  }
  SUBCASE("the right digest makes it the blob, read back in pieces from any offset, kept once") {
    REQUIRE(s->promote(id, digest).ok());
    CHECK(s->has(digest));
    CHECK(*s->size_of(digest) == 700001);
    CHECK(*s->written_ms(digest) > 1700000000000);
    CHECK(s->part_ids().empty());
    CHECK(*s->part_size(id) == -1);
    CHECK(read_all(*s, digest, 0, 65536) == bytes);
    CHECK(read_all(*s, digest, 262143, 1000) == bytes.substr(262143));
    CHECK(read_all(*s, digest, 700001, 10).empty());
    {
      auto r = s->open_reader(digest, 262140);
      REQUIRE(r.ok());
      std::string piece;
      REQUIRE((*r)->read(piece, 10).ok());
      CHECK(piece == bytes.substr(262140, piece.size()));  // up to 10 bytes: a reader may stop at a row's end
      CHECK(!piece.empty());
    }
    // The same bytes uploaded again: verified, then dropped.
    const std::string id2 = "fedcba9876543210fedcba9876543210";
    REQUIRE(s->start_part(id2).ok());
    REQUIRE(s->append(id2, 0, bytes).ok());
    REQUIRE(s->promote(id2, digest).ok());
    CHECK(s->digests() == std::vector<std::string>{digest});
    CHECK(s->part_ids().empty());
    std::string again;
    REQUIRE(s->put(bytes, &again).ok());
    CHECK(again == digest);
    CHECK(s->digests().size() == 1);
    // Removed: gone for has, size and readers; removing again is fine.
    REQUIRE(s->remove(digest).ok());
    CHECK(!s->has(digest));
    CHECK(s->size_of(digest).status().code() == Status::Code::kNotFound);
    CHECK(s->open_reader(digest, 0).status().code() == Status::Code::kNotFound);
    CHECK(s->remove(digest).ok());
  }
  CHECK(s->append("../../x", 0, "x").code() == Status::Code::kInvalidArgument);
  CHECK(!s->has("../etc/passwd"));
}

AKT_CONTRACT_CASE("blob store: copy_blobs moves every file of a folder and checks each one") {
  test::TempDir dir, source_dir;
  auto s = blobs_of(engine, dir);
  auto source = store::FileBlobStore::open(source_dir.path());
  REQUIRE(source.ok());
  std::vector<std::string> files{test::bytes_of(1, 62), test::bytes_of(262144, 63), test::bytes_of(600000, 64)};
  for (const std::string& f : files) REQUIRE((*source)->put(f).ok());
  REQUIRE(s->put(files[0]).ok());  // already at the target: counted, not copied again
  store::BlobCopyReport report;
  REQUIRE(store::copy_blobs(**source, *s, report).ok());
  CHECK(report.count == 3);
  CHECK(report.copied == 2);
  CHECK(report.added.size() == 2);
  CHECK(report.bytes == 1 + 262144 + 600000);
  CHECK(s->digests().size() == 3);
  for (const std::string& f : files) CHECK(read_all(*s, store::sha256_hex_of(f), 0, 100000) == f);
  CHECK(s->part_ids().empty());
  // A source file whose bytes are not its name's is refused at the target, and not made a blob there.
  auto bad_source_dir = std::make_unique<test::TempDir>();
  auto bad = store::FileBlobStore::open(bad_source_dir->path());
  REQUIRE(bad.ok());
  const std::string photo = test::bytes_of(5000, 65);
  std::string digest;
  REQUIRE((*bad)->put(photo, &digest).ok());
  {
    std::FILE* f = std::fopen((*bad)->path_of(digest).c_str(), "r+b");
    REQUIRE(f);
    std::fputc('!', f);
    std::fclose(f);
  }
  store::BlobCopyReport bad_report;
  const Status st = store::copy_blobs(**bad, *s, bad_report);
  CHECK(st.code() == Status::Code::kIOError);
  CHECK(st.message().find("does not verify") != std::string::npos);
  CHECK(!s->has(digest));
  CHECK(bad_report.added.empty());
  CHECK(s->part_ids().empty());
}

#ifdef AKT_HAVE_POSTGRES
namespace {

// Two servers (two PgBlobStores on one database) append to one upload at the same offset at once, 20
// times: each time exactly one chunk is taken and the other refused (the row lock and the offset check
// under it), and the partial is exactly the winners' bytes.
void appends_take_turns(test::Engine& engine) {
  auto one = store::PgBlobStore::open(engine.url), two = store::PgBlobStore::open(engine.url);
  REQUIRE(one.ok());
  REQUIRE(two.ok());
  const std::string id = "00112233445566778899aabbccddeeff";
  REQUIRE((*one)->start_part(id).ok());
  std::string expected = test::bytes_of(100000, 66);
  REQUIRE((*one)->append(id, 0, expected).ok());
  for (int round = 0; round < 20; ++round) {
    const std::int64_t offset = static_cast<std::int64_t>(expected.size());
    const std::string a = test::bytes_of(5000, 100 + static_cast<std::uint64_t>(round)),
                      b = test::bytes_of(7000, 200 + static_cast<std::uint64_t>(round));
    std::atomic<int> ready{0};
    Status sa, sb;
    std::thread ta([&] {
      ready.fetch_add(1);
      while (ready.load() < 2) {}
      sa = (*one)->append(id, offset, a);
    });
    std::thread tb([&] {
      ready.fetch_add(1);
      while (ready.load() < 2) {}
      sb = (*two)->append(id, offset, b);
    });
    ta.join();
    tb.join();
    CHECK(sa.ok() != sb.ok());
    CHECK((sa.ok() || sa.code() == Status::Code::kConflict));
    CHECK((sb.ok() || sb.code() == Status::Code::kConflict));
    expected += sa.ok() ? a : b;
    REQUIRE(*(*two)->part_size(id) == static_cast<std::int64_t>(expected.size()));
  }
  REQUIRE((*two)->promote(id, store::sha256_hex_of(expected)).ok());
  CHECK(read_all(**one, store::sha256_hex_of(expected), 0, 65536) == expected);
}

}  // namespace

TEST_CASE("postgres: blob store: appends to one upload through two servers at once take turns") {
  test::run_contract(test::EngineKind::kPostgres, appends_take_turns);
}
#endif

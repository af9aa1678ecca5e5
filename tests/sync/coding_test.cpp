// The content codings (sync/zstd.hpp, sync/content_coding.hpp): which coding an Accept-Encoding asks
// for, zstd round trips, the decompression-bomb and window limits, trailing bytes, and what a cut
// stream still decodes to.
#include <doctest/doctest.h>

#include <string>

#include "sync/content_coding.hpp"
#include "sync/gzip.hpp"
#include "sync/zstd.hpp"

using namespace akt;
using sync::Coding;

namespace {

// ~200 KB of JSON-like text that compresses about as survey records do, not to nothing.
std::string sample(std::size_t records) {
  std::string s = R"({"v":1,"changes":[)";
  unsigned x = 12345;
  for (std::size_t i = 0; i < records; ++i) {
    x = x * 1103515245u + 12345u;
    if (i) s += ',';
    s += R"({"record":"0190f5c2-7a1e-7cc0-9a4b-)" + std::to_string(100000000000u + i) + R"(","seq":)" +
         std::to_string(i) + R"(,"body":{"pct":)" + std::to_string(x % 101) + R"(,"note":"visit )" +
         std::to_string(x % 9973) + R"( of the water supply works, Shtërpcë / Štrpce"}})";
  }
  return s + "]}";
}

}  // namespace

TEST_CASE("coding: zstd is chosen when preferred over gzip, q-values honoured") {
  CHECK(sync::answer_coding("zstd, gzip;q=0.5") == Coding::kZstd);  // the aktsync client's
  CHECK(sync::answer_coding("zstd, gzip") == Coding::kGzip);        // a tie goes to gzip
  CHECK(sync::answer_coding("gzip, deflate, br, zstd") == Coding::kGzip);  // Chromium's: a tie
  CHECK(sync::answer_coding("zstd") == Coding::kZstd);
  CHECK(sync::answer_coding("ZSTD ; q=1") == Coding::kZstd);
  CHECK(sync::answer_coding("zstd;q=0.5, gzip;q=0.5") == Coding::kGzip);   // a tie goes to gzip
  CHECK(sync::answer_coding("zstd;q=0.001") == Coding::kZstd);
  CHECK(sync::answer_coding("gzip") == Coding::kGzip);
  CHECK(sync::answer_coding("*") == Coding::kGzip);                       // `*` never means zstd
  CHECK(sync::answer_coding("zstd;q=0, gzip") == Coding::kGzip);
  CHECK(sync::answer_coding("zstd;q=0.0, *") == Coding::kGzip);
  CHECK(sync::answer_coding("gzip;q=1, zstd;q=0.5") == Coding::kGzip);
  CHECK(sync::answer_coding("zstd;q=0.5, *") == Coding::kGzip);            // gzip through `*`, at q=1
  CHECK(sync::answer_coding("zstd;q=0.5, *;q=0.4") == Coding::kZstd);
  CHECK(sync::answer_coding("zstd;q=0") == Coding::kIdentity);
  CHECK(sync::answer_coding("zstd;q=0.000, gzip;q=0") == Coding::kIdentity);
  CHECK(sync::answer_coding("") == Coding::kIdentity);
  CHECK(sync::answer_coding("br, deflate") == Coding::kIdentity);
  CHECK(sync::answer_coding("zstdx, xzstd") == Coding::kIdentity);
  CHECK(sync::coding_q("gzip;q=0.25", "gzip") == doctest::Approx(0.25));
  CHECK(sync::coding_q("gzip", "zstd") < 0);
  CHECK(sync::coding_name(Coding::kZstd) == "zstd");
}

TEST_CASE("coding: gzip acceptance is read the same way as zstd's, a named q=0 winning over *") {
  CHECK(sync::accepts_gzip("gzip"));
  CHECK(sync::accepts_gzip("GZip;Q=0.5"));                 // codings and parameter names ignore case
  CHECK(sync::accepts_gzip(" deflate , gzip ; q=0.001 "));
  CHECK(sync::accepts_gzip("*"));
  CHECK(sync::accepts_gzip("br, *;q=0.1"));
  CHECK_FALSE(sync::accepts_gzip("gzip;q=0, *"));           // the named coding's own q wins over `*`
  CHECK_FALSE(sync::accepts_gzip("*, gzip;q=0"));
  CHECK_FALSE(sync::accepts_gzip("gzip;q=0.000"));
  CHECK_FALSE(sync::accepts_gzip("*;q=0"));
  CHECK_FALSE(sync::accepts_gzip(""));
  CHECK_FALSE(sync::accepts_gzip("identity, br"));
  CHECK_FALSE(sync::accepts_gzip("xgzip, gzipx"));
  // The answer's coding follows the same reading.
  CHECK(sync::answer_coding("gzip;q=0, *") == Coding::kIdentity);
  CHECK(sync::answer_coding("gzip;q=0, zstd") == Coding::kZstd);
  CHECK(sync::answer_coding("GZIP") == Coding::kGzip);
}

TEST_CASE("coding: zstd round trip, with and without block ends") {
  const std::string in = sample(2000);
  for (std::size_t flush : {std::size_t{0}, std::size_t{4096}, std::size_t{32768}}) {
    const std::string z = sync::zstd(in, 6, flush);
    REQUIRE_FALSE(z.empty());
    CHECK(z.size() < in.size() / 4);
    auto back = sync::unzstd(z, in.size());
    REQUIRE(back.ok());
    CHECK(*back == in);
    CHECK(sync::unzstd_prefix(z, 1u << 30) == in);
  }
  auto empty = sync::unzstd(sync::zstd("", 6), 16);
  REQUIRE(empty.ok());
  CHECK(empty->empty());
}

TEST_CASE("coding: unzstd refuses bad, truncated, trailing and oversized input precisely") {
  const std::string in = sample(300);
  const std::string z = sync::zstd(in, 6);
  auto bad = sync::unzstd("not zstd at all", 1u << 20);
  CHECK(bad.status().code() == Status::Code::kInvalidArgument);
  auto cut = sync::unzstd(std::string_view(z).substr(0, z.size() - 5), 1u << 20);
  CHECK(cut.status().code() == Status::Code::kInvalidArgument);
  CHECK(cut.status().message().find("truncated") != std::string::npos);
  auto trailing = sync::unzstd(z + "x", 1u << 20);
  CHECK(trailing.status().code() == Status::Code::kInvalidArgument);
  CHECK(trailing.status().message().find("after the end") != std::string::npos);
  auto two = sync::unzstd(z + z, 1u << 20);
  CHECK(two.status().code() == Status::Code::kInvalidArgument);
  std::string corrupt = z;
  corrupt[corrupt.size() - 2] = static_cast<char>(corrupt[corrupt.size() - 2] ^ 0x55);  // the checksum
  CHECK(sync::unzstd(corrupt, 1u << 20).status().code() == Status::Code::kInvalidArgument);
  // One byte over the limit is too large; the limit itself is fine.
  CHECK(sync::unzstd(z, in.size()).ok());
  CHECK(sync::unzstd(z, in.size() - 1).status().code() == Status::Code::kTooLarge);
  // A bomb: 64 MiB of spaces in a few KiB stops at the limit.
  const std::string bomb = sync::zstd(std::string(64u << 20, ' '), 19);
  CHECK(bomb.size() < 8192);
  auto b = sync::unzstd(bomb, 1u << 20);
  CHECK(b.status().code() == Status::Code::kTooLarge);
  // A frame asking for a 16 MiB window (2^24, over kZstdWindowLogMax; no content size) is refused before
  // any allocation of it, though libzstd's own default would take it; an 8 MiB one is fine.
  const std::string window_24("\x28\xb5\x2f\xfd\x00\x70\x01\x00\x00", 9);
  auto w = sync::unzstd(window_24, 1u << 30);
  CHECK(w.status().code() == Status::Code::kInvalidArgument);
  CHECK(w.status().message().find("memory") != std::string::npos);
  const std::string window_23("\x28\xb5\x2f\xfd\x00\x68\x01\x00\x00", 9);
  CHECK(sync::unzstd(window_23, 1u << 30).ok());
}

TEST_CASE("coding: a cut zstd stream decodes up to its last block end, gzip's everywhere") {
  const std::string in = sample(1500);  // ~200 KB
  REQUIRE(in.size() > 150000);
  const std::string flushed = sync::zstd(in, 6, 32768);
  const std::string half = flushed.substr(0, flushed.size() / 2);
  const std::string got = sync::unzstd_prefix(half, 1u << 30);
  CHECK(in.compare(0, got.size(), got) == 0);  // a prefix of what was sent
  // At least all but the last block end's worth of the half that arrived.
  CHECK(got.size() + 32768 >= in.size() / 2 - 32768);
  CHECK(got.size() < in.size());
  // Without block ends, most of the half is lost (one block is 128 KiB of input).
  const std::string one = sync::zstd(in, 6);
  CHECK(sync::unzstd_prefix(one.substr(0, one.size() / 2), 1u << 30).size() < got.size());
  // The limit caps what a prefix decodes to.
  CHECK(sync::unzstd_prefix(flushed, 1000).size() == 1000);
  CHECK(sync::unzstd_prefix("garbage", 1000).empty());
}

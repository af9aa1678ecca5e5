// Fuzzes unzstd (Content-Encoding: zstd request bodies): never crashes, never exceeds its output cap,
// fails only with kInvalidArgument or kTooLarge, whatever it decodes comes back unchanged through
// zstd -> unzstd, and unzstd_prefix (a cut answer) never returns more than unzstd would.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "sync/zstd.hpp"

namespace {

constexpr std::size_t kCap = 1 << 20;  // 1 MiB

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_unzstd: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace akt;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::string prefix = sync::unzstd_prefix(in, kCap);
  if (prefix.size() > kCap) fail("unzstd_prefix returned more than max_out bytes");
  auto out = sync::unzstd(in, kCap);
  if (!out.ok()) {
    const auto code = out.status().code();
    if (code != Status::Code::kInvalidArgument && code != Status::Code::kTooLarge)
      fail("unzstd failed with a code other than kInvalidArgument / kTooLarge");
    return 0;
  }
  if (out->size() > kCap) fail("unzstd returned more than max_out bytes");
  if (*out != prefix) fail("unzstd_prefix of a whole frame differs from unzstd");
  const std::string again = sync::zstd(*out, 3, 4096);
  auto back = sync::unzstd(again, kCap);
  if (!back.ok()) fail("unzstd(zstd(x)) failed");
  if (*back != *out) fail("unzstd(zstd(x)) != x");
  return 0;
}

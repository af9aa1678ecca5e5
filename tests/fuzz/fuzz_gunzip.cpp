// Fuzzes gunzip (Content-Encoding: gzip request bodies): never crashes, never exceeds its output cap,
// and whatever it inflates comes back unchanged through gzip -> gunzip.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "sync/gzip.hpp"

namespace {

constexpr std::size_t kCap = 1 << 20;  // 1 MiB

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_gunzip: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace akt;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto out = sync::gunzip(in, kCap);
  if (!out.ok()) {
    const auto code = out.status().code();
    if (code != Status::Code::kInvalidArgument && code != Status::Code::kTooLarge)
      fail("gunzip failed with a code other than kInvalidArgument / kTooLarge");
    return 0;
  }
  if (out->size() > kCap) fail("gunzip returned more than max_out bytes");
  const std::string again = sync::gzip(*out);
  auto back = sync::gunzip(again, kCap);
  if (!back.ok()) fail("gunzip(gzip(x)) failed");
  if (*back != *out) fail("gunzip(gzip(x)) != x");
  return 0;
}

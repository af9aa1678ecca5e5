#include "sync/hex.hpp"
#include "sync/uuid.hpp"

#include <doctest/doctest.h>

using namespace akt::sync;

TEST_CASE("uuid: parse and format round trip, canonical lowercase") {
  auto b = parse_uuid("0190F5C2-7A1E-7CC0-9A4B-2F1E3D4C5B6A");
  REQUIRE(b);
  CHECK(format_uuid(*b) == "0190f5c2-7a1e-7cc0-9a4b-2f1e3d4c5b6a");
}

TEST_CASE("uuid: malformed text is refused") {
  for (const char* s : {"", "0190f5c2-7a1e-7cc0-9a4b-2f1e3d4c5b6", "0190f5c27a1e7cc09a4b2f1e3d4c5b6a0000",
                        "0190f5c2-7a1e-7cc0-9a4b-2f1e3d4c5b6g", "0190f5c2_7a1e-7cc0-9a4b-2f1e3d4c5b6a"}) {
    CHECK_FALSE(parse_uuid(s));
  }
}

TEST_CASE("uuid: v7 is time-ordered and has version and variant bits") {
  std::array<std::uint8_t, 10> r{};
  r.fill(0xFF);
  auto a = make_uuid_v7(1000, r), b = make_uuid_v7(1001, {});
  CHECK(a < b);
  CHECK((a[6] >> 4) == 7);
  CHECK((a[8] >> 6) == 2);
  auto v4 = make_uuid_v4({});
  CHECK((v4[6] >> 4) == 4);
}

TEST_CASE("hex: bytes to lowercase hex and back, odd lengths and non-hex digits refused") {
  const std::string bytes("\x00\x7f\x80\xff\x0a", 5);
  CHECK(to_hex(bytes) == "007f80ff0a");
  CHECK(from_hex("007F80ff0A") == bytes);
  CHECK(from_hex("") == std::string());
  CHECK_FALSE(from_hex("abc"));
  CHECK_FALSE(from_hex("0g"));
  CHECK_FALSE(from_hex("-1"));
  CHECK(hex_digit_value('F') == 15);
  CHECK(hex_digit_value('G') == -1);
}

// The feed cursor's codec (sync/cursor.hpp): what it hands out, it takes back; anything else is refused.
#include <doctest/doctest.h>

#include "sync/cursor.hpp"

using akt::sync::encode_cursor;
using akt::sync::FeedCursor;
using akt::sync::parse_cursor;

TEST_CASE("cursor: encode and parse round-trip, from the start of the feed to the largest seq") {
  for (std::int64_t seq : {std::int64_t{0}, std::int64_t{1}, std::int64_t{1200}, std::int64_t{999999999999999999}}) {
    for (std::int64_t scope : {std::int64_t{0}, std::int64_t{7}}) {
      const std::string text = encode_cursor({"0123456789abcdef", seq, scope});
      const auto c = parse_cursor(text);
      REQUIRE_MESSAGE(c.has_value(), text);
      CHECK(c->epoch == "0123456789abcdef");
      CHECK(c->seq == seq);
      CHECK(c->scope_version == scope);
    }
  }
  CHECK(encode_cursor({"7f3a000000000000", 1200, 0}) == "7f3a000000000000-1200-0");
}

TEST_CASE("cursor: malformed cursors are refused, a cursor of another epoch is not") {
  CHECK(parse_cursor("ffffffffffffffff-1-0").has_value());  // another server's epoch: the caller decides (410)
  const char* bad[] = {
      "",                                    // empty (the caller treats an absent `since` as the start)
      "0123456789abcdef",                    // no seq
      "0123456789abcdef-1",                  // no scope version
      "0123456789abcdef-1-",                 // empty scope version
      "0123456789abcdef--0",                 // empty seq
      "0123456789abcdef-+1-0",               // sign
      "0123456789abcdef--1-0",               // negative seq
      "0123456789abcdef-1--1",               // negative scope version
      "0123456789abcdef-1-0 ",               // trailing space
      "0123456789abcdef-1-0-",               // a fourth part
      "0123456789abcdef-1-0x",               // trailing letters
      "0123456789ABCDEF-1-0",                // upper-case epoch
      "0123456789abcde-1-0",                 // 15 digits of epoch
      "0123456789abcdef0-1-0",               // 17 digits of epoch
      "0123456789abcdeg-1-0",                // not hex
      "0123456789abcdef-1000000000000000000-0",  // 19 digits: out of range
      "0123456789abcdef-1-1000000000000000000",
      "0123456789abcdef- 1-0",
  };
  for (const char* b : bad) CHECK_MESSAGE(!parse_cursor(b).has_value(), '"' << b << '"');
}

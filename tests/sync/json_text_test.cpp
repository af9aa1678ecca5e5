// The hand-written JSON text helpers: the one string escaper (feed, push answers, exports), and the
// shallow top-level member scan.
#include "sync/json_text.hpp"
#include "sync/json_scan.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <random>
#include <utility>
#include <vector>

using akt::sync::append_json_string;
using akt::sync::for_each_top_member;

namespace {

std::string escaped(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

}  // namespace

TEST_CASE("json text: every escape class") {
  CHECK(escaped("") == "\"\"");
  CHECK(escaped("\"") == "\"\\\"\"");
  CHECK(escaped("\\") == "\"\\\\\"");
  CHECK(escaped("/") == "\"/\"");  // never escaped
  CHECK(escaped("\n\r\t\b\f") == "\"\\n\\r\\t\\b\\f\"");
  CHECK(escaped(std::string("\0", 1)) == "\"\\u0000\"");
  CHECK(escaped("\x01\x0b\x0e\x1f") == "\"\\u0001\\u000b\\u000e\\u001f\"");
  CHECK(escaped("\x7f") == "\"\x7f\"");  // DEL is not a control byte for JSON
  for (int c = 0; c < 0x20; ++c) {
    const std::string s(1, static_cast<char>(c));
    CHECK(escaped(s) == nlohmann::json(s).dump());
  }
}

TEST_CASE("json text: UTF-8 passes through, invalid bytes are copied as they are (callers validate)") {
  const std::string valid = "Graçanicë Грачаница 𝄞 ✓";
  CHECK(escaped(valid) == "\"" + valid + "\"");
  CHECK(escaped(valid) == nlohmann::json(valid).dump());
  // Today's contract: REQUIRES valid UTF-8; given invalid bytes it neither replaces nor drops them.
  const std::string invalid = "a\xff\xc3(b\xe2\x82";
  CHECK(escaped(invalid) == "\"" + invalid + "\"");
}

TEST_CASE("json text: long runs, escapes at the edges and scattered, appended after existing text") {
  std::mt19937 rng(21);
  const std::string alphabet = "abcdefghij ĉ\"\\\n\t\x01/";
  for (std::size_t len : {1u, 15u, 16u, 17u, 63u, 64u, 65u, 4096u, 1u << 20}) {
    std::string s;
    s.reserve(len);
    // Mostly plain bytes, with a rare byte to escape, so that runs of every length are copied.
    std::uniform_int_distribution<int> pick(0, 999);
    while (s.size() < len) {
      const int r = pick(rng);
      if (r < 5) s += alphabet.substr(13 + static_cast<std::size_t>(r), 1);  // '"', '\\', '\n', '\t', 0x01
      else s.push_back(static_cast<char>('a' + r % 26));
    }
    std::string out = "prefix:";
    append_json_string(out, s);
    CHECK(out == "prefix:" + nlohmann::json(s).dump());
    s.front() = '"';
    s.back() = '\n';
    CHECK(escaped(s) == nlohmann::json(s).dump());
  }
  const std::string plain(1 << 20, 'x');
  CHECK(escaped(plain) == "\"" + plain + "\"");
}

namespace {

// The escaper scans 8 bytes at a time: an escape byte at every offset of words and tails, and each byte
// next to an escape class, against a plain byte-by-byte reference, so that a word or run cut one byte
// short or long fails here.
std::string reference_escape(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c == '\b') out += "\\b";
    else if (c == '\f') out += "\\f";
    else if (c < 0x20) {
      char u[8];
      std::snprintf(u, sizeof u, "\\u%04x", c);
      out += u;
    } else out.push_back(ch);
  }
  return out + "\"";
}

}  // namespace

TEST_CASE("json text: one byte of every class at every offset of strings of 1 to 33 bytes") {
  const unsigned char probes[] = {0x00, 0x01, 0x08, 0x09, 0x0a, 0x0c, 0x0d, 0x1f, 0x20, 0x21, 0x22, 0x23,
                                  0x2f, 0x5b, 0x5c, 0x5d, 0x7f, 0x80, 0xa2, 0xdc, 0xff};
  for (unsigned char probe : probes) {
    for (std::size_t len = 1; len <= 33; ++len) {
      for (std::size_t at = 0; at < len; ++at) {
        std::string s(len, 'a');
        s[at] = static_cast<char>(probe);
        const std::string want = reference_escape(s);
        std::string got = "x";
        append_json_string(got, s);
        if (got != "x" + want) FAIL_CHECK("byte " << static_cast<int>(probe) << " at " << at << " of " << len);
        // The same byte twice in a row, and at both ends.
        if (at + 1 < len) {
          s[at + 1] = static_cast<char>(probe);
          if (escaped(s) != reference_escape(s)) FAIL_CHECK("pair " << static_cast<int>(probe) << " at " << at << " of " << len);
        }
        s.front() = s.back() = static_cast<char>(probe);
        if (escaped(s) != reference_escape(s)) FAIL_CHECK("ends " << static_cast<int>(probe) << " of " << len);
      }
    }
  }
  // Every byte value in every position of a word, next to plain text on both sides.
  for (int c = 0; c < 256; ++c)
    for (std::size_t at = 0; at < 8; ++at) {
      std::string s = "0123456789abcdefghijklmnop";
      s[8 + at] = static_cast<char>(c);
      if (escaped(s) != reference_escape(s)) FAIL_CHECK("byte " << c << " at " << 8 + at);
    }
  // Multibyte UTF-8 across word boundaries passes through byte for byte.
  std::string multi;
  for (int i = 0; i < 40; ++i) multi += i % 3 ? "\xc3\xab" : "\xf0\x9d\x84\x9e";
  for (std::size_t cut = 0; cut < 9; ++cut) {
    const std::string s = std::string(cut, 'z') + multi + "\"";
    CHECK(escaped(s) == nlohmann::json(s).dump());
  }
}

TEST_CASE("json text: for_each_top_member gives each top-level member as raw text") {
  std::vector<std::pair<std::string, std::string>> got;
  auto collect = [&got](std::string_view k, std::string_view v) {
    got.emplace_back(k, v);
    return true;
  };
  CHECK(for_each_top_member(
      R"({"a":1,"b":"x\"}y","c":{"d":[1,{"e":"]"}]},"f":[],"g":null,"h":-1.5e3,"i":true})", collect));
  const std::vector<std::pair<std::string, std::string>> want{
      {"\"a\"", "1"},      {"\"b\"", R"("x\"}y")"}, {"\"c\"", R"({"d":[1,{"e":"]"}]})"}, {"\"f\"", "[]"},
      {"\"g\"", "null"},   {"\"h\"", "-1.5e3"},     {"\"i\"", "true"}};
  CHECK(got == want);

  got.clear();
  CHECK(for_each_top_member(" { \"k\\u0041\" : \"v\" , \"n\" :2 } \n", collect));
  CHECK(got == std::vector<std::pair<std::string, std::string>>{{"\"k\\u0041\"", "\"v\""}, {"\"n\"", "2"}});
  CHECK(for_each_top_member("{}", collect));

  SUBCASE("not one object: false") {
    for (const char* bad : {"", "[]", "\"s\"", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{\"a\":1} x",
                            "{\"a\":\"open}", "{\"a\":[1,2}", "{\"a\":1 \"b\":2}", "{} {}"})
      CHECK_MESSAGE(!for_each_top_member(bad, collect), bad);
  }
  SUBCASE("the callback stops the scan") {
    int seen = 0;
    CHECK_FALSE(for_each_top_member(R"({"a":1,"b":2,"c":3})", [&seen](std::string_view, std::string_view) {
      return ++seen < 2;
    }));
    CHECK(seen == 2);
  }
}

TEST_CASE("json text: the member scan ends strings at the first quote after an even run of backslashes") {
  std::vector<std::pair<std::string, std::string>> got;
  auto collect = [&got](std::string_view k, std::string_view v) {
    got.emplace_back(k, v);
    return true;
  };
  // Keys a\\ and b\"c, a value ending in \\\" then \\, and a nested string with \\" inside brackets.
  CHECK(for_each_top_member(R"({"a\\":"x\\\"y\\","b\"c":{"k":["\\",{"q":"\\\"]"}]}})", collect));
  const std::vector<std::pair<std::string, std::string>> want{{R"("a\\")", R"("x\\\"y\\")"},
                                                              {R"("b\"c")", R"({"k":["\\",{"q":"\\\"]"}]})"}};
  CHECK(got == want);
  for (const char* bad : {R"({"a\":1})", R"({"a":"\\\"})", R"({"a":["\"]})"})
    CHECK_MESSAGE(!for_each_top_member(bad, collect), bad);
}

TEST_CASE("json text: append_top_keys lists the keys of any object nlohmann writes") {
  std::mt19937 rng(7);
  const std::vector<std::string> alphabet{"a", "b", "\"", "\\", "/", "{", "}", "[", "]", ":", ",", " ", "\n", "\t",
                                         "\x01", "\xc3\xa9"};
  auto random_text = [&](std::size_t max) {
    std::string s;
    const std::size_t n = rng() % (max + 1);
    for (std::size_t i = 0; i < n; ++i) s += alphabet[rng() % alphabet.size()];
    return s;
  };
  for (int round = 0; round < 300; ++round) {
    nlohmann::json body = nlohmann::json::object();
    const std::size_t members = rng() % 6;
    for (std::size_t i = 0; i < members; ++i) {
      const std::string key = random_text(6);
      if (rng() % 2) body[key] = random_text(12);
      else body[key] = nlohmann::json::array({random_text(4), nlohmann::json{{random_text(3), random_text(3)}}});
    }
    const std::string text = body.dump();
    std::string out = "x";
    REQUIRE_MESSAGE(akt::sync::append_top_keys(out, text), text);
    REQUIRE(out.front() == 'x');
    std::vector<std::string> keys;
    for (const auto& [k, v] : body.items()) keys.push_back(k);
    CHECK_MESSAGE(nlohmann::json::parse(out.substr(1)).get<std::vector<std::string>>() == keys, text);
  }
  std::string out = "x";
  CHECK_FALSE(akt::sync::append_top_keys(out, R"({"a":"open)"));
  CHECK(out == "x");
}

// Regex: the small Thompson-NFA matcher used by regex() and `pattern`.
#include "schema/forms/regex_lite.hpp"

#include <string>

#include <doctest/doctest.h>

#include "tests/schema/cpu_time.hpp"

using akt::forms::Regex;

using akt::forms::test::thread_cpu_seconds;

namespace {

bool matches(const char* re, const std::string& s) {
  auto r = Regex::compile(re);
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  return (*r)->full_match(s);
}

}  // namespace

TEST_CASE("regex: literals, classes, quantifiers and groups") {
  CHECK(matches("abc", "abc"));
  CHECK_FALSE(matches("abc", "abcd"));  // always a full match
  CHECK_FALSE(matches("abc", "ab"));
  CHECK(matches("a.c", "axc"));
  CHECK(matches("[a-z_]+-[0-9]{2}", "gracanice-03"));
  CHECK_FALSE(matches("[a-z_]+-[0-9]{2}", "gracanice-3"));
  CHECK_FALSE(matches("[a-z_]+-[0-9]{2}", "Gracanice-03"));
  CHECK(matches("[^0-9]*", "abc"));
  CHECK_FALSE(matches("[^0-9]*", "a1"));
  CHECK(matches("(ab|cd)+", "abcdab"));
  CHECK_FALSE(matches("(ab|cd)+", ""));
  CHECK(matches("x?y*z", "z"));
  CHECK(matches("a{2,3}", "aaa"));
  CHECK_FALSE(matches("a{2,3}", "aaaa"));
  CHECK(matches("a{2,}", "aaaaaa"));
  CHECK(matches("\\d\\w\\s", "1a "));
  CHECK(matches("\\D\\W\\S", "a-b"));
  CHECK(matches("^SO1-[0-9]{3,4}$", "SO1-0142"));
  CHECK(matches("[a-z0-9_.-]{3,32}", "enum_07"));
  CHECK(matches("[]a]", "]"));
}

TEST_CASE("regex: the programme's patterns") {
  const char* uuid4 = "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";
  CHECK(matches(uuid4, "0b7e4f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"));
  CHECK_FALSE(matches(uuid4, "0b7e4f3a-1c2d-7e5f-8a9b-0c1d2e3f4a5b"));
  CHECK(matches("\\+?[0-9]{8,15}", "+38344123456"));
  CHECK(matches("\\+?[0-9]{8,15}", "044123456"));
  CHECK_FALSE(matches("\\+?[0-9]{8,15}", "044 123 456"));
  CHECK_FALSE(matches("\\+?[0-9]{8,15}", "1234567"));
  CHECK_FALSE(matches("SO2-[0-9]{3,4}", "SO2-12345"));
}

TEST_CASE("regex: syntax errors are reported, not thrown") {
  for (const char* bad : {"(ab", "ab)", "[a-", "a{3,1}", "*a", "a\\", "\\q", "[z-a]", "a{99999}", "a^", "$a"}) {
    INFO(bad);
    CHECK_FALSE(Regex::compile(bad).ok());
  }
}

TEST_CASE("regex: hostile patterns and inputs stay bounded") {
  CHECK_FALSE(Regex::compile("(a{1000}){1000}").ok());      // program too large
  CHECK_FALSE(Regex::compile(std::string(600, 'a')).ok());  // pattern too long
  std::string deep(40, '(');
  deep += "a" + std::string(40, ')');
  CHECK_FALSE(Regex::compile(deep).ok());  // groups too deep
  const double start = thread_cpu_seconds();
  auto evil = Regex::compile("(a*)*b");
  REQUIRE(evil.ok());
  CHECK_FALSE((*evil)->full_match(std::string(4000, 'a')));  // catastrophic for backtrackers
  auto nested = Regex::compile("((a|aa)+)+c");
  REQUIRE(nested.ok());
  CHECK_FALSE((*nested)->full_match(std::string(4000, 'a')));
  CHECK_FALSE((*evil)->full_match(std::string(Regex::kMaxInputBytes + 1, 'b')));  // over the cap
  CHECK(thread_cpu_seconds() - start < 2.0);  // linear-time matching; backtracking would take ages
}

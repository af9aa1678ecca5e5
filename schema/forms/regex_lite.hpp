// A small, safe regular-expression matcher for form constraints (`regex(., 'RE')`). Pure; std only.
// Compiled once to a Thompson NFA and run as a Pike VM: time O(|input| x |program|), no recursion,
// no backtracking, so hostile patterns or inputs cannot blow the stack or the clock (std::regex can).
// Syntax (bytes, ASCII): literals, `.`, escapes \d \w \s \D \W \S and escaped metacharacters,
// classes [a-z0-9_.-] / [^...], groups ( ), alternation |, quantifiers * + ? {n} {n,} {n,m}.
// Matching is always a full match; leading `^` and trailing `$` are accepted and ignored.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sync/status.hpp"

namespace akt::forms {

class Regex {
 public:
  static constexpr std::size_t kMaxPatternBytes = 512;
  static constexpr std::size_t kMaxProgram = 4096;     // instructions after expanding {n,m}
  static constexpr std::size_t kMaxInputBytes = 4096;  // longer inputs never match

  // Fails with kInvalidArgument on a syntax error or a pattern too large or complex.
  static Result<std::shared_ptr<const Regex>> compile(std::string_view pattern);

  // True if the whole of `input` matches. Total: never throws, bounded time.
  bool full_match(std::string_view input) const;

  const std::string& pattern() const { return pattern_; }

  struct Inst {
    enum class Op : std::uint8_t { kByte, kClass, kAny, kSplit, kJmp, kMatch };
    Op op = Op::kMatch;
    std::uint8_t byte = 0;
    int x = 0;  // kClass: class index; kSplit/kJmp: first target
    int y = 0;  // kSplit: second target
  };

 private:
  friend class RegexCompiler;
  Regex() = default;
  std::string pattern_;
  std::vector<Inst> prog_;
  std::vector<std::vector<bool>> classes_;  // 256 entries each
};

}  // namespace akt::forms

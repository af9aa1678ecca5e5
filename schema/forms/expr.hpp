// The form expression language (constraints, relevance, calculations): AST and parser. Pure; std only.
// Grammar (forms.md §0.1), lowest precedence first:
//   or  :=  and ('or' and)*          and := cmp ('and' cmp)*
//   cmp :=  sum (('='|'!='|'<'|'<='|'>'|'>=') sum)?
//   sum :=  prod (('+'|'-') prod)*   prod := unary (('*'|'/') unary)*
//   unary := ('not' | '-') unary | primary
//   primary := number | 'string' | "string" | true | false | '.' | ${key} | name '(' args ')' | '(' or ')'
// Functions (semantics in expr_eval.cpp and docs/FORMS.md §3.3): selected, count-selected, sum, empty, in,
// regex (literal pattern, compiled here), today, days-between, distance_m, accuracy, latitude, longitude,
// string-length, starts-with, concat, not.
// Limits: kMaxExprBytes of text, kMaxDepth of nesting, kMaxNodes nodes. The parser's recursion is cut at
// kMaxDepth, so hostile nesting fails fast ("too deeply nested") instead of exhausting the stack.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "schema/forms/regex_lite.hpp"
#include "sync/status.hpp"

namespace akt::forms {

enum class Func {
  kSelected,
  kCountSelected,
  kSum,
  kEmpty,
  kIn,
  kRegex,
  kToday,
  kDistanceM,
  kAccuracy,
  kStringLength,
  kNot,
  kDaysBetween,
  kStartsWith,
  kConcat,
  kLatitude,
  kLongitude
};

struct Expr {
  enum class Kind { kNumber, kString, kBool, kSelf, kRef, kNot, kNeg, kBinary, kCall };
  enum class Op { kOr, kAnd, kEq, kNe, kLt, kLe, kGt, kGe, kAdd, kSub, kMul, kDiv };

  Kind kind = Kind::kNumber;
  Op op = Op::kOr;                                // kBinary
  Func func = Func::kEmpty;                       // kCall
  double number = 0;                              // kNumber
  bool boolean = false;                           // kBool
  std::string text;                               // kString literal, kRef key
  std::vector<std::shared_ptr<const Expr>> args;  // operands or call arguments
  std::shared_ptr<const Regex> regex;             // kCall regex(): compiled at parse time
};

using ExprPtr = std::shared_ptr<const Expr>;

// A parsed expression with its source and the `${key}` references it makes (sorted, unique).
struct Expression {
  std::string source;
  ExprPtr root;
  std::vector<std::string> refs;
  bool uses_self = false;  // mentions `.`
};

inline constexpr std::size_t kMaxExprBytes = 4096;
inline constexpr int kMaxDepth = 64;
inline constexpr int kMaxNodes = 2048;

// Parses `text`. Fails with kInvalidArgument naming the byte offset and the problem
// (syntax, unknown function, wrong arity, bad regex literal, too long, too deep).
Result<Expression> parse_expression(std::string_view text);

}  // namespace akt::forms

// Evaluation of parsed form expressions. Pure; std only. Total: never throws, never loops.
// Three-valued logic: an absent (null) operand makes comparisons and arithmetic null; `and`/`or`
// follow Kleene logic. Callers decide what null means (relevance: not relevant; constraint: passes).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "schema/forms/expr.hpp"
#include "schema/forms/value.hpp"

namespace akt::forms {

struct EvalEnv {
  const Value* self = nullptr;                             // value of `.`; null if none
  std::function<const Value*(const std::string&)> lookup;  // `${key}`; nullptr result = absent
  std::string today;                                       // "YYYY-MM-DD", from the caller (server time)
};

// Evaluates `e`. Recursion depth is bounded by the parser's kMaxDepth.
Value evaluate(const Expr& e, const EvalEnv& env);

// Truth of a value: bool as is, anything else (including null) is std::nullopt.
std::optional<bool> truth(const Value& v);

// Days since 1970-01-01 of an ISO date ("YYYY-MM-DD", trailing time ignored); nullopt if invalid.
std::optional<long> days_from_iso(std::string_view iso);

}  // namespace akt::forms

// Evaluation of form expressions (semantics in expr_eval.hpp and docs/FORMS.md §3).
#include "schema/forms/expr_eval.hpp"

#include <algorithm>
#include <cmath>

namespace akt::forms {
namespace {

using Op = Expr::Op;

// Bounds the strings concat() can build, so nested concats cannot allocate without limit.
constexpr std::size_t kMaxConcatBytes = 64 * 1024;

const double* num(const Value& v) { return std::get_if<double>(&v); }
const std::string* str(const Value& v) { return std::get_if<std::string>(&v); }

Value compare(Op op, const Value& a, const Value& b) {
  if (is_null(a) || is_null(b)) return {};
  int c = 0;
  if (const double* x = num(a); x != nullptr) {
    const double* y = num(b);
    if (y == nullptr) return {};
    c = *x < *y ? -1 : (*x > *y ? 1 : 0);
  } else if (const std::string* s = str(a); s != nullptr) {
    const std::string* t = str(b);
    if (t == nullptr) return {};
    c = s->compare(*t) < 0 ? -1 : (s->compare(*t) > 0 ? 1 : 0);
  } else if (op == Op::kEq || op == Op::kNe) {
    if (a.index() != b.index()) return {};
    c = a == b ? 0 : 1;
  } else {
    return {};
  }
  switch (op) {
    case Op::kEq:
      return c == 0;
    case Op::kNe:
      return c != 0;
    case Op::kLt:
      return c < 0;
    case Op::kLe:
      return c <= 0;
    case Op::kGt:
      return c > 0;
    case Op::kGe:
      return c >= 0;
    default:
      return {};
  }
}

Value arith(Op op, const Value& a, const Value& b) {
  const double* x = num(a);
  const double* y = num(b);
  if (x == nullptr || y == nullptr) return {};
  double r = 0;
  switch (op) {
    case Op::kAdd:
      r = *x + *y;
      break;
    case Op::kSub:
      r = *x - *y;
      break;
    case Op::kMul:
      r = *x * *y;
      break;
    case Op::kDiv:
      if (*y == 0) return {};
      r = *x / *y;
      break;
    default:
      return {};
  }
  if (!std::isfinite(r)) return {};
  return r;
}

bool is_empty(const Value& v) {
  if (is_null(v)) return true;
  if (const std::string* s = str(v)) return s->empty();
  if (const auto* l = std::get_if<std::vector<std::string>>(&v)) return l->empty();
  return false;
}

double haversine_m(const GeoPoint& a, const GeoPoint& b) {
  constexpr double kRad = 3.14159265358979323846 / 180.0;
  constexpr double kEarthM = 6371008.8;
  double dlat = (b.lat - a.lat) * kRad, dlon = (b.lon - a.lon) * kRad;
  double h = std::sin(dlat / 2) * std::sin(dlat / 2) +
             std::cos(a.lat * kRad) * std::cos(b.lat * kRad) * std::sin(dlon / 2) * std::sin(dlon / 2);
  h = std::clamp(h, 0.0, 1.0);
  return 2 * kEarthM * std::asin(std::sqrt(h));
}

double utf8_length(const std::string& s) {
  double n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

Value call(const Expr& e, const EvalEnv& env) {
  std::vector<Value> a;
  a.reserve(e.args.size());
  for (const ExprPtr& arg : e.args) a.push_back(evaluate(*arg, env));
  switch (e.func) {
    case Func::kSelected: {
      const std::string* code = str(a[1]);
      if (code == nullptr) return {};
      if (const auto* l = std::get_if<std::vector<std::string>>(&a[0])) {
        return std::find(l->begin(), l->end(), *code) != l->end();
      }
      if (const std::string* s = str(a[0])) return *s == *code;
      return false;
    }
    case Func::kCountSelected:
      if (const auto* l = std::get_if<std::vector<std::string>>(&a[0])) return static_cast<double>(l->size());
      return is_empty(a[0]) ? 0.0 : 1.0;
    case Func::kSum: {
      double total = 0;
      for (const Value& v : a) {
        if (is_null(v)) continue;
        const double* x = num(v);
        if (x == nullptr) return {};
        total += *x;
      }
      return std::isfinite(total) ? Value(total) : Value();
    }
    case Func::kEmpty:
      return is_empty(a[0]);
    case Func::kIn:
      if (is_null(a[0])) return false;
      for (std::size_t i = 1; i < a.size(); ++i) {
        if (compare(Op::kEq, a[0], a[i]) == Value(true)) return true;
      }
      return false;
    case Func::kRegex: {
      const std::string* s = str(a[0]);
      if (s == nullptr || !e.regex) return {};
      return e.regex->full_match(*s);
    }
    case Func::kToday:
      if (env.today.empty()) return {};
      return env.today;
    case Func::kDistanceM: {
      const auto* p = std::get_if<GeoPoint>(&a[0]);
      const auto* q = std::get_if<GeoPoint>(&a[1]);
      if (p == nullptr || q == nullptr) return {};
      return haversine_m(*p, *q);
    }
    case Func::kAccuracy: {
      const auto* p = std::get_if<GeoPoint>(&a[0]);
      if (p == nullptr || !p->accuracy_m) return {};
      return *p->accuracy_m;
    }
    case Func::kStringLength:
      if (const std::string* s = str(a[0])) return utf8_length(*s);
      return is_null(a[0]) ? Value(0.0) : Value();
    case Func::kNot: {
      std::optional<bool> t = truth(a[0]);
      return t ? Value(!*t) : Value();
    }
    case Func::kDaysBetween: {
      const std::string* x = str(a[0]);
      const std::string* y = str(a[1]);
      if (x == nullptr || y == nullptr) return {};
      auto dx = days_from_iso(*x), dy = days_from_iso(*y);
      if (!dx || !dy) return {};
      return static_cast<double>(*dy - *dx);
    }
    case Func::kStartsWith: {
      const std::string* x = str(a[0]);
      const std::string* y = str(a[1]);
      if (x == nullptr || y == nullptr) return {};
      return x->compare(0, y->size(), *y) == 0;
    }
    case Func::kConcat: {
      std::string out;
      for (const Value& v : a) {
        const std::string* x = str(v);
        if (x == nullptr) return {};
        if (out.size() + x->size() > kMaxConcatBytes) return {};
        out += *x;
      }
      return out;
    }
    case Func::kLatitude:
    case Func::kLongitude: {
      const auto* p = std::get_if<GeoPoint>(&a[0]);
      if (p == nullptr) return {};
      return e.func == Func::kLatitude ? p->lat : p->lon;
    }
  }
  return {};
}

}  // namespace

std::optional<bool> truth(const Value& v) {
  if (const bool* b = std::get_if<bool>(&v)) return *b;
  return std::nullopt;
}

std::optional<long> days_from_iso(std::string_view iso) {
  if (iso.size() < 10 || iso[4] != '-' || iso[7] != '-') return std::nullopt;
  auto digits = [&](std::size_t from, std::size_t n, int& out) {
    out = 0;
    for (std::size_t i = from; i < from + n; ++i) {
      if (iso[i] < '0' || iso[i] > '9') return false;
      out = out * 10 + (iso[i] - '0');
    }
    return true;
  };
  int y = 0, m = 0, d = 0;
  if (!digits(0, 4, y) || !digits(5, 2, m) || !digits(8, 2, d)) return std::nullopt;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (m < 1 || m > 12 || d < 1) return std::nullopt;
  if (d > kDays[m - 1] + ((m == 2 && leap) ? 1 : 0)) return std::nullopt;
  // Howard Hinnant's days_from_civil.
  y -= m <= 2 ? 1 : 0;
  long era = (y >= 0 ? y : y - 399) / 400;
  long yoe = y - era * 400;
  long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

Value evaluate(const Expr& e, const EvalEnv& env) {
  switch (e.kind) {
    case Expr::Kind::kNumber:
      return e.number;
    case Expr::Kind::kString:
      return e.text;
    case Expr::Kind::kBool:
      return e.boolean;
    case Expr::Kind::kSelf:
      return env.self != nullptr ? *env.self : Value();
    case Expr::Kind::kRef: {
      const Value* v = env.lookup ? env.lookup(e.text) : nullptr;
      return v != nullptr ? *v : Value();
    }
    case Expr::Kind::kNot: {
      std::optional<bool> t = truth(evaluate(*e.args[0], env));
      return t ? Value(!*t) : Value();
    }
    case Expr::Kind::kNeg: {
      Value v = evaluate(*e.args[0], env);
      if (const double* x = num(v)) return -*x;
      return {};
    }
    case Expr::Kind::kBinary: {
      if (e.op == Op::kAnd || e.op == Op::kOr) {
        std::optional<bool> l = truth(evaluate(*e.args[0], env));
        bool decisive = e.op == Op::kOr;  // `or` is decided by true, `and` by false
        if (l && *l == decisive) return decisive;
        std::optional<bool> r = truth(evaluate(*e.args[1], env));
        if (r && *r == decisive) return decisive;
        if (l && r) return !decisive;
        return {};
      }
      Value l = evaluate(*e.args[0], env);
      Value r = evaluate(*e.args[1], env);
      if (e.op == Op::kAdd || e.op == Op::kSub || e.op == Op::kMul || e.op == Op::kDiv) return arith(e.op, l, r);
      return compare(e.op, l, r);
    }
    case Expr::Kind::kCall:
      return call(e, env);
  }
  return {};
}

}  // namespace akt::forms

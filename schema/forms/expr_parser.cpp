// Recursive-descent parser for the form expression language (grammar in expr.hpp).
// Depth is counted on every recursive step, so hostile nesting fails after kMaxDepth levels.
#include <algorithm>
#include <utility>

#include "schema/forms/expr.hpp"
#include "schema/forms/expr_lexer.hpp"

namespace akt::forms {
namespace {

struct FuncInfo {
  const char* name;
  Func func;
  int min_args;
  int max_args;  // -1: any number
};

constexpr FuncInfo kFuncs[] = {
    {"selected", Func::kSelected, 2, 2},
    {"count-selected", Func::kCountSelected, 1, 1},
    {"sum", Func::kSum, 1, -1},
    {"empty", Func::kEmpty, 1, 1},
    {"in", Func::kIn, 2, -1},
    {"regex", Func::kRegex, 2, 2},
    {"today", Func::kToday, 0, 0},
    {"distance_m", Func::kDistanceM, 2, 2},
    {"accuracy", Func::kAccuracy, 1, 1},
    {"string-length", Func::kStringLength, 1, 1},
    {"not", Func::kNot, 1, 1},
    {"days-between", Func::kDaysBetween, 2, 2},
    {"starts-with", Func::kStartsWith, 2, 2},
    {"concat", Func::kConcat, 1, -1},
    {"latitude", Func::kLatitude, 1, 1},
    {"longitude", Func::kLongitude, 1, 1},
};

class Parser {
 public:
  explicit Parser(std::string_view src) : lex_(src) { advance(); }

  Result<Expression> run(std::string_view src) {
    ExprPtr root = parse_or(0);
    if (error_.empty() && tok_.kind != Token::Kind::kEnd) fail(tok_.offset, "unexpected trailing input");
    if (!error_.empty()) return Status::invalid_argument(error_);
    Expression e;
    e.source = std::string(src);
    e.root = std::move(root);
    std::sort(refs_.begin(), refs_.end());
    refs_.erase(std::unique(refs_.begin(), refs_.end()), refs_.end());
    e.refs = std::move(refs_);
    e.uses_self = uses_self_;
    return e;
  }

 private:
  void advance() {
    tok_ = lex_.next();
    if (tok_.kind == Token::Kind::kError) fail(tok_.offset, tok_.text);
  }

  void fail(std::size_t at, const std::string& what) {
    if (error_.empty()) error_ = "at " + std::to_string(at) + ": " + what;
  }

  bool ok() const { return error_.empty(); }

  std::shared_ptr<Expr> node(Expr::Kind k) {
    if (++nodes_ > kMaxNodes) fail(tok_.offset, "expression too large");
    auto e = std::make_shared<Expr>();
    e->kind = k;
    return e;
  }

  bool too_deep(int depth) {
    if (depth <= kMaxDepth) return false;
    fail(tok_.offset, "expression too deeply nested (limit " + std::to_string(kMaxDepth) + ")");
    return true;
  }

  ExprPtr binary(Expr::Op op, ExprPtr l, ExprPtr r) {
    auto e = node(Expr::Kind::kBinary);
    e->op = op;
    e->args = {std::move(l), std::move(r)};
    return e;
  }

  bool is_keyword(const char* kw) const { return tok_.kind == Token::Kind::kName && tok_.text == kw; }

  ExprPtr parse_or(int depth) {
    if (too_deep(depth)) return nullptr;
    ExprPtr l = parse_and(depth);
    while (ok() && is_keyword("or")) {
      advance();
      l = binary(Expr::Op::kOr, l, parse_and(depth));
    }
    return l;
  }

  ExprPtr parse_and(int depth) {
    ExprPtr l = parse_cmp(depth);
    while (ok() && is_keyword("and")) {
      advance();
      l = binary(Expr::Op::kAnd, l, parse_cmp(depth));
    }
    return l;
  }

  ExprPtr parse_cmp(int depth) {
    ExprPtr l = parse_sum(depth);
    if (!ok()) return l;
    Expr::Op op;
    switch (tok_.kind) {
      case Token::Kind::kEq:
        op = Expr::Op::kEq;
        break;
      case Token::Kind::kNe:
        op = Expr::Op::kNe;
        break;
      case Token::Kind::kLt:
        op = Expr::Op::kLt;
        break;
      case Token::Kind::kLe:
        op = Expr::Op::kLe;
        break;
      case Token::Kind::kGt:
        op = Expr::Op::kGt;
        break;
      case Token::Kind::kGe:
        op = Expr::Op::kGe;
        break;
      default:
        return l;
    }
    advance();
    return binary(op, l, parse_sum(depth));
  }

  ExprPtr parse_sum(int depth) {
    ExprPtr l = parse_prod(depth);
    while (ok() && (tok_.kind == Token::Kind::kPlus || tok_.kind == Token::Kind::kMinus)) {
      Expr::Op op = tok_.kind == Token::Kind::kPlus ? Expr::Op::kAdd : Expr::Op::kSub;
      advance();
      l = binary(op, l, parse_prod(depth));
    }
    return l;
  }

  ExprPtr parse_prod(int depth) {
    ExprPtr l = parse_unary(depth);
    while (ok() && (tok_.kind == Token::Kind::kStar || tok_.kind == Token::Kind::kSlash)) {
      Expr::Op op = tok_.kind == Token::Kind::kStar ? Expr::Op::kMul : Expr::Op::kDiv;
      advance();
      l = binary(op, l, parse_unary(depth));
    }
    return l;
  }

  ExprPtr parse_unary(int depth) {
    if (too_deep(depth)) return nullptr;
    bool is_not = is_keyword("not");
    if (is_not || tok_.kind == Token::Kind::kMinus) {
      advance();
      auto e = node(is_not ? Expr::Kind::kNot : Expr::Kind::kNeg);
      e->args = {parse_unary(depth + 1)};
      return e;
    }
    return parse_primary(depth);
  }

  ExprPtr parse_primary(int depth) {
    if (!ok()) return nullptr;
    Token t = tok_;
    switch (t.kind) {
      case Token::Kind::kNumber: {
        advance();
        auto e = node(Expr::Kind::kNumber);
        e->number = t.number;
        return e;
      }
      case Token::Kind::kString: {
        advance();
        auto e = node(Expr::Kind::kString);
        e->text = std::move(t.text);
        return e;
      }
      case Token::Kind::kDot:
        advance();
        uses_self_ = true;
        return node(Expr::Kind::kSelf);
      case Token::Kind::kRef: {
        advance();
        auto e = node(Expr::Kind::kRef);
        refs_.push_back(t.text);
        e->text = std::move(t.text);
        return e;
      }
      case Token::Kind::kLParen: {
        advance();
        ExprPtr inner = parse_or(depth + 1);
        expect(Token::Kind::kRParen, "expected ')'");
        return inner;
      }
      case Token::Kind::kName:
        if (t.text == "true" || t.text == "false") {
          advance();
          auto e = node(Expr::Kind::kBool);
          e->boolean = t.text == "true";
          return e;
        }
        return parse_call(depth);
      case Token::Kind::kEnd:
        fail(t.offset, "unexpected end of expression");
        return nullptr;
      default:
        fail(t.offset, "unexpected token");
        return nullptr;
    }
  }

  void expect(Token::Kind k, const char* what) {
    if (!ok()) return;
    if (tok_.kind != k) {
      fail(tok_.offset, what);
      return;
    }
    advance();
  }

  ExprPtr parse_call(int depth) {
    Token name = tok_;
    const FuncInfo* info = nullptr;
    for (const FuncInfo& f : kFuncs) {
      if (name.text == f.name) info = &f;
    }
    if (info == nullptr) {
      fail(name.offset, "unknown function '" + name.text + "'");
      return nullptr;
    }
    advance();
    expect(Token::Kind::kLParen, "expected '(' after function name");
    auto e = node(Expr::Kind::kCall);
    e->func = info->func;
    e->text = name.text;
    if (ok() && tok_.kind != Token::Kind::kRParen) {
      for (;;) {
        e->args.push_back(parse_or(depth + 1));
        if (!ok() || tok_.kind != Token::Kind::kComma) break;
        advance();
      }
    }
    expect(Token::Kind::kRParen, "expected ',' or ')' in argument list");
    if (!ok()) return nullptr;
    int n = static_cast<int>(e->args.size());
    if (n < info->min_args || (info->max_args >= 0 && n > info->max_args)) {
      fail(name.offset, "wrong number of arguments to " + name.text + "()");
      return nullptr;
    }
    if (info->func == Func::kRegex) {
      const Expr& pat = *e->args[1];
      if (pat.kind != Expr::Kind::kString) {
        fail(name.offset, "regex() pattern must be a string literal");
        return nullptr;
      }
      auto re = Regex::compile(pat.text);
      if (!re.ok()) {
        fail(name.offset, re.status().message());
        return nullptr;
      }
      e->regex = *re;
    }
    return e;
  }

  Lexer lex_;
  Token tok_;
  std::string error_;
  int nodes_ = 0;
  std::vector<std::string> refs_;
  bool uses_self_ = false;
};

}  // namespace

Result<Expression> parse_expression(std::string_view text) {
  if (text.size() > kMaxExprBytes) {
    return Status::invalid_argument("expression longer than " + std::to_string(kMaxExprBytes) + " bytes");
  }
  Parser p(text);
  return p.run(text);
}

}  // namespace akt::forms

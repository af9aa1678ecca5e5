// Tokenizer for the form expression language.
#include "schema/forms/expr_lexer.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace akt::forms {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c) || c == '-'; }

}  // namespace

Token Lexer::make(Token::Kind k, std::size_t at, std::string text) const {
  Token t;
  t.kind = k;
  t.offset = at;
  t.text = std::move(text);
  return t;
}

Token Lexer::next() {
  while (pos_ < src_.size() && (src_[pos_] == ' ' || src_[pos_] == '\t' || src_[pos_] == '\n' || src_[pos_] == '\r')) {
    ++pos_;
  }
  std::size_t at = pos_;
  if (pos_ >= src_.size()) return make(Token::Kind::kEnd, at);
  char c = src_[pos_];
  auto one = [&](Token::Kind k) {
    ++pos_;
    return make(k, at);
  };
  auto two = [&](char second, Token::Kind k2, Token::Kind k1) {
    if (pos_ + 1 < src_.size() && src_[pos_ + 1] == second) {
      pos_ += 2;
      return make(k2, at);
    }
    ++pos_;
    return make(k1, at);
  };
  switch (c) {
    case '(':
      return one(Token::Kind::kLParen);
    case ')':
      return one(Token::Kind::kRParen);
    case ',':
      return one(Token::Kind::kComma);
    case '+':
      return one(Token::Kind::kPlus);
    case '-':
      return one(Token::Kind::kMinus);
    case '*':
      return one(Token::Kind::kStar);
    case '/':
      return one(Token::Kind::kSlash);
    case '=':
      return one(Token::Kind::kEq);
    case '<':
      return two('=', Token::Kind::kLe, Token::Kind::kLt);
    case '>':
      return two('=', Token::Kind::kGe, Token::Kind::kGt);
    case '!':
      if (pos_ + 1 < src_.size() && src_[pos_ + 1] == '=') {
        pos_ += 2;
        return make(Token::Kind::kNe, at);
      }
      return make(Token::Kind::kError, at, "'!' must be followed by '='");
    case '.':
      if (pos_ + 1 < src_.size() && is_digit(src_[pos_ + 1])) {
        return make(Token::Kind::kError, at, "numbers must start with a digit");
      }
      return one(Token::Kind::kDot);
    case '\'':
    case '"': {
      std::string out;
      ++pos_;
      while (pos_ < src_.size() && src_[pos_] != c) {
        // Only a backslash before the closing quote is an escape; regex escapes (\d, \.) pass through.
        if (src_[pos_] == '\\' && pos_ + 1 < src_.size() && src_[pos_ + 1] == c) {
          out += c;
          pos_ += 2;
          continue;
        }
        out += src_[pos_++];
      }
      if (pos_ >= src_.size()) return make(Token::Kind::kError, at, "unterminated string");
      ++pos_;
      return make(Token::Kind::kString, at, std::move(out));
    }
    case '$': {
      if (pos_ + 1 >= src_.size() || src_[pos_ + 1] != '{') {
        return make(Token::Kind::kError, at, "expected '${key}'");
      }
      std::size_t start = pos_ + 2, end = start;
      while (end < src_.size() && src_[end] != '}') {
        if (!is_name_char(src_[end]) || src_[end] == '-') {
          return make(Token::Kind::kError, end, "invalid character in field reference");
        }
        ++end;
      }
      if (end >= src_.size()) return make(Token::Kind::kError, at, "unterminated '${'");
      if (end == start) return make(Token::Kind::kError, at, "empty field reference");
      pos_ = end + 1;
      return make(Token::Kind::kRef, at, std::string(src_.substr(start, end - start)));
    }
    default:
      break;
  }
  if (is_digit(c)) {
    std::size_t end = pos_;
    while (end < src_.size() && (is_digit(src_[end]) || src_[end] == '.')) ++end;
    double v = 0;
#if defined(__EMSCRIPTEN__)
    // Emscripten's libc++ has no floating-point from_chars; musl's strtod is correctly rounded and
    // locale-free there, and the token holds only digits and dots, so both read it alike.
    const std::string digits(src_.substr(pos_, end - pos_));
    char* stop = nullptr;
    v = std::strtod(digits.c_str(), &stop);
    if (stop != digits.c_str() + digits.size() || !std::isfinite(v)) {
      return make(Token::Kind::kError, at, "bad number");
    }
#else
    auto [p, ec] = std::from_chars(src_.data() + pos_, src_.data() + end, v);
    if (ec != std::errc() || p != src_.data() + end || !std::isfinite(v)) {
      return make(Token::Kind::kError, at, "bad number");
    }
#endif
    pos_ = end;
    Token t = make(Token::Kind::kNumber, at);
    t.number = v;
    return t;
  }
  if (is_name_start(c)) {
    std::size_t end = pos_;
    while (end < src_.size() && is_name_char(src_[end])) ++end;
    std::string name(src_.substr(pos_, end - pos_));
    pos_ = end;
    return make(Token::Kind::kName, at, std::move(name));
  }
  return make(Token::Kind::kError, at, "unexpected character");
}

}  // namespace akt::forms

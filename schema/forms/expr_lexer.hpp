// Tokenizer for the form expression language. Internal to akt_forms; pure.
#pragma once

#include <string>
#include <string_view>

namespace akt::forms {

struct Token {
  enum class Kind {
    kEnd,
    kNumber,
    kString,
    kRef,
    kDot,
    kName,
    kLParen,
    kRParen,
    kComma,
    kEq,
    kNe,
    kLt,
    kLe,
    kGt,
    kGe,
    kPlus,
    kMinus,
    kStar,
    kSlash,
    kError
  };
  Kind kind = Kind::kEnd;
  std::string text;  // kString: unescaped value; kRef: key; kName: identifier; kError: message
  double number = 0;
  std::size_t offset = 0;
};

class Lexer {
 public:
  explicit Lexer(std::string_view src) : src_(src) {}
  Token next();

 private:
  Token make(Token::Kind k, std::size_t at, std::string text = {}) const;
  std::string_view src_;
  std::size_t pos_ = 0;
};

}  // namespace akt::forms

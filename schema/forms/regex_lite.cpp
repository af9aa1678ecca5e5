// Thompson-NFA regular expressions for form constraints; see regex_lite.hpp for the syntax.
#include "schema/forms/regex_lite.hpp"

#include <utility>

namespace akt::forms {
namespace {

constexpr int kMaxGroupDepth = 32;
constexpr int kMaxCount = 1000;

struct Node {
  enum class Kind { kEmpty, kByte, kClass, kAny, kConcat, kAlt, kRepeat };
  Kind kind = Kind::kEmpty;
  std::uint8_t byte = 0;
  int cls = 0;
  int min = 0;
  int max = -1;  // -1: unbounded
  std::vector<Node> kids;
};

}  // namespace

// Parses the pattern into a Node tree, then emits Pike-VM instructions.
class RegexCompiler {
 public:
  RegexCompiler(std::string_view p, Regex& re) : p_(p), re_(re) {}

  Status run() {
    Node root;
    if (Status s = parse_alt(root, 0); !s.ok()) return s;
    if (pos_ != p_.size()) return err("unbalanced ')'");
    if (Status s = emit(root); !s.ok()) return s;
    return push({Regex::Inst::Op::kMatch, 0, 0, 0});
  }

 private:
  Status err(std::string what) const {
    return Status::invalid_argument("regex at " + std::to_string(pos_) + ": " + std::move(what));
  }
  bool at_end() const { return pos_ >= p_.size(); }
  char peek() const { return p_[pos_]; }

  Status parse_alt(Node& out, int depth) {
    if (depth > kMaxGroupDepth) return err("groups nested too deeply");
    Node alt;
    alt.kind = Node::Kind::kAlt;
    for (;;) {
      Node seq;
      seq.kind = Node::Kind::kConcat;
      while (!at_end() && peek() != '|' && peek() != ')') {
        Node atom;
        if (Status s = parse_repeat(atom, depth); !s.ok()) return s;
        seq.kids.push_back(std::move(atom));
      }
      alt.kids.push_back(std::move(seq));
      if (at_end() || peek() != '|') break;
      ++pos_;
    }
    out = alt.kids.size() == 1 ? std::move(alt.kids[0]) : std::move(alt);
    return {};
  }

  Status parse_repeat(Node& out, int depth) {
    if (Status s = parse_atom(out, depth); !s.ok()) return s;
    while (!at_end()) {
      int lo = 0, hi = -1;
      char c = peek();
      if (c == '*') {
        ++pos_;
      } else if (c == '+') {
        lo = 1;
        ++pos_;
      } else if (c == '?') {
        hi = 1;
        ++pos_;
      } else if (c == '{') {
        ++pos_;
        if (Status s = parse_count(lo, hi); !s.ok()) return s;
      } else {
        break;
      }
      Node rep;
      rep.kind = Node::Kind::kRepeat;
      rep.min = lo;
      rep.max = hi;
      rep.kids.push_back(std::move(out));
      out = std::move(rep);
    }
    return {};
  }

  Status parse_int(int& v) {
    if (at_end() || peek() < '0' || peek() > '9') return err("expected a number in {}");
    v = 0;
    while (!at_end() && peek() >= '0' && peek() <= '9') {
      v = v * 10 + (peek() - '0');
      if (v > kMaxCount) return err("repeat count too large");
      ++pos_;
    }
    return {};
  }

  Status parse_count(int& lo, int& hi) {
    if (Status s = parse_int(lo); !s.ok()) return s;
    hi = lo;
    if (!at_end() && peek() == ',') {
      ++pos_;
      hi = -1;
      if (!at_end() && peek() != '}') {
        if (Status s = parse_int(hi); !s.ok()) return s;
      }
    }
    if (at_end() || peek() != '}') return err("expected '}'");
    ++pos_;
    if (hi != -1 && hi < lo) return err("{n,m} with m < n");
    return {};
  }

  int new_class() {
    re_.classes_.emplace_back(256, false);
    return static_cast<int>(re_.classes_.size()) - 1;
  }

  // Adds the bytes of a \d \w \s escape (or its negation) to class `c`; false if `e` is none of them.
  bool add_shorthand(int c, char e) {
    auto& set = re_.classes_[static_cast<std::size_t>(c)];
    std::vector<bool> tmp(256, false);
    char lower = static_cast<char>(e | 0x20);
    if (lower != 'd' && lower != 'w' && lower != 's') return false;
    for (int b = 0; b < 256; ++b) {
      bool digit = b >= '0' && b <= '9';
      bool word = digit || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || b == '_';
      bool space = b == ' ' || (b >= '\t' && b <= '\r');
      bool in = lower == 'd' ? digit : lower == 'w' ? word : space;
      if (e != lower) in = !in;
      if (in) set[static_cast<std::size_t>(b)] = true;
    }
    return true;
  }

  Status parse_class(Node& out) {
    out.kind = Node::Kind::kClass;
    out.cls = new_class();
    bool negate = !at_end() && peek() == '^';
    if (negate) ++pos_;
    bool first = true;
    for (;;) {
      if (at_end()) return err("unterminated [");
      char c = peek();
      if (c == ']' && !first) {
        ++pos_;
        break;
      }
      first = false;
      ++pos_;
      std::uint8_t lo = static_cast<std::uint8_t>(c);
      if (c == '\\') {
        if (at_end()) return err("trailing backslash");
        char e = p_[pos_++];
        if (add_shorthand(out.cls, e)) continue;
        lo = static_cast<std::uint8_t>(e);
      }
      std::uint8_t hi = lo;
      if (pos_ + 1 < p_.size() && peek() == '-' && p_[pos_ + 1] != ']') {
        ++pos_;
        char h = p_[pos_++];
        if (h == '\\') {
          if (at_end()) return err("trailing backslash");
          h = p_[pos_++];
        }
        hi = static_cast<std::uint8_t>(h);
        if (hi < lo) return err("bad range in []");
      }
      auto& set = re_.classes_[static_cast<std::size_t>(out.cls)];
      for (int b = lo; b <= hi; ++b) set[static_cast<std::size_t>(b)] = true;
    }
    if (negate) {
      auto& set = re_.classes_[static_cast<std::size_t>(out.cls)];
      set.flip();
    }
    return {};
  }

  Status parse_atom(Node& out, int depth) {
    char c = peek();
    ++pos_;
    switch (c) {
      case '(':
        if (Status s = parse_alt(out, depth + 1); !s.ok()) return s;
        if (at_end() || peek() != ')') return err("missing ')'");
        ++pos_;
        return {};
      case '[':
        return parse_class(out);
      case '.':
        out.kind = Node::Kind::kAny;
        return {};
      case '*':
      case '+':
      case '?':
      case '{':
        return err("nothing to repeat");
      case '^':
        if (pos_ == 1) {
          out.kind = Node::Kind::kEmpty;
          return {};
        }
        return err("'^' only at the start");
      case '$':
        if (pos_ == p_.size()) {
          out.kind = Node::Kind::kEmpty;
          return {};
        }
        return err("'$' only at the end");
      case '\\': {
        if (at_end()) return err("trailing backslash");
        char e = p_[pos_++];
        int cls = new_class();
        if (add_shorthand(cls, e)) {
          out.kind = Node::Kind::kClass;
          out.cls = cls;
          return {};
        }
        re_.classes_.pop_back();
        if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9')) {
          return err(std::string("unsupported escape \\") + e);
        }
        out.kind = Node::Kind::kByte;
        out.byte = static_cast<std::uint8_t>(e);
        return {};
      }
      default:
        out.kind = Node::Kind::kByte;
        out.byte = static_cast<std::uint8_t>(c);
        return {};
    }
  }

  int pc() const { return static_cast<int>(re_.prog_.size()); }

  Status push(Regex::Inst inst) {
    if (re_.prog_.size() >= Regex::kMaxProgram) return Status::invalid_argument("regex too complex");
    re_.prog_.push_back(inst);
    return {};
  }

  Status emit(const Node& n) {
    using Op = Regex::Inst::Op;
    switch (n.kind) {
      case Node::Kind::kEmpty:
        return {};
      case Node::Kind::kByte:
        return push({Op::kByte, n.byte, 0, 0});
      case Node::Kind::kClass:
        return push({Op::kClass, 0, n.cls, 0});
      case Node::Kind::kAny:
        return push({Op::kAny, 0, 0, 0});
      case Node::Kind::kConcat:
        for (const Node& k : n.kids) {
          if (Status s = emit(k); !s.ok()) return s;
        }
        return {};
      case Node::Kind::kAlt: {
        std::vector<int> jumps;
        for (std::size_t i = 0; i < n.kids.size(); ++i) {
          int split = pc();
          bool last = i + 1 == n.kids.size();
          if (!last) {
            if (Status s = push({Op::kSplit, 0, split + 1, 0}); !s.ok()) return s;
          }
          if (Status s = emit(n.kids[i]); !s.ok()) return s;
          if (!last) {
            jumps.push_back(pc());
            if (Status s = push({Op::kJmp, 0, 0, 0}); !s.ok()) return s;
            re_.prog_[static_cast<std::size_t>(split)].y = pc();
          }
        }
        for (int j : jumps) re_.prog_[static_cast<std::size_t>(j)].x = pc();
        return {};
      }
      case Node::Kind::kRepeat: {
        const Node& body = n.kids[0];
        for (int i = 0; i < n.min; ++i) {
          if (Status s = emit(body); !s.ok()) return s;
        }
        if (n.max == -1) {
          int loop = pc();
          if (Status s = push({Op::kSplit, 0, loop + 1, 0}); !s.ok()) return s;
          if (Status s = emit(body); !s.ok()) return s;
          if (Status s = push({Op::kJmp, 0, loop, 0}); !s.ok()) return s;
          re_.prog_[static_cast<std::size_t>(loop)].y = pc();
          return {};
        }
        std::vector<int> splits;
        for (int i = n.min; i < n.max; ++i) {
          splits.push_back(pc());
          if (Status s = push({Op::kSplit, 0, pc() + 1, 0}); !s.ok()) return s;
          if (Status s = emit(body); !s.ok()) return s;
        }
        for (int sp : splits) re_.prog_[static_cast<std::size_t>(sp)].y = pc();
        return {};
      }
    }
    return {};
  }

  std::string_view p_;
  Regex& re_;
  std::size_t pos_ = 0;
};

Result<std::shared_ptr<const Regex>> Regex::compile(std::string_view pattern) {
  if (pattern.size() > kMaxPatternBytes) return Status::invalid_argument("regex pattern too long");
  std::shared_ptr<Regex> re(new Regex());
  re->pattern_ = std::string(pattern);
  RegexCompiler c(pattern, *re);
  if (Status s = c.run(); !s.ok()) return s;
  return std::shared_ptr<const Regex>(std::move(re));
}

bool Regex::full_match(std::string_view input) const {
  if (input.size() > kMaxInputBytes || prog_.empty()) return false;
  std::vector<int> mark(prog_.size(), -1);
  std::vector<int> clist, nlist, stack;
  int gen = 0;
  // Adds `start` and everything reachable from it through Split/Jmp, each pc once per generation.
  auto add = [&](std::vector<int>& list, int start) {
    stack.push_back(start);
    while (!stack.empty()) {
      int p = stack.back();
      stack.pop_back();
      auto up = static_cast<std::size_t>(p);
      if (mark[up] == gen) continue;
      mark[up] = gen;
      const Inst& in = prog_[up];
      if (in.op == Inst::Op::kJmp) {
        stack.push_back(in.x);
      } else if (in.op == Inst::Op::kSplit) {
        stack.push_back(in.y);
        stack.push_back(in.x);
      } else {
        list.push_back(p);
      }
    }
  };
  add(clist, 0);
  for (char ch : input) {
    auto b = static_cast<std::uint8_t>(ch);
    ++gen;
    nlist.clear();
    for (int p : clist) {
      const Inst& in = prog_[static_cast<std::size_t>(p)];
      bool ok = (in.op == Inst::Op::kByte && in.byte == b) || in.op == Inst::Op::kAny ||
                (in.op == Inst::Op::kClass && classes_[static_cast<std::size_t>(in.x)][b]);
      if (ok) add(nlist, p + 1);
    }
    std::swap(clist, nlist);
    if (clist.empty()) return false;
  }
  for (int p : clist) {
    if (prog_[static_cast<std::size_t>(p)].op == Inst::Op::kMatch) return true;
  }
  return false;
}

}  // namespace akt::forms

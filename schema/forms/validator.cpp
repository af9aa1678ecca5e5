// Record validation. Design notes:
//  1. Absent (key missing or JSON null) means "not asked"; "" and [] mean "asked, left empty".
//  2. A field is relevant iff its `relevant` evaluates to true; null (an operand absent) is false.
//     A non-relevant field must be absent (code not_relevant); it reads as null in expressions.
//  3. Required means required when relevant; "" / [] / no items count as unanswered.
//  4. Constraints run only on present, well-typed, relevant values; false fails, null passes
//     (a referenced answer is missing, so the rule cannot be decided here).
//  5. Levels: the top-level fields are evaluated first (in dependency order), then each repeat
//     item with its own fields plus read access to the top level, then all constraints.
#include "schema/forms/validator.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "schema/forms/expr_eval.hpp"
#include "schema/forms/utf8.hpp"
#include "schema/forms/value_check.hpp"

namespace akt::forms {
namespace {

using json = nlohmann::json;
// Keyed by views of FieldDef::key, which outlive a validation.
using Values = std::map<std::string_view, Value, std::less<>>;

std::string describe(const Value& v) {
  if (const double* d = std::get_if<double>(&v)) {
    json j = *d;
    return j.dump();
  }
  if (const bool* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (const std::string* s = std::get_if<std::string>(&v)) return "'" + excerpt(*s) + "'";
  return "null";
}

// "" and [] are answers left empty: they fail `required` (absent is different: "not asked").
bool is_empty_answer(const Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return s->empty();
  if (const auto* l = std::get_if<std::vector<std::string>>(&v)) return l->empty();
  return false;
}

bool same_value(const Value& a, const Value& b) {
  const double* x = std::get_if<double>(&a);
  const double* y = std::get_if<double>(&b);
  if (x != nullptr && y != nullptr) return std::fabs(*x - *y) <= 1e-6 * std::max(1.0, std::fabs(*y));
  return a == b;
}

class Validator {
 public:
  // An ill-formed date in the context counts as no date: today() is then null.
  Validator(const FormDef& form, const ValidationContext& ctx)
      : form_(form), today_(is_iso_date(ctx.today) ? ctx.today : std::string()), lang_(ctx.lang) {}

  Validation run(const json& body) {
    if (!body.is_object()) {
      add_error("", "type", "a record body is a JSON object of answers");
      return std::move(out_);
    }
    Level top{form_.fields, form_.order, body, "", nullptr, {}, {}, ""};
    evaluate_level(top);
    for (std::size_t i : form_.order) {
      const FieldDef& f = form_.fields[i];
      if (f.type == FieldType::kRepeat && top.present.count(f.key) != 0) repeat(f, body[f.key], top);
    }
    check_level(top);
    return std::move(out_);
  }

 private:
  struct Level {
    const std::vector<FieldDef>& fields;
    const std::vector<std::size_t>& order;
    const json& obj;
    std::string prefix;                               // "" or "visit[<id>]."
    const Level* parent;                              // top level, for items
    Values values;                                    // relevant, well-typed answers
    std::set<std::string_view, std::less<>> present;  // relevant, present, typed (including repeats)
    std::string pointer;                              // JSON pointer of `obj` in the body ("" at the top)
  };

  void add_error(std::string path, std::string code, std::string message) {
    if (out_.errors.size() < kMaxReportedErrors) {
      out_.errors.push_back({std::move(path), std::move(code), std::move(message)});
    } else if (out_.errors.size() == kMaxReportedErrors) {
      out_.errors.push_back({"", "too_many_errors", say(lang_, "further errors not reported")});
    }
  }

  EvalEnv env(const Level& lv, const Value* self) const {
    EvalEnv e;
    e.self = self;
    e.today = today_;
    e.lookup = [&lv](const std::string& key) -> const Value* {
      for (const Level* l = &lv; l != nullptr; l = l->parent) {
        auto it = l->values.find(key);
        if (it != l->values.end()) return &it->second;
      }
      return nullptr;
    };
    return e;
  }

  const ChoiceList* list_of(const FieldDef& f) const { return f.choices.empty() ? nullptr : form_.list(f.choices); }

  void evaluate_level(Level& lv) {
    std::size_t matched = 0;  // body keys that name a field; fewer than the body's size means unknowns
    for (std::size_t i : lv.order) {
      const FieldDef& f = lv.fields[i];
      auto path = [&] { return lv.prefix + f.key; };  // built only when an error needs it
      auto it = lv.obj.find(f.key);
      if (it != lv.obj.end()) ++matched;
      bool is_present = it != lv.obj.end() && !it->is_null();
      bool relevant = !f.relevant || truth(evaluate(*f.relevant->root, env(lv, nullptr))) == true;
      if (states != nullptr) record_state(lv, f, relevant);
      if (!relevant) {
        if (is_present) add_error(path(), "not_relevant", say(lang_, "answer given for a question that does not apply"));
        continue;
      }
      if (!is_present) {
        if (f.required) add_error(path(), "required", say(lang_, "an answer is required"));
        continue;
      }
      if (f.type == FieldType::kNote) {
        add_error(path(), "type", say(lang_, "a note has no value"));
        continue;
      }
      if (f.type == FieldType::kRepeat) {
        if (!it->is_array())
          add_error(path(), "type", say(lang_, "a repeat is an array of item objects"));
        else if (it->empty() && f.required)
          add_error(path(), "required", say(lang_, "at least one item is required"));
        else if (it->size() > f.max_items)
          add_error(path(), "too_large", say(lang_, "more than {} items", {std::to_string(f.max_items)}));
        else
          lv.present.insert(f.key);
        continue;
      }
      Converted c = convert_value(f, list_of(f), *it, lang_);
      if (!c.ok()) {
        add_error(path(), c.code, c.message);
        continue;
      }
      if (f.required && is_empty_answer(c.value)) {
        add_error(path(), "required", say(lang_, "an answer is required"));
        continue;
      }
      lv.present.insert(f.key);
      lv.values[f.key] = std::move(c.value);
    }
    if (matched != lv.obj.size()) unknown_fields(lv);
  }

  void unknown_fields(const Level& lv) {
    std::set<std::string_view> known;
    for (const FieldDef& f : lv.fields) known.insert(f.key);
    for (const auto& [key, v] : lv.obj.items()) {
      if (known.count(key) == 0) {
        add_error(lv.prefix + excerpt(key), "unknown_field", say(lang_, "no field '{}' in this form", {excerpt(key)}));
      }
    }
  }

  void repeat(const FieldDef& f, const json& items, const Level& parent) {
    std::set<std::string> ids;
    for (std::size_t n = 0; n < items.size(); ++n) {
      const json& item = items[n];
      std::string at = parent.prefix + f.key + "[" + std::to_string(n) + "]";
      if (!item.is_object()) {
        add_error(at, "type", say(lang_, "a repeat item is a JSON object"));
        continue;
      }
      auto id = item.find(f.item_id);
      if (id == item.end() || !id->is_string() || id->get_ref<const std::string&>().empty() ||
          id->get_ref<const std::string&>().size() > 64 || !is_valid_utf8(id->get_ref<const std::string&>())) {
        add_error(at, "repeat_item_id", say(lang_, "item needs a non-empty string '{}' of at most 64 bytes", {f.item_id}));
        continue;
      }
      const std::string& key = id->get_ref<const std::string&>();
      std::string prefix = parent.prefix + f.key + "[" + key + "]";
      if (!ids.insert(key).second) {
        add_error(prefix, "repeat_item_id", say(lang_, "duplicate item id"));
        continue;
      }
      Level lv{f.fields, f.order, item, prefix + ".", &parent, {}, {},
               parent.pointer + "/" + f.key + "/" + std::to_string(n)};
      evaluate_level(lv);
      for (std::size_t i : f.order) {
        const FieldDef& c = f.fields[i];
        if (c.type == FieldType::kRepeat && lv.present.count(c.key) != 0) repeat(c, item[c.key], lv);
      }
      check_level(lv);
    }
  }

  void report(const std::string& path, const std::string& code, const std::string& message, bool warn) {
    if (warn)
      out_.warnings.push_back({path, code, message});
    else
      add_error(path, code, message);
  }

  void declarative(const FieldDef& f, const std::string& path, const Value& v) {
    if (const double* d = std::get_if<double>(&v)) {
      bool low = f.min && (f.min_exclusive ? *d <= *f.min : *d < *f.min);
      bool high = f.max && (f.max_exclusive ? *d >= *f.max : *d > *f.max);
      if (low || high) report(path, "range", say(lang_, "value {} out of range", {describe(v)}), false);
    }
    if (const std::string* s = std::get_if<std::string>(&v)) {
      if (f.type == FieldType::kDate || f.type == FieldType::kDatetime) {
        std::string day = s->substr(0, 10);
        if ((f.min_date && day < *f.min_date) || (f.max_date && day > *f.max_date))
          report(path, "range", say(lang_, "date {} out of range", {day}), false);
      }
      if (f.min_length || f.max_length) {
        std::size_t n = utf8_length(*s);
        if ((f.min_length && n < *f.min_length) || (f.max_length && n > *f.max_length))
          report(path, "length", say(lang_, "length {} out of bounds", {std::to_string(n)}), false);
      }
      if (f.pattern && !f.pattern->full_match(*s))
        report(path, "regex", say(lang_, "does not match {}", {f.pattern->pattern()}), false);
    }
    if (const auto* codes = std::get_if<std::vector<std::string>>(&v); codes != nullptr && codes->size() > 1) {
      for (const std::string& x : f.exclusive) {
        if (std::find(codes->begin(), codes->end(), x) != codes->end())
          report(path, "exclusive", say(lang_, "'{}' cannot be combined with other choices", {x}), false);
      }
    }
  }

  void check_level(const Level& lv) {
    for (const FieldDef& f : lv.fields) {
      auto it = lv.values.find(f.key);
      if (it == lv.values.end()) continue;
      std::string path = lv.prefix + f.key;
      declarative(f, path, it->second);
      if (f.calculate) {
        Value expected = evaluate(*f.calculate->root, env(lv, nullptr));
        if (!is_null(expected) && !same_value(it->second, expected)) {
          report(path, "calculation", say(lang_, "stored {}, computed {}", {describe(it->second), describe(expected)}), false);
          if (fixes != nullptr) fixes->emplace_back(lv.pointer + "/" + f.key, to_json(expected));
        }
      }
      for (const Check& c : f.checks) {
        if (truth(evaluate(*c.expr.root, env(lv, &it->second))) != false) continue;
        std::string msg = c.message.empty() ? say(lang_, "constraint failed: {}", {c.expr.source}) : text_in(c.text, lang_);
        if (msg.empty()) msg = c.message;  // a Check built without its texts
        report(path, "constraint", msg, c.is_warning);
      }
    }
  }

  void record_state(const Level& lv, const FieldDef& f, bool relevant) {
    FieldState st{lv.prefix + f.key, lv.pointer + "/" + f.key, relevant, false, {}};
    if (relevant && f.calculate) {
      Value v = evaluate(*f.calculate->root, env(lv, nullptr));
      if (!is_null(v)) {
        st.has_computed = true;
        st.computed = to_json(v).dump();
      }
    }
    states->push_back(std::move(st));
  }

  static json to_json(const Value& v) {
    if (const double* d = std::get_if<double>(&v)) {
      if (std::isfinite(*d) && std::fabs(*d) < 9007199254740992.0 && std::trunc(*d) == *d)
        return json(static_cast<std::int64_t>(*d));
      return json(*d);
    }
    if (const bool* b = std::get_if<bool>(&v)) return json(*b);
    if (const std::string* s = std::get_if<std::string>(&v)) return json(*s);
    if (const auto* l = std::get_if<std::vector<std::string>>(&v)) return json(*l);
    return json();
  }

  const FormDef& form_;
  const std::string today_;
  const Lang lang_;
  Validation out_;

 public:
  // When set, each stored computed value that differs from its expression is recorded here
  // (JSON pointer, computed value) for recompute_calculated().
  std::vector<std::pair<std::string, json>>* fixes = nullptr;
  // When set, the state of every field reached is recorded here (field_states()).
  std::vector<FieldState>* states = nullptr;
};

}  // namespace

Validation check_record(const FormDef& form, const json& body, const ValidationContext& ctx) {
  return Validator(form, ctx).run(body);
}

std::vector<FieldError> validate_record(const FormDef& form, const json& body, const ValidationContext& ctx) {
  return check_record(form, body, ctx).errors;
}

bool recompute_calculated(const FormDef& form, json& body, const ValidationContext& ctx) {
  if (!body.is_object()) return false;
  bool changed = false;
  // A computed field may read another: repeat until nothing moves (bounded: chains are short and acyclic).
  for (int pass = 0; pass < 8; ++pass) {
    std::vector<std::pair<std::string, json>> fixes;
    Validator v(form, ctx);
    v.fixes = &fixes;
    (void)v.run(body);
    if (fixes.empty()) break;
    for (auto& [pointer, value] : fixes) body[json::json_pointer(pointer)] = std::move(value);
    changed = true;
  }
  return changed;
}

std::vector<FieldState> field_states(const FormDef& form, const json& body, const ValidationContext& ctx) {
  std::vector<FieldState> out;
  Validator v(form, ctx);
  v.states = &out;
  (void)v.run(body);
  return out;
}

bool settle_body(const FormDef& form, json& body, const ValidationContext& ctx) {
  if (!body.is_object()) return false;
  bool changed = false;
  // A computed field may read another, and relevance may follow a computed value: repeat until nothing
  // moves (bounded: chains are short and acyclic).
  for (int pass = 0; pass < 8; ++pass) {
    bool moved = false;
    for (const FieldState& st : field_states(form, body, ctx)) {
      const json::json_pointer ptr(st.pointer);
      const bool present = body.contains(ptr) && !body.at(ptr).is_null();
      if (!st.relevant) {
        if (body.contains(ptr)) {
          body.at(ptr.parent_pointer()).erase(ptr.back());
          moved = true;
        }
      } else if (st.has_computed) {
        json value = json::parse(st.computed, nullptr, false);
        if (!present || body.at(ptr) != value) {
          body[ptr] = std::move(value);
          moved = true;
        }
      }
    }
    if (!moved) break;
    changed = true;
  }
  return changed;
}

}  // namespace akt::forms

// Reads the shape of a form definition (first pass of parse_form): properties, types, labels,
// expressions, limits, choice lists. Cross-field checks are form_links.cpp's. Never throws.
#include <algorithm>
#include "schema/forms/definition_reader.hpp"

#include <cmath>
#include <map>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "schema/forms/expr_eval.hpp"
#include "schema/forms/serbian_script.hpp"
#include "schema/forms/utf8.hpp"

namespace akt::forms {
namespace {

using json = nlohmann::json;

constexpr std::size_t kMaxKeyBytes = 64;
constexpr std::size_t kMaxErrors = 100;

const std::set<std::string, std::less<>> kFieldProps = {
    "key",          "type",      "label",    "required",  "relevant",  "constraint",  "constraint_message",
    "checks",       "calculate", "computed", "immutable", "choices",   "sensitivity", "sensitivity_note",
    "merge_policy", "range",     "length",   "pattern",   "exclusive", "fields",      "item_id",
    "max_items",    "hint"};

bool valid_key(std::string_view k) {
  if (k.empty() || k.size() > kMaxKeyBytes || k[0] < 'a' || k[0] > 'z') return false;
  for (char c : k) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

class DefParser {
 public:
  explicit DefParser(std::vector<DefinitionError>& errors) : errors_(errors) {}

  void err(std::string path, std::string code, std::string message) {
    if (errors_.size() < kMaxErrors) errors_.push_back({std::move(path), std::move(code), std::move(message)});
  }

  // The languages the form declares ("languages"; default en only) and the texts it lets fall back to
  // English ("fallback_en", paths such as "fields[3].label.sq"). Read before any label.
  void languages(const json& doc) {
    if (auto it = doc.find("languages"); it != doc.end()) {
      if (!it->is_array() || it->empty()) return err("languages", "type", "languages: an array of en, sq, sr");
      std::set<std::string> seen;
      for (std::size_t i = 0; i < it->size(); ++i) {
        const json& l = (*it)[i];
        const std::string at = "languages[" + std::to_string(i) + "]";
        if (!l.is_string() || (l != "en" && l != "sq" && l != "sr")) {
          err(at, "unknown_language", "languages are en, sq, sr (sr-Latn is derived from sr)");
        } else if (!seen.insert(l.get<std::string>()).second) {
          err(at, "duplicate_key", "language listed twice");
        }
      }
      if (seen.count("en") == 0) err("languages", "missing", "en is always a language of the form");
      wants_sq_ = seen.count("sq") != 0;
      wants_sr_ = seen.count("sr") != 0;
    }
    if (auto it = doc.find("fallback_en"); it != doc.end()) {
      if (!it->is_array()) return err("fallback_en", "type", "fallback_en: an array of text paths");
      for (std::size_t i = 0; i < it->size(); ++i) {
        const json& p = (*it)[i];
        if (!p.is_string() || !fallback_.emplace(p.get<std::string>(), i).second)
          err("fallback_en[" + std::to_string(i) + "]", "type", "a text path such as fields[3].label.sq, listed once");
      }
    }
  }

  // After the whole form is read: a listed fallback that no text used is an error (stale list).
  void unused_fallbacks() {
    for (const auto& [path, index] : fallback_) {
      if (used_fallback_.count(path) == 0)
        err("fallback_en[" + std::to_string(index) + "]", "unused_fallback",
            "'" + excerpt(path) + "' is not a text of a declared language that lacks its translation");
    }
  }

  // A missing translation in a declared language is an error, unless the path is listed in fallback_en.
  void translation(const std::string& text, const std::string& path, bool wanted, const char* name) {
    if (!wanted || !text.empty()) return;
    if (fallback_.count(path) != 0) {
      used_fallback_.insert(path);
      return;
    }
    err(path, "missing_translation",
        std::string("no ") + name + " text: translate it, or list the path in fallback_en to show English");
  }

  void label(const json& j, const std::string& path, Label& out) {
    if (!j.is_object()) return err(path, "type", "label must be an object {\"en\",\"sq\",\"sr\"}");
    for (const auto& [lang, text] : j.items()) {
      if (lang == "sr-Latn") {
        err(path + "." + lang, "derived_text", "sr-Latn is derived from sr (Cyrillic); write sr only");
        continue;
      }
      if (!text.is_string()) {
        err(path + "." + lang, "type", "label text must be a string");
        continue;
      }
      if (lang == "en")
        out.en = text.get<std::string>();
      else if (lang == "sq")
        out.sq = text.get<std::string>();
      else if (lang == "sr")
        out.sr = text.get<std::string>();
      else
        err(path + "." + excerpt(lang), "unknown_property", "languages are en, sq, sr");
    }
    if (out.en.empty()) err(path + ".en", "missing", "an English label is required");
    translation(out.sq, path + ".sq", wants_sq_, "Albanian (sq)");
    translation(out.sr, path + ".sr", wants_sr_, "Serbian (sr)");
    out.sr_latn = to_serbian_latin(out.sr);  // the load step: Latin always follows the Cyrillic
  }

  // A text for people that is not a label (hint, constraint_message, a check's message): a label object,
  // or a plain string, which is its English text (the other declared languages then count as missing).
  void text(const json& j, const std::string& path, Label& out) {
    if (j.is_object()) return label(j, path, out);
    if (!j.is_string()) return err(path, "type", "must be a string (English) or an object {\"en\",\"sq\",\"sr\"}");
    out.en = j.get<std::string>();
    translation(out.sq, path + ".sq", wants_sq_, "Albanian (sq)");
    translation(out.sr, path + ".sr", wants_sr_, "Serbian (sr)");
  }

  std::optional<Expression> expr(const json& j, const std::string& path) {
    if (!j.is_string()) {
      err(path, "type", "expression must be a string");
      return std::nullopt;
    }
    auto e = parse_expression(j.get<std::string>());
    if (!e.ok()) {
      err(path, "bad_expression", e.status().message());
      return std::nullopt;
    }
    return std::move(e).value();
  }

  bool flag(const json& f, const char* name, const std::string& path, bool& out) {
    auto it = f.find(name);
    if (it == f.end()) return false;
    if (!it->is_boolean()) {
      err(path + "." + name, "type", std::string(name) + " must be true or false");
      return false;
    }
    out = it->get<bool>();
    return true;
  }

  std::string string_prop(const json& f, const char* name, const std::string& path) {
    auto it = f.find(name);
    if (it == f.end()) return {};
    if (!it->is_string()) {
      err(path + "." + name, "type", std::string(name) + " must be a string");
      return {};
    }
    return it->get<std::string>();
  }

  void range(const json& j, const std::string& path, FieldDef& f) {
    bool is_num = f.type == FieldType::kInteger || f.type == FieldType::kDecimal || f.type == FieldType::kCalculated;
    bool is_date = f.type == FieldType::kDate || f.type == FieldType::kDatetime;
    if (!is_num && !is_date) return err(path, "misplaced_property", "range applies to numbers and dates");
    if (!j.is_object()) return err(path, "type", "range must be an object");
    for (const auto& [k, v] : j.items()) {
      std::string p = path + "." + k;
      if (k == "min_exclusive" || k == "max_exclusive") {
        if (!v.is_boolean()) {
          err(p, "type", "must be true or false");
          continue;
        }
        (k == "min_exclusive" ? f.min_exclusive : f.max_exclusive) = v.get<bool>();
      } else if (k == "min" || k == "max") {
        if (is_num) {
          if (!v.is_number() || !std::isfinite(v.get<double>())) {
            err(p, "type", "must be a number");
            continue;
          }
          (k == "min" ? f.min : f.max) = v.get<double>();
        } else {
          if (!v.is_string() || !days_from_iso(v.get<std::string>()) || v.get<std::string>().size() != 10) {
            err(p, "type", "must be a date YYYY-MM-DD");
            continue;
          }
          (k == "min" ? f.min_date : f.max_date) = v.get<std::string>();
        }
      } else {
        err(p, "unknown_property", "range has min, max, min_exclusive, max_exclusive");
      }
    }
  }

  void length(const json& j, const std::string& path, FieldDef& f) {
    if (f.type != FieldType::kText) return err(path, "misplaced_property", "length applies to text");
    if (!j.is_object()) return err(path, "type", "length must be an object");
    for (const auto& [k, v] : j.items()) {
      if (k != "min" && k != "max") {
        err(path + "." + k, "unknown_property", "length has min, max");
        continue;
      }
      if (!v.is_number_unsigned()) {
        err(path + "." + k, "type", "must be a non-negative integer");
        continue;
      }
      (k == "min" ? f.min_length : f.max_length) = v.get<std::size_t>();
    }
  }

  void checks(const json& j, const std::string& path, FieldDef& f) {
    if (!j.is_array()) return err(path, "type", "checks must be an array");
    for (std::size_t i = 0; i < j.size(); ++i) {
      std::string p = path + "[" + std::to_string(i) + "]";
      const json& c = j[i];
      if (!c.is_object() || !c.contains("expr")) {
        err(p, "missing", "a check needs \"expr\"");
        continue;
      }
      Check check;
      for (const auto& [k, v] : c.items()) {
        if (k == "expr") {
          if (auto e = expr(v, p + ".expr")) check.expr = std::move(*e);
        } else if (k == "message" && (v.is_string() || v.is_object())) {
          text(v, p + ".message", check.text);
          check.message = check.text.en;
        } else if (k == "level" && v.is_string() && (v == "error" || v == "warn")) {
          check.is_warning = v == "warn";
        } else {
          err(p + "." + k, "unknown_property", "a check has expr, message, level (error|warn)");
        }
      }
      check.def_path = p;
      if (check.expr.root) f.checks.push_back(std::move(check));
    }
  }

  // Expressions: relevant, constraint (+ message), checks, calculate.
  void rules(const json& j, const std::string& path, FieldDef& f) {
    if (auto it = j.find("relevant"); it != j.end()) f.relevant = expr(*it, path + ".relevant");
    if (auto it = j.find("constraint"); it != j.end()) {
      if (auto e = expr(*it, path + ".constraint")) {
        Label message;
        if (auto m = j.find("constraint_message"); m != j.end()) text(*m, path + ".constraint_message", message);
        std::string en = message.en;
        f.checks.push_back({std::move(*e), std::move(en), false, path + ".constraint", std::move(message)});
      }
    } else if (j.contains("constraint_message")) {
      err(path + ".constraint_message", "misplaced_property", "constraint_message without constraint");
    }
    if (auto it = j.find("checks"); it != j.end()) checks(*it, path + ".checks", f);
    if (auto it = j.find("calculate"); it != j.end()) {
      f.calculate = expr(*it, path + ".calculate");
      f.computed = true;
    } else if (f.type == FieldType::kCalculated) {
      err(path + ".calculate", "missing", "a calculated field needs \"calculate\"");
    }
  }

  // Choice list, sensitivity class, merge policy.
  void classes(const json& j, const std::string& path, FieldDef& f) {
    f.choices = string_prop(j, "choices", path);
    bool is_select = f.type == FieldType::kSelectOne || f.type == FieldType::kSelectMultiple;
    if (is_select && f.choices.empty()) err(path + ".choices", "missing", "select fields need a choice list");
    if (!is_select && j.contains("choices"))
      err(path + ".choices", "misplaced_property", "only select fields have choices");
    std::string sens = string_prop(j, "sensitivity", path);
    if (sens.empty()) {
      if (f.is_value_field()) err(path + ".sensitivity", "missing", "a value field needs a sensitivity class");
    } else if (auto s = sensitivity_from(sens)) {
      f.sensitivity = *s;
    } else {
      err(path + ".sensitivity", "unknown_sensitivity", "sensitivity is one of D, Q, S, S*, S-agg, P, C, -");
    }
    f.sensitivity_note = string_prop(j, "sensitivity_note", path);
    if (std::string mp = string_prop(j, "merge_policy", path); !mp.empty()) {
      auto p = merge_policy_from(mp);
      if (!p)
        err(path + ".merge_policy", "unknown_merge_policy", "merge_policy is default, set_union or admin_only");
      else if (*p == MergePolicy::kSetUnion && f.type != FieldType::kSelectMultiple)
        err(path + ".merge_policy", "misplaced_property", "set_union applies to select_multiple");
      else
        f.merge_policy = *p;
    }
  }

  // Declarative checks: range, length, pattern, exclusive.
  void limits(const json& j, const std::string& path, FieldDef& f) {
    if (auto it = j.find("range"); it != j.end()) range(*it, path + ".range", f);
    if (auto it = j.find("length"); it != j.end()) length(*it, path + ".length", f);
    if (auto it = j.find("pattern"); it != j.end()) {
      if (f.type != FieldType::kText)
        err(path + ".pattern", "misplaced_property", "pattern applies to text");
      else if (!it->is_string())
        err(path + ".pattern", "type", "pattern must be a string");
      else if (auto re = Regex::compile(it->get<std::string>()); !re.ok())
        err(path + ".pattern", "bad_regex", re.status().message());
      else
        f.pattern = *re;
    }
    if (auto it = j.find("exclusive"); it != j.end()) {
      if (f.type != FieldType::kSelectMultiple)
        err(path + ".exclusive", "misplaced_property", "exclusive applies to select_multiple");
      else if (!it->is_array())
        err(path + ".exclusive", "type", "exclusive must be an array of codes");
      else
        for (const json& c : *it) {
          if (c.is_string())
            f.exclusive.push_back(c.get<std::string>());
          else
            err(path + ".exclusive", "type", "exclusive must be an array of codes");
        }
    }
  }

  void field(const json& j, const std::string& path, FieldDef& f, int nesting) {
    f.def_path = path;
    if (!j.is_object()) return err(path, "type", "a field must be an object");
    for (const auto& [k, v] : j.items()) {
      if (kFieldProps.count(k) == 0)
        err(path + "." + excerpt(k), "unknown_property", "unknown field property '" + excerpt(k) + "'");
    }
    f.key = string_prop(j, "key", path);
    if (!valid_key(f.key)) err(path + ".key", "bad_key", "key must match [a-z][a-z0-9_]{0,63}");
    std::string type = string_prop(j, "type", path);
    auto t = field_type_from(type);
    if (!t) return err(path + ".type", "unknown_type", "unknown field type '" + excerpt(type) + "'");
    f.type = *t;
    if (auto it = j.find("label"); it != j.end())
      label(*it, path + ".label", f.label);
    else
      err(path + ".label", "missing", "a field needs a label");
    if (auto it = j.find("hint"); it != j.end()) text(*it, path + ".hint", f.hint);
    flag(j, "required", path, f.required);
    flag(j, "computed", path, f.computed);
    flag(j, "immutable", path, f.immutable);
    rules(j, path, f);
    classes(j, path, f);
    limits(j, path, f);
    if (f.type == FieldType::kNote && (f.required || !f.checks.empty())) {
      err(path, "misplaced_property", "a note has no value: no required, no constraint");
    }
    if (f.type == FieldType::kRepeat) {
      repeat(j, path, f, nesting);
    } else if (j.contains("fields") || j.contains("item_id") || j.contains("max_items")) {
      err(path, "misplaced_property", "fields, item_id and max_items apply to repeat");
    }
  }

  void repeat(const json& j, const std::string& path, FieldDef& f, int nesting) {
    if (nesting >= kMaxRepeatNesting) return err(path, "too_deep", "repeats nest at most 3 deep");
    f.item_id = string_prop(j, "item_id", path);
    if (f.item_id.empty()) err(path + ".item_id", "missing", "a repeat needs the key of its stable item id field");
    if (auto it = j.find("max_items"); it != j.end()) {
      if (!it->is_number_unsigned() || it->get<std::size_t>() == 0 || it->get<std::size_t>() > 10000)
        err(path + ".max_items", "type", "max_items must be an integer in 1..10000");
      else
        f.max_items = it->get<std::size_t>();
    }
    auto it = j.find("fields");
    if (it == j.end()) return err(path + ".fields", "missing", "a repeat needs fields");
    fields(*it, path + ".fields", f.fields, nesting + 1, f.key);
  }

  void fields(const json& j, const std::string& path, std::vector<FieldDef>& out, int nesting,
              const std::string& repeat_key) {
    if (!j.is_array()) return err(path, "type", "fields must be an array");
    for (std::size_t i = 0; i < j.size(); ++i) {
      if (++field_count_ > kMaxFields) return err(path, "too_large", "more than 2000 fields");
      FieldDef f;
      f.repeat = repeat_key;
      field(j[i], path + "[" + std::to_string(i) + "]", f, nesting);
      out.push_back(std::move(f));
    }
  }

  void lists(const json& j, ChoiceLists& out) {
    if (!j.is_object()) return err("choice_lists", "type", "choice_lists must be an object");
    for (const auto& [name, arr] : j.items()) {
      std::string p = "choice_lists." + excerpt(name);
      if (!arr.is_array() || arr.empty()) {
        err(p, "type", "a choice list is a non-empty array");
        continue;
      }
      ChoiceList list{name, {}};
      std::set<std::string> codes;
      for (std::size_t i = 0; i < arr.size(); ++i) {
        std::string cp = p + "[" + std::to_string(i) + "]";
        const json& c = arr[i];
        if (!c.is_object() || !c.contains("code") || !c["code"].is_string()) {
          err(cp, "type", "a choice is {\"code\": string, \"label\": {...}}");
          continue;
        }
        Choice ch{c["code"].get<std::string>(), {}};
        if (ch.code.empty() || ch.code.size() > kMaxKeyBytes) err(cp + ".code", "bad_key", "code must be 1-64 bytes");
        if (!codes.insert(ch.code).second)
          err(cp + ".code", "duplicate_code", "duplicate code '" + excerpt(ch.code) + "'");
        if (c.contains("label"))
          label(c["label"], cp + ".label", ch.label);
        else
          err(cp + ".label", "missing", "a choice needs a label");
        list.choices.push_back(std::move(ch));
      }
      out[name] = std::move(list);
    }
  }

 private:
  std::vector<DefinitionError>& errors_;
  std::size_t field_count_ = 0;
  bool wants_sq_ = false, wants_sr_ = false;
  std::map<std::string, std::size_t> fallback_;  // path -> index in fallback_en
  std::set<std::string> used_fallback_;
};

}  // namespace

void read_definition(const json& doc, const ParseOptions& options, FormDef& form,
                     std::vector<DefinitionError>& errors) {
  DefParser p(errors);
  if (!doc.is_object()) return p.err("", "type", "a form definition is a JSON object");
  static const std::set<std::string, std::less<>> kTop = {"v",      "form_id",    "version",  "title",      "choice_lists",
                                                          "fields", "unique_key", "languages", "fallback_en"};
  for (const auto& [k, v] : doc.items()) {
    if (kTop.count(k) == 0) p.err(excerpt(k), "unknown_property", "unknown top-level property '" + excerpt(k) + "'");
  }
  if (!doc.contains("v") || doc["v"] != 1) p.err("v", "unsupported_version", "\"v\" must be 1");
  form.form_id = p.string_prop(doc, "form_id", "");
  if (!valid_key(form.form_id)) p.err("form_id", "bad_key", "form_id must match [a-z][a-z0-9_]{0,63}");
  if (!doc.contains("version") || !doc["version"].is_number_integer() || doc["version"].get<std::int64_t>() < 1) {
    p.err("version", "type", "version must be an integer >= 1");
  } else {
    form.version = doc["version"].get<std::int64_t>();
  }
  p.languages(doc);
  if (doc.contains("title"))
    p.label(doc["title"], "title", form.title);
  else
    p.err("title", "missing", "a form needs a title");
  if (doc.contains("choice_lists")) p.lists(doc["choice_lists"], form.choice_lists);
  if (options.include_common_header) {
    json header = json::parse(common_header_json(), nullptr, false);
    p.fields(header, "header", form.fields, 0, "");
    for (const FieldDef& f : form.fields) form.header_keys.push_back(f.key);
  }
  if (!doc.contains("fields")) return p.err("fields", "missing", "a form needs fields");
  p.fields(doc["fields"], "fields", form.fields, 0, "");
  p.unused_fallbacks();
  if (doc.contains("unique_key")) {
    // The domain uniqueness key (duplicate check): 1-5 distinct top-level value fields.
    const json& k = doc["unique_key"];
    if (!k.is_array() || k.empty() || k.size() > 5) return p.err("unique_key", "type", "unique_key: 1 to 5 field keys");
    for (std::size_t i = 0; i < k.size(); ++i) {
      const std::string at = "unique_key[" + std::to_string(i) + "]";
      if (!k[i].is_string()) {
        p.err(at, "type", "a field key");
        continue;
      }
      const std::string key = k[i].get<std::string>();
      const auto f = std::find_if(form.fields.begin(), form.fields.end(), [&](const FieldDef& d) { return d.key == key; });
      if (f == form.fields.end() || !f->is_value_field())
        p.err(at, "dangling_reference", "'" + excerpt(key) + "' is not a top-level answer field of this form");
      else if (std::find(form.unique_key.begin(), form.unique_key.end(), key) != form.unique_key.end())
        p.err(at, "duplicate_key", "'" + excerpt(key) + "' twice");
      else
        form.unique_key.push_back(key);
    }
  }
}

}  // namespace akt::forms

// Labels for `aktsync show --lang` (see record_labels.hpp).
#include "clients/record_labels.hpp"

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "clients/cli.hpp"

#include "schema/forms/choice_list.hpp"
#include "schema/forms/form_parser.hpp"

namespace akt::client {
namespace {

using nlohmann::json;
using forms::Lang;

std::string code_label(const forms::ChoiceList* list, const std::string& code, Lang lang) {
  if (list != nullptr)
    for (const forms::Choice& c : list->choices)
      if (c.code == code) return forms::text_in(c.label, lang);
  return code;
}

std::string answer(const forms::FormDef& form, const forms::FieldDef& f, const json& v, Lang lang) {
  const forms::ChoiceList* list = f.choices.empty() ? nullptr : form.list(f.choices);
  if (v.is_string() && f.type == forms::FieldType::kSelectOne) return code_label(list, v.get<std::string>(), lang);
  if (v.is_array() && f.type == forms::FieldType::kSelectMultiple) {
    std::string out;
    for (const json& c : v) {
      if (!out.empty()) out += "; ";
      out += c.is_string() ? code_label(list, c.get<std::string>(), lang) : c.dump();
    }
    return out;
  }
  if (v.is_boolean())  // yes / no in the language, from the shared list
    return code_label(&forms::builtin_choice_lists().at("L:yes_no"), v.get<bool>() ? "yes" : "no", lang);
  if (v.is_string()) return v.get<std::string>();
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

void lines(const forms::FormDef& form, const std::vector<forms::FieldDef>& fields, const json& obj, Lang lang,
           const std::string& indent, std::string& out) {
  for (const forms::FieldDef& f : fields) {
    auto it = obj.find(f.key);
    if (it == obj.end() || it->is_null()) continue;
    const std::string label = forms::text_in(f.label, lang);
    if (f.type == forms::FieldType::kRepeat && it->is_array()) {
      out += indent + label + ":\n";
      std::size_t n = 0;
      for (const json& item : *it) {
        out += indent + "  " + std::to_string(++n) + ".\n";
        if (item.is_object()) lines(form, f.fields, item, lang, indent + "    ", out);
      }
      continue;
    }
    out += indent + label + ": " + answer(form, f, *it, lang) + "\n";
  }
  for (const auto& [key, v] : obj.items()) {  // answers the definition does not know, by their keys
    bool known = false;
    for (const forms::FieldDef& f : fields) known = known || f.key == key;
    if (!known && !v.is_null())
      out += indent + key + ": " + (v.is_string() ? v.get<std::string>() : v.dump(-1, ' ', false, json::error_handler_t::replace)) + "\n";
  }
}

}  // namespace

std::shared_ptr<const forms::FormDef> form_for_labels(const std::string& form_id, std::int64_t version,
                                                      const std::vector<std::string>& extra, std::string& note) {
  std::shared_ptr<const forms::FormDef> exact, newest;
  auto consider = [&](std::string_view text) {
    auto f = forms::parse_form(text);
    if (!f.ok() || f->form_id != form_id) return;
    auto def = std::make_shared<const forms::FormDef>(std::move(*f));
    if (def->version == version && !exact) exact = def;
    if (!newest || def->version > newest->version) newest = def;
  };
  for (const std::string& t : extra) consider(t);
  if (!exact)
    for (std::string_view t : programme_form_texts()) consider(t);
  if (exact) return exact;
  if (newest) note = "labels from " + form_id + " v" + std::to_string(newest->version) + " (v" +
                     std::to_string(version) + " not at hand; give it with --form FILE)";
  return newest;
}

RecordLabels record_labels(const store::LocalRecord& r, const forms::FormDef* form, Lang lang) {
  const forms::ChoiceLists& shared = forms::builtin_choice_lists();
  RecordLabels out;
  out.form = (form ? forms::text_in(form->title, lang) + " (" : std::string("(")) + r.form_id + " v" +
             std::to_string(r.form_version) + ")";
  out.scope = code_label(&shared.at("L:municipality"), r.scope.municipality, lang) + " / " +
              code_label(&shared.at("L:community"), r.scope.community, lang) + " / " + r.scope.component;
  if (form == nullptr) return out;
  out.body = [form, lang](const std::string& body) {
    const json j = json::parse(body, nullptr, false);
    std::string text;
    if (j.is_object()) lines(*form, form->fields, j, lang, "", text);
    return text;
  };
  return out;
}

}  // namespace akt::client

namespace akt::client::cli {

namespace {

// --lang's value (exact tags, as `labels=` of the exports: en, sq, sr in Cyrillic, sr-Latn) and the
// --form file's text; false (after saying why) when either is wrong. `code` is then the exit code.
bool labelling_options(const std::string& lang_tag, const std::string* form_file, forms::Lang& lang,
                       std::vector<std::string>& extra, int& code) {
  const auto l = forms::lang_from_tag(lang_tag);
  if (!l || forms::lang_tag(*l) != lang_tag) return code = fail(kUsage, "--lang must be en, sq, sr or sr-Latn"), false;
  lang = *l;
  if (form_file == nullptr) return true;
  std::ifstream in(*form_file, std::ios::binary);
  if (!in) return code = fail(kError, "cannot read " + *form_file), false;
  std::ostringstream text;
  text << in.rdbuf();
  auto parsed = forms::parse_form(text.str());
  if (!parsed.ok()) return code = fail(kError, *form_file + ": " + parsed.status().message()), false;
  extra.push_back(text.str());
  return true;
}

}  // namespace

int show_labelled(const store::LocalRecord& record, const std::string& lang_tag, const std::string* form_file) {
  forms::Lang lang = forms::Lang::kEn;
  std::vector<std::string> extra;
  int code = kOk;
  if (!labelling_options(lang_tag, form_file, lang, extra, code)) return code;
  std::string note;
  auto form = form_for_labels(record.form_id, record.form_version, extra, note);
  if (!form) note = "no definition of " + record.form_id + " at hand (give it with --form FILE): the answers as stored";
  if (!note.empty()) std::fprintf(stderr, "aktsync: %s\n", note.c_str());
  RecordLabels labels = record_labels(record, form.get(), lang);
  std::printf("%s\n", describe_record(record, &labels).c_str());
  return kOk;
}

int list_labelled(const std::vector<store::LocalRecord>& records, const std::string& lang_tag,
                  const std::string* form_file) {
  forms::Lang lang = forms::Lang::kEn;
  std::vector<std::string> extra;
  int code = kOk;
  if (!labelling_options(lang_tag, form_file, lang, extra, code)) return code;
  // One definition per form version, looked up once; each note said once.
  std::map<std::pair<std::string, std::int64_t>, std::shared_ptr<const forms::FormDef>> defs;
  for (const auto& r : records) {
    const auto key = std::make_pair(r.form_id, r.form_version);
    if (!defs.count(key)) {
      std::string note;
      defs[key] = form_for_labels(r.form_id, r.form_version, extra, note);
      if (!note.empty()) std::fprintf(stderr, "aktsync: %s\n", note.c_str());
    }
    const RecordLabels labels = record_labels(r, defs[key].get(), lang);
    std::printf("%s  %s  %s  %s\n", r.record_id.c_str(), labels.form.c_str(), labels.scope.c_str(),
                record_state(r).c_str());
  }
  return kOk;
}

}  // namespace akt::client::cli

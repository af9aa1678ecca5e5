// The tablet app's rule engine: schema/forms (definition reader, expression parser, validator,
// calculations) compiled to WebAssembly, so the app checks answers with the server's own code.
// One entry point, akt_forms(request JSON) -> answer JSON (the answer lives until the next call):
//   {"op":"load","definition":"<form definition text>"}
//     -> {"ok":true,"key":"<form_id>/<version>","form":{...the parsed form for rendering...}}
//      | {"ok":false,"errors":[{path,code,message}]}
//   {"op":"evaluate","key":"<form_id>/<version>","body":{...},"today":"YYYY-MM-DD","lang":"sq"}
//     -> {"ok":true,"body":{settled body},"states":[{path,relevant}],"errors":[...],"warnings":[...]}
// `today` should be the server's calendar day (the app keeps the last one it saw); empty = unknown.
// `lang` (en, sq, sr, sr-Latn; absent or unknown = en) is the language of the errors' and warnings'
// messages, as the server writes them for a push with that Accept-Language (PROTOCOL §4.4).
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "schema/forms/form_parser.hpp"
#include "schema/forms/validator.hpp"

namespace {

using nlohmann::json;
using namespace akt::forms;

std::map<std::string, FormDef, std::less<>>& loaded() {
  static std::map<std::string, FormDef, std::less<>> forms;
  return forms;
}

json label(const Label& l) { return {{"en", l.en}, {"sq", l.sq}, {"sr", l.sr}, {"sr_latn", l.sr_latn}}; }

json describe_field(const FieldDef& f) {
  json j = {{"key", f.key}, {"type", std::string(to_string(f.type))}, {"label", label(f.label)},
            {"required", f.required}, {"computed", f.computed}, {"calculated", f.calculate.has_value()},
            {"immutable", f.immutable}, {"admin_only", f.merge_policy == MergePolicy::kAdminOnly}};
  if (!f.choices.empty()) j["choices"] = f.choices;
  if (f.min) j["min"] = *f.min;
  if (f.max) j["max"] = *f.max;
  if (f.min_date) j["min_date"] = *f.min_date;
  if (f.max_date) j["max_date"] = *f.max_date;
  if (f.max_length) j["max_length"] = *f.max_length;
  if (!f.exclusive.empty()) j["exclusive"] = f.exclusive;
  if (f.type == FieldType::kRepeat) {
    j["item_id"] = f.item_id;
    j["max_items"] = f.max_items;
    json items = json::array();
    for (const FieldDef& c : f.fields) items.push_back(describe_field(c));
    j["fields"] = std::move(items);
  }
  return j;
}

json describe(const FormDef& form) {
  json fields = json::array();
  for (const FieldDef& f : form.fields) fields.push_back(describe_field(f));
  json lists = json::object();
  for (const auto& [name, list] : form.choice_lists) {
    json choices = json::array();
    for (const Choice& c : list.choices) choices.push_back({{"code", c.code}, {"label", label(c.label)}});
    lists[name] = std::move(choices);
  }
  return {{"form_id", form.form_id}, {"version", form.version}, {"title", label(form.title)},
          {"fields", std::move(fields)}, {"choice_lists", std::move(lists)}, {"header_keys", form.header_keys}};
}

json errors_json(const std::vector<FieldError>& errs) {
  json out = json::array();
  for (const FieldError& e : errs) out.push_back({{"path", e.path}, {"code", e.code}, {"message", e.message}});
  return out;
}

json fail(const std::string& code, const std::string& message) {
  return {{"ok", false}, {"errors", json::array({{{"path", ""}, {"code", code}, {"message", message}}})}};
}

json handle(const json& req) {
  if (!req.is_object() || !req.contains("op") || !req["op"].is_string()) return fail("bad_request", "no op");
  const std::string op = req["op"].get<std::string>();
  if (op == "load") {
    if (!req.contains("definition") || !req["definition"].is_string()) return fail("bad_request", "no definition");
    FormParse p = parse_form_detailed(req["definition"].get_ref<const std::string&>());
    if (!p.form) {
      json errs = json::array();
      for (const DefinitionError& e : p.errors)
        errs.push_back({{"path", e.path}, {"code", e.code}, {"message", e.message}});
      return {{"ok", false}, {"errors", std::move(errs)}};
    }
    std::string key = p.form->form_id + "/" + std::to_string(p.form->version);
    json d = describe(*p.form);
    loaded().insert_or_assign(key, std::move(*p.form));
    return {{"ok", true}, {"key", key}, {"form", std::move(d)}};
  }
  if (op == "evaluate") {
    if (!req.contains("key") || !req["key"].is_string()) return fail("bad_request", "no key");
    auto it = loaded().find(req["key"].get_ref<const std::string&>());
    if (it == loaded().end()) return fail("form_not_loaded", "load the form first");
    json body = req.contains("body") ? req["body"] : json::object();
    ValidationContext ctx;
    if (req.contains("today") && req["today"].is_string()) ctx.today = req["today"].get<std::string>();
    if (req.contains("lang") && req["lang"].is_string())
      ctx.lang = lang_from_tag(req["lang"].get_ref<const std::string&>()).value_or(Lang::kEn);
    settle_body(it->second, body, ctx);
    json states = json::array();
    for (const FieldState& s : field_states(it->second, body, ctx))
      states.push_back({{"path", s.path}, {"relevant", s.relevant}});
    Validation v = check_record(it->second, body, ctx);
    return {{"ok", true}, {"body", std::move(body)}, {"states", std::move(states)},
            {"errors", errors_json(v.errors)}, {"warnings", errors_json(v.warnings)}};
  }
  return fail("bad_request", "unknown op");
}

}  // namespace

extern "C" const char* akt_forms(const char* request) {
  static std::string answer;
  json req = json::parse(request == nullptr ? "" : request, nullptr, false);
  answer = (req.is_discarded() ? fail("bad_request", "request is not JSON") : handle(req))
               .dump(-1, ' ', false, json::error_handler_t::replace);
  return answer.c_str();
}

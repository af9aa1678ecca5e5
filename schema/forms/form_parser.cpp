// parse_form: definition text -> FormDef in two passes: definition_reader.cpp reads the document shape
// (properties, types, limits), form_links.cpp resolves references, choice lists and evaluation order.
// Never throws: JSON is parsed with exceptions off, and only checked accessors are used.
#include "schema/forms/form_parser.hpp"

#include <utility>

#include <nlohmann/json.hpp>

#include "schema/forms/definition_reader.hpp"
#include "schema/forms/form_links.hpp"
#include "schema/forms/json_limits.hpp"

namespace akt::forms {
namespace {

constexpr int kMaxJsonDepth = 32;

}  // namespace

FormParse parse_form_detailed(std::string_view json_text, const ParseOptions& options) {
  FormParse out;
  if (json_text.size() > kMaxDefinitionBytes) {
    out.errors.push_back({"", "too_large", "definition larger than 4 MiB"});
    return out;
  }
  if (!json_depth_within(json_text, kMaxJsonDepth)) {
    out.errors.push_back({"", "too_deep", "JSON nested deeper than 32 levels"});
    return out;
  }
  nlohmann::json doc = nlohmann::json::parse(json_text, nullptr, false);
  if (doc.is_discarded()) {
    out.errors.push_back({"", "invalid_json", "not valid JSON (or not valid UTF-8)"});
    return out;
  }
  FormDef form;
  read_definition(doc, options, form, out.errors);
  if (out.errors.empty())
    link_form(form, options.shared_lists ? *options.shared_lists : builtin_choice_lists(), out.errors);
  if (out.errors.empty()) out.form = std::move(form);
  return out;
}

Result<FormDef> parse_form(std::string_view json_text, const ParseOptions& options) {
  FormParse r = parse_form_detailed(json_text, options);
  if (r.form) return std::move(*r.form);
  std::string msg;
  for (const DefinitionError& e : r.errors) {
    if (!msg.empty()) msg += "; ";
    msg += (e.path.empty() ? "(root)" : e.path) + ": " + e.code + ": " + e.message;
  }
  return Status::invalid_argument(msg);
}

}  // namespace akt::forms

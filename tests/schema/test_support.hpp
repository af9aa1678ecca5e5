// Helpers shared by the akt_forms tests: reading repository files, parsing inline definitions,
// and finding errors by path and code.
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "schema/forms/form_parser.hpp"
#include "schema/forms/validator.hpp"

namespace akt::forms::test {

inline std::string read_repo_file(const std::string& rel) {
  std::ifstream in(std::string(AKT_SOURCE_DIR) + "/" + rel, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open " << rel);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string describe(const std::vector<DefinitionError>& errs) {
  std::string s;
  for (const auto& e : errs) s += e.path + " " + e.code + " " + e.message + "\n";
  return s;
}

inline std::string describe(const std::vector<FieldError>& errs) {
  std::string s;
  for (const auto& e : errs) s += e.path + " " + e.code + " " + e.message + "\n";
  return s;
}

// Wraps `fields_json` (a JSON array text) in a minimal form, without the common header.
inline std::string form_json(const std::string& fields_json, const std::string& lists_json = "{}") {
  return R"({"v":1,"form_id":"t","version":1,"title":{"en":"T"},"choice_lists":)" + lists_json + R"(,"fields":)" +
         fields_json + "}";
}

inline FormDef must_parse(const std::string& text, bool with_header = false) {
  ParseOptions opts;
  opts.include_common_header = with_header;
  FormParse r = parse_form_detailed(text, opts);
  INFO(describe(r.errors));
  REQUIRE(r.form.has_value());
  return std::move(*r.form);
}

inline std::vector<DefinitionError> def_errors(const std::string& text) {
  ParseOptions opts;
  opts.include_common_header = false;
  return parse_form_detailed(text, opts).errors;
}

template <class E>
bool has(const std::vector<E>& errs, std::string_view path, std::string_view code) {
  for (const auto& e : errs) {
    if (e.path == path && e.code == code) return true;
  }
  return false;
}

inline ValidationContext ctx() { return ValidationContext{"2017-06-15"}; }

inline std::vector<FieldError> errors_of(const FormDef& f, const std::string& body) {
  return validate_record(f, nlohmann::json::parse(body), ctx());
}

}  // namespace akt::forms::test

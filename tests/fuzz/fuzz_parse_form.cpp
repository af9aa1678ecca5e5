// Fuzzes the form-definition parser (docs/FORMS.md): parse_form_detailed must never crash or throw on
// any bytes, must set `form` exactly when it reports no error, and caps its error list at 100. A form
// it accepts is then used once: an empty record and a record of nulls are validated against it, so
// odd-but-accepted definitions (expressions, regexes, nested repeats) reach the validator too.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "schema/forms/form_parser.hpp"
#include "schema/forms/validator.hpp"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_parse_form: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace akt::forms;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  FormParse p = parse_form_detailed(text);
  if (p.form.has_value() == !p.errors.empty()) fail("form set although errors were reported (or neither)");
  if (p.errors.size() > 100) fail("more than 100 definition errors");
  for (const auto& e : p.errors)
    if (e.code.empty()) fail("definition error without a code");
  auto r = parse_form(text);
  if (r.ok() != p.form.has_value()) fail("parse_form and parse_form_detailed disagree");
  if (!p.form) return 0;

  ValidationContext ctx;
  ctx.today = "2026-11-27";
  nlohmann::json empty = nlohmann::json::object();
  nlohmann::json nulls = nlohmann::json::object();
  for (const FieldDef& f : p.form->fields) nulls[f.key] = nullptr;
  for (const nlohmann::json* body : {&empty, &nulls}) {
    Validation v = check_record(*p.form, *body, ctx);
    if (v.errors.size() > kMaxReportedErrors + 1) fail("more errors than kMaxReportedErrors + 1");
  }
  return 0;
}

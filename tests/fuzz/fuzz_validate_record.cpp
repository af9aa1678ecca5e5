// Fuzzes record validation (every push body goes through it): the four programme instruments in
// schema/forms/programme/*.json are parsed once at start-up; each input picks one with its first byte
// ('0'..'3', any byte works: value % 4) and the rest is parsed with nlohmann::json::parse(..., nullptr,
// false) and checked with check_record and validate_record. Never crashes or throws; validate_record
// equals check_record's hard errors; the error list respects kMaxReportedErrors (+1 "too_many_errors").
// AKT_FORMS_DIR overrides where the definitions are read from.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "schema/forms/form_parser.hpp"
#include "schema/forms/validator.hpp"

namespace {

using akt::forms::FormDef;

constexpr const char* kForms[] = {"so1_interethnic_survey", "so1_infra_monitoring", "so2_business_followup",
                                  "so3_municipal_service"};
std::vector<FormDef>* g_forms;

[[noreturn]] void fail(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "fuzz_validate_record: %s\n%s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::string dir = std::string(AKT_FUZZ_REPO_DIR) + "/schema/forms/programme";
  if (const char* d = std::getenv("AKT_FORMS_DIR"); d && *d) dir = d;
  g_forms = new std::vector<FormDef>();
  for (const char* id : kForms) {
    std::ifstream in(dir + "/" + id + ".json", std::ios::binary);
    if (!in) fail("cannot open form definition", dir + "/" + id + ".json");
    std::stringstream ss;
    ss << in.rdbuf();
    auto r = akt::forms::parse_form(ss.str());
    if (!r.ok()) fail("programme form does not parse", std::string(id) + ": " + r.status().message());
    g_forms->push_back(std::move(r).value());
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace akt::forms;
  if (size == 0) return 0;
  const FormDef& form = (*g_forms)[data[0] % g_forms->size()];
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const nlohmann::json body = nlohmann::json::parse(text, nullptr, false);
  if (body.is_discarded()) return 0;

  ValidationContext ctx;
  ctx.today = "2026-11-27";
  Validation v = check_record(form, body, ctx);
  if (v.errors.size() > kMaxReportedErrors + 1) fail("more errors than kMaxReportedErrors + 1");
  for (const auto& e : v.errors)
    if (e.code.empty()) fail("field error without a code", e.path);
  if (!body.is_object() && v.ok()) fail("a body that is not an object was accepted", body.dump());
  std::vector<FieldError> hard = validate_record(form, body, ctx);
  if (hard != v.errors) fail("validate_record differs from check_record().errors");
  // Without a server date (today() is null) validation must not crash either.
  (void)check_record(form, body, ValidationContext{});
  return 0;
}

// parse_form: JSON form definition text -> FormDef, with every problem reported by JSON path.
// Pure; std + nlohmann. Never throws. Format reference: docs/FORMS.md.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schema/forms/form_def.hpp"
#include "sync/status.hpp"

namespace akt::forms {

// One problem in a definition. `path` is a JSON path into the definition ("fields[4].constraint",
// "choice_lists.L:x[2].code"), `code` a stable machine-readable reason (docs/FORMS.md §6).
struct DefinitionError {
  std::string path;
  std::string code;
  std::string message;
  friend bool operator==(const DefinitionError&, const DefinitionError&) = default;
};

struct ParseOptions {
  // Shared lists the form may reference without defining them; nullptr = builtin_choice_lists().
  const ChoiceLists* shared_lists = nullptr;
  // Prepend the common record header of forms.md §0.4 (enumerator_id, started_at, review_status...).
  bool include_common_header = true;
};

inline constexpr std::size_t kMaxDefinitionBytes = 4 << 20;
inline constexpr std::size_t kMaxFields = 2000;
inline constexpr int kMaxRepeatNesting = 3;

struct FormParse {
  std::optional<FormDef> form;          // set iff errors is empty
  std::vector<DefinitionError> errors;  // in document order; capped at 100
};

// Parses and checks a definition: syntax and limits, unknown or misplaced properties, unknown types,
// duplicate keys, dangling ${} references and choice lists, bad expressions, reference cycles.
FormParse parse_form_detailed(std::string_view json_text, const ParseOptions& options = {});

// As above; on failure kInvalidArgument whose message lists "path: code: message" entries.
Result<FormDef> parse_form(std::string_view json_text, const ParseOptions& options = {});

// The common header field definitions (forms.md §0.4) as JSON text: an array of field objects.
std::string_view common_header_json();

}  // namespace akt::forms

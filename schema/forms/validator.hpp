// validate_record: checks a record body (a JSON object of answers) against a FormDef. Pure; never throws.
// Used on every push, and by the merge engine on merged bodies (DESIGN §4: no invalid record is stored).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "schema/forms/form_def.hpp"
#include "schema/forms/messages.hpp"

namespace akt::forms {

struct ValidationContext {
  // The server's date, "YYYY-MM-DD" (Europe/Belgrade calendar day recommended). today() in expressions
  // and date constraints use it, never the device clock. Empty: today() is null, so checks using it pass.
  std::string today;
  // The language of the messages (FieldError::message): a check's own message in that language, the
  // validator's messages from its catalogue (messages.hpp); English where a text has no translation.
  // Codes and paths never depend on it.
  Lang lang = Lang::kEn;
};

// One problem with one answer. `path` is "age", "visit[<item id>].v_pct_observed" or "visit[3]"
// (an item without a usable id); `code` is stable (docs/FORMS.md §5).
struct FieldError {
  std::string path;
  std::string code;
  std::string message;
  friend bool operator==(const FieldError&, const FieldError&) = default;
};

struct Validation {
  std::vector<FieldError> errors;    // hard: the record must be rejected
  std::vector<FieldError> warnings;  // soft ("warn" checks): stored, shown to reviewers
  bool ok() const { return errors.empty(); }
};

inline constexpr std::size_t kMaxReportedErrors = 200;

// Full result: errors and warnings, each in definition order; errors capped at kMaxReportedErrors
// (then one "too_many_errors" entry).
Validation check_record(const FormDef& form, const nlohmann::json& body, const ValidationContext& ctx);

// Sets every computed field (`calculate`) the body holds, at any depth, to the value its expression gives
// from the other answers (a null result leaves the stored value). After a merge (DESIGN §4: computed fields
// never conflict, they are recomputed). True when a value changed.
bool recompute_calculated(const FormDef& form, nlohmann::json& body, const ValidationContext& ctx);

// What an app rendering the form needs of one body, from the same rules the server applies: for every
// field the body reaches (definition order; repeat item fields under their item's path), whether it is
// relevant (asked) and, for a field with `calculate`, the value its expression gives now.
struct FieldState {
  std::string path;      // as in FieldError: "age", "visit[<item id>].v_pct_observed"
  std::string pointer;   // JSON pointer of the answer in the body: "/age", "/visit/0/v_pct_observed"
  bool relevant = false;
  bool has_computed = false;
  std::string computed;  // JSON text of the computed value (has_computed: relevant, `calculate`, not null)
};
std::vector<FieldState> field_states(const FormDef& form, const nlohmann::json& body, const ValidationContext& ctx);

// Brings a body the app is filling into the shape the server checks: every relevant computed field set
// to its value, every answer to a question that is not relevant (any more) removed. Repeats until
// nothing moves (bounded). True when something changed.
bool settle_body(const FormDef& form, nlohmann::json& body, const ValidationContext& ctx);

// Hard errors only; empty means valid.
std::vector<FieldError> validate_record(const FormDef& form, const nlohmann::json& body, const ValidationContext& ctx);

}  // namespace akt::forms

// Typing of one JSON answer against its field definition. Pure; std + nlohmann.
// Wire shapes per type are documented in docs/FORMS.md §4.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "schema/forms/form_def.hpp"
#include "schema/forms/messages.hpp"
#include "schema/forms/utf8.hpp"
#include "schema/forms/value.hpp"

namespace akt::forms {

inline constexpr std::size_t kMaxTextBytes = 64 * 1024;
inline constexpr std::size_t kMaxPhotoRefBytes = 256;

struct Converted {
  Value value;
  std::string code;  // empty on success; else "type", "choice", "too_large"
  std::string message;
  bool ok() const { return code.empty(); }
};

// Converts `v` (not null) for field `f`. `list` is f's resolved choice list (select fields), else nullptr.
// Datetimes are normalised to UTC "YYYY-MM-DDTHH:MM:SS.mmmZ" so that they compare as strings.
// The message is in `lang` (messages.hpp). REQUIRES: f is not a repeat.
Converted convert_value(const FieldDef& f, const ChoiceList* list, const nlohmann::json& v, Lang lang = Lang::kEn);

// Validators for the string shapes.
bool is_iso_date(std::string_view s);
// "2016-05-03T10:15:00+02:00" -> "2016-05-03T08:15:00.000Z"; empty if malformed or without offset.
std::string normalize_datetime(std::string_view s);

}  // namespace akt::forms

// The language of the texts people read (validation messages, form texts) and the catalogue of the
// validator's own messages in en, sq and sr. Pure; std only. docs/FORMS.md §5.1, PROTOCOL.md §4.4.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schema/forms/choice_list.hpp"

namespace akt::forms {

// The programme's languages; sr is Serbian in Cyrillic, sr-Latn its derived Latin form.
enum class Lang { kEn, kSq, kSr, kSrLatn };

// "en", "sq", "sr", "sr-Latn".
std::string_view lang_tag(Lang l);

// A language tag as people and browsers write it, case-insensitive: "en", "en-GB", "sq", "sq-AL",
// "sr", "sr-Cyrl", "sr-RS", "sr-Cyrl-RS" (Cyrillic), "sr-Latn", "sr-Latn-RS" (Latin). nullopt otherwise.
std::optional<Lang> lang_from_tag(std::string_view tag);

// The best of the programme's languages for an Accept-Language header ("sr-Latn;q=0.9, en;q=0.5"):
// the supported tag with the highest q (the first listed wins a tie; q=0 excludes); English if none.
Lang negotiate_language(std::string_view accept_language);

// The text of a label in `l`, or its English text when that language has none (fallback).
const std::string& text_in(const Label& label, Lang l);

// One of the validator's messages in `l`: `en_template` is the English text with "{}" for each argument,
// looked up in the catalogue (English if it is not there); arguments are inserted in order, unchanged.
std::string say(Lang l, std::string_view en_template, std::initializer_list<std::string_view> args = {});

// The catalogue, for the completeness test: {en, sq, sr} templates (sr-Latn is derived from sr).
struct MessageTemplate {
  std::string_view en, sq, sr;
};
const std::vector<MessageTemplate>& message_catalogue();

}  // namespace akt::forms

// Choice lists: named code lists for select_one / select_multiple fields. Pure; std only; no file I/O.
// Shared lists (forms.md §0.3) are embedded (reference_data.cpp, generated from docs/domain/*.csv);
// callers holding newer CSV text can rebuild them with shared_choice_lists_from_csv().
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "sync/status.hpp"

namespace akt::forms {

// A label in the three programme languages; empty strings where no translation exists yet.
// `sr` is Serbian in Cyrillic; `sr_latn` is derived from it (to_serbian_latin) when the label is
// built, never read from a definition, so the two scripts cannot drift.
struct Label {
  std::string en, sq, sr, sr_latn;
  friend bool operator==(const Label&, const Label&) = default;
};

struct Choice {
  std::string code;
  Label label;
  friend bool operator==(const Choice&, const Choice&) = default;
};

struct ChoiceList {
  std::string name;
  std::vector<Choice> choices;
  bool contains(std::string_view code) const;
  friend bool operator==(const ChoiceList&, const ChoiceList&) = default;
};

using ChoiceLists = std::map<std::string, ChoiceList, std::less<>>;

// The shared lists of forms.md §0.3 (L:yes_no ... L:partner, plus L:municipality, L:community,
// L:community_resp, L:language, L:language_ext built from the embedded reference CSVs).
const ChoiceLists& builtin_choice_lists();

// Builds the same shared lists from CSV text the caller read (format: docs/domain/README.md).
// Fails with kInvalidArgument naming the file and line on a malformed or duplicate row.
Result<ChoiceLists> shared_choice_lists_from_csv(std::string_view municipalities_csv, std::string_view communities_csv,
                                                 std::string_view languages_csv);

// Parses simple CSV (header row, comma-separated, no quoting) into rows of cells, header included.
// Fails on a row whose cell count differs from the header's.
Result<std::vector<std::vector<std::string>>> parse_simple_csv(std::string_view text, std::string_view what);

}  // namespace akt::forms

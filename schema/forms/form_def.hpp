// A parsed form definition: fields, types, skip logic, constraints, sensitivity and merge policy.
// Pure data plus lookups; built only by parse_form() (form_parser.hpp), immutable afterwards.
// Format reference: docs/FORMS.md.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schema/forms/choice_list.hpp"
#include "schema/forms/expr.hpp"
#include "schema/forms/value.hpp"

namespace akt::forms {

enum class FieldType {
  kText,
  kInteger,
  kDecimal,
  kDate,
  kDatetime,
  kSelectOne,
  kSelectMultiple,
  kBoolean,
  kGeopoint,
  kPhoto,
  kNote,
  kCalculated,
  kRepeat
};

// forms.md §0.2. kNone is "-".
enum class Sensitivity { kD, kQ, kS, kSStar, kSAgg, kP, kC, kNone };

// How the three-way merge treats the field (DESIGN §4). kDefault: field-level merge, different
// concurrent values conflict. kSetUnion: select_multiple, concurrent additions/removals combine.
// kAdminOnly: only admin/M&E roles may set it; a device edit of it is refused as a permission entry.
enum class MergePolicy { kDefault, kSetUnion, kAdminOnly };

std::string_view to_string(FieldType t);
std::string_view to_string(Sensitivity s);
std::string_view to_string(MergePolicy p);
std::optional<FieldType> field_type_from(std::string_view s);
std::optional<Sensitivity> sensitivity_from(std::string_view s);
std::optional<MergePolicy> merge_policy_from(std::string_view s);

// One constraint: a hard error or a soft warning ("warn" in forms.md).
struct Check {
  Expression expr;
  std::string message;  // English (text.en)
  bool is_warning = false;
  std::string def_path;  // where it was defined, e.g. "fields[3].constraint"
  Label text;            // the message in every language of the form (empty where none)
};

struct FieldDef {
  std::string key;
  FieldType type = FieldType::kText;
  Label label;
  bool required = false;                // required when relevant
  std::optional<Expression> relevant;   // skip logic; absent = always (within the parent repeat)
  std::vector<Check> checks;            // `constraint` first, then `checks` in order
  std::optional<Expression> calculate;  // value computed by app/server; stored value must equal it
  bool computed = false;                // filled by app/server, not asked (true if `calculate` is set)
  bool immutable = false;               // never changes after creation (enforced by the merge engine)
  std::string choices;                  // choice list name (select_one / select_multiple)
  Sensitivity sensitivity = Sensitivity::kNone;
  std::string sensitivity_note;  // e.g. "D if premises_home_based = 'yes'"
  Label hint;                    // guidance for people (not a rule); empty if none
  MergePolicy merge_policy = MergePolicy::kDefault;

  // Declarative checks. Numbers for integer/decimal; ISO dates for date/datetime.
  std::optional<double> min, max;
  bool min_exclusive = false, max_exclusive = false;
  std::optional<std::string> min_date, max_date;
  std::optional<std::size_t> min_length, max_length;  // text, in Unicode code points
  std::shared_ptr<const Regex> pattern;               // text, full match
  std::vector<std::string> exclusive;                 // select_multiple codes that stand alone

  // Repeat groups only.
  std::vector<FieldDef> fields;    // item fields
  std::vector<std::size_t> order;  // evaluation order of `fields` (dependencies first)
  std::string item_id;             // key of the stable item id field, e.g. "visit_id"
  std::size_t max_items = 200;

  std::string repeat;    // key of the enclosing repeat; empty at top level
  std::string def_path;  // where it was defined, e.g. "fields[3]" or "header[0]"

  bool is_value_field() const { return type != FieldType::kNote && type != FieldType::kRepeat; }
};

struct FormDef {
  std::string form_id;
  std::int64_t version = 0;
  Label title;
  ChoiceLists choice_lists;              // the form's own lists plus every shared list it uses
  std::vector<FieldDef> fields;          // common header fields first (unless disabled), then the form's
  std::vector<std::size_t> order;        // evaluation order of `fields`
  std::vector<std::string> header_keys;  // keys of the §0.4 common header fields included
  std::vector<std::string> unique_key;   // domain uniqueness key (duplicate check); empty = none

  // Any field by key, at any depth (keys are unique within a form). nullptr if unknown.
  const FieldDef* find(std::string_view key) const;
  // The list named `name`, or nullptr.
  const ChoiceList* list(std::string_view name) const;
  // Every field, depth-first in definition order (repeat before its item fields). For merge and export.
  std::vector<const FieldDef*> all_fields() const;
};

}  // namespace akt::forms

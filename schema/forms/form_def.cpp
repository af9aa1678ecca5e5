// Name tables and lookups for form definitions.
#include "schema/forms/form_def.hpp"

#include <array>
#include <utility>

namespace akt::forms {
namespace {

constexpr std::array<std::pair<FieldType, std::string_view>, 13> kTypes{{
    {FieldType::kText, "text"},
    {FieldType::kInteger, "integer"},
    {FieldType::kDecimal, "decimal"},
    {FieldType::kDate, "date"},
    {FieldType::kDatetime, "datetime"},
    {FieldType::kSelectOne, "select_one"},
    {FieldType::kSelectMultiple, "select_multiple"},
    {FieldType::kBoolean, "boolean"},
    {FieldType::kGeopoint, "geopoint"},
    {FieldType::kPhoto, "photo"},
    {FieldType::kNote, "note"},
    {FieldType::kCalculated, "calculated"},
    {FieldType::kRepeat, "repeat"},
}};

constexpr std::array<std::pair<Sensitivity, std::string_view>, 8> kSens{{
    {Sensitivity::kD, "D"},
    {Sensitivity::kQ, "Q"},
    {Sensitivity::kS, "S"},
    {Sensitivity::kSStar, "S*"},
    {Sensitivity::kSAgg, "S-agg"},
    {Sensitivity::kP, "P"},
    {Sensitivity::kC, "C"},
    {Sensitivity::kNone, "-"},
}};

constexpr std::array<std::pair<MergePolicy, std::string_view>, 3> kPolicies{{
    {MergePolicy::kDefault, "default"},
    {MergePolicy::kSetUnion, "set_union"},
    {MergePolicy::kAdminOnly, "admin_only"},
}};

template <class E, std::size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& table, E e) {
  for (const auto& [v, n] : table) {
    if (v == e) return n;
  }
  return "?";
}

template <class E, std::size_t N>
std::optional<E> value_of(const std::array<std::pair<E, std::string_view>, N>& table, std::string_view s) {
  for (const auto& [v, n] : table) {
    if (n == s) return v;
  }
  return std::nullopt;
}

const FieldDef* find_in(const std::vector<FieldDef>& fields, std::string_view key) {
  for (const FieldDef& f : fields) {
    if (f.key == key) return &f;
    if (f.type == FieldType::kRepeat) {
      if (const FieldDef* inner = find_in(f.fields, key)) return inner;
    }
  }
  return nullptr;
}

void collect(const std::vector<FieldDef>& fields, std::vector<const FieldDef*>& out) {
  for (const FieldDef& f : fields) {
    out.push_back(&f);
    if (f.type == FieldType::kRepeat) collect(f.fields, out);
  }
}

}  // namespace

std::string_view to_string(FieldType t) { return name_of(kTypes, t); }
std::string_view to_string(Sensitivity s) { return name_of(kSens, s); }
std::string_view to_string(MergePolicy p) { return name_of(kPolicies, p); }
std::optional<FieldType> field_type_from(std::string_view s) { return value_of(kTypes, s); }
std::optional<Sensitivity> sensitivity_from(std::string_view s) { return value_of(kSens, s); }
std::optional<MergePolicy> merge_policy_from(std::string_view s) { return value_of(kPolicies, s); }

const FieldDef* FormDef::find(std::string_view key) const { return find_in(fields, key); }

const ChoiceList* FormDef::list(std::string_view name) const {
  auto it = choice_lists.find(name);
  return it == choice_lists.end() ? nullptr : &it->second;
}

std::vector<const FieldDef*> FormDef::all_fields() const {
  std::vector<const FieldDef*> out;
  collect(fields, out);
  return out;
}

}  // namespace akt::forms

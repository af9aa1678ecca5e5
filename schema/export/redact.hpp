// The one place where sensitive fields (forms.md §0.2) are handled by role, for the change feed and
// for exports alike. Pure and deterministic: no clock, no randomness, no I/O. Rules: docs/EXPORTS.md §4.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "schema/forms/form_def.hpp"
#include "sync/access.hpp"

namespace akt::exports {

// What a role gets for one field.
enum class Treatment {
  kKeep,          // value unchanged
  kRemove,        // key removed from the body (the export has no column for it)
  kPseudonymise,  // value replaced by "ps_" + 16 hex of HMAC-SHA256(key, form, field, value)
  kAgeBand,       // integer age in years replaced by its L:age_band code ("25_29")
};

// The treatment of `field` for `role`. Enumerators, supervisors and admins: kKeep for every field.
// M&E officers: D -> kRemove; S, S* -> kPseudonymise; Q -> the field's generalisation rule
// (settlement_name, photos, geopoints -> kRemove; *_age_years -> kAgeBand; *_age_band -> kKeep),
// else kPseudonymise; S-agg, P, C, "-" -> kKeep.
// When `has_key` is false (no pseudonym key configured) every kPseudonymise becomes kRemove: a
// pseudonym made with an empty key could be recomputed by anyone.
// `special_category`: the reader holds the special-category grant; an M&E officer with it gets S and S*
// fields as they are (kKeep); D and Q are treated as without it.
Treatment treatment_for(const forms::FieldDef& field, sync::Role role, bool has_key, bool special_category = false);

// Redacts `body` (a record body as in docs/FORMS.md §4) in place for `role`, top level and inside
// every repeat item (item id fields are kept so rows stay linkable). Absent/null stays absent/null;
// "" and [] are kept as they are (an empty answer reveals nothing to pseudonymise). Keys unknown to
// `form` are removed for M&E officers (no rule can vouch for them) and kept for the other roles.
// `record_id` is accepted for the change feed's sake and deliberately NOT part of the pseudonym:
// the same value must give the same pseudonym in every record so panels link.
// A body that is not an object is left unchanged. Never throws.
void redact_body(const forms::FormDef& form, nlohmann::json& body, sync::Role role, std::string_view pseudonym_key,
                 std::string_view record_id, bool special_category = false);

// The same over every version of one form: for each key, the strictest treatment among the versions
// that define it (so reclassifying a field applies to old records too, and a field that only old
// versions have keeps its own rule). The layout (layout.hpp) uses the same rule for its columns.
// REQUIRES: every non-null entry has the same form_id.
void redact_body(std::span<const forms::FormDef* const> versions, nlohmann::json& body, sync::Role role,
                 std::string_view pseudonym_key, std::string_view record_id, bool special_category = false);

// Whether `role` may see the field a path names (a path as in a version's `changed` list, `pending_upload`
// and `conflicted`: `key` or `group[item id].key`): false for an M&E officer when the field is removed
// from their bodies (the strictest treatment over `versions`, as redact_body) or no version defines it;
// a path of a removed field would still tell that the field holds something (a photo of people, an
// edit of a name). Pseudonymised and banded fields stay visible (their values are in the body). Other
// roles: always true.
bool path_visible(std::span<const forms::FormDef* const> versions, std::string_view path, sync::Role role,
                  bool has_key, bool special_category = false);

// A record's scope community as `role` may see it: it names the respondents' community (class S), so an
// M&E officer without the special-category grant gets pseudonym(key, "", "scope.community", community)
// (the same in every form, so breakdowns link), or "" when no key is configured. Everyone else, and ""
// itself, as it is.
std::string redact_scope_community(std::string_view community, sync::Role role, std::string_view pseudonym_key,
                                   bool special_category);

// kRemove > kPseudonymise > kAgeBand > kKeep.
Treatment stricter(Treatment a, Treatment b);

// "ps_" + the first 16 hex digits of HMAC-SHA256(key, form_id 0x1F field_key 0x1F value_text).
// `value_text` is the string itself for JSON strings, else the compact JSON dump.
std::string pseudonym(std::string_view key, std::string_view form_id, std::string_view field_key,
                      std::string_view value_text);

// L:age_band code for an age in whole years (under 18 -> "", 65 and over -> "65_plus").
std::string age_band_of(long long years);

}  // namespace akt::exports

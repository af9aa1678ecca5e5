// The `changed` list of a stored version, compact (docs/STORE.md "versions.changed"): a create whose list is
// every top-level key of its body, in byte order (the list PROTOCOL §4.1 lets a create leave out), is stored
// as the empty text; every other version keeps its JSON array. Every reader of the column goes through
// here, so that an answer shows the same list whichever way it was stored. Pure, std only.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sync/status.hpp"
#include "sync/wire.hpp"

namespace akt::sync {

// The stored text that stands for "every top-level key of the body".
inline constexpr std::string_view kBodyKeysChanged = "";

// The JSON array of the top-level keys of `body` (a JSON object), each as the body spells it, in the
// body's order: for a canonical body, what encode_strings gives for its keys. "[]" when `body` is not an
// object.
std::string body_keys_text(std::string_view body);
// The same, appended to `out` (the feed writes it into a buffer it reuses).
void append_body_keys(std::string& out, std::string_view body);

// What to store in `changed` for an edit whose list encodes as `changed_text` (sync::encode_strings): the
// empty text when the edit is a create (no context, not a deletion) and `changed_text` is exactly
// body_keys_text(edit.body); `changed_text` otherwise.
std::string stored_changed(const Edit& edit, std::string changed_text);

// The JSON array a stored `changed` stands for, given the version's stored body: the stored text itself
// unless it is the compact form.
std::string changed_text(std::string_view stored, std::string_view body);

// The same, decoded.
Result<std::vector<std::string>> decode_changed(std::string_view stored, std::string_view body);

}  // namespace akt::sync

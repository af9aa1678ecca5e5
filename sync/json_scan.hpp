// A shallow scan of a JSON object's top-level members, without parsing the values; pure, std only.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace akt::sync {

// Calls `fn(key, value)` for each member of the top-level object in `text`, in text order, with both as
// raw JSON text (a string keeps its quotes and escapes); `fn` returns false to stop. Returns true when
// the whole of `text` was scanned as one object (whitespace around it allowed), false when it is not one
// or `fn` stopped. Shallow: nested values are skipped by their brackets and strings, not validated.
bool for_each_top_member(std::string_view text,
                         const std::function<bool(std::string_view key, std::string_view value)>& fn);

// Appends the JSON array of the top-level object's keys, each as `text` spells it, in text order ("[]" for
// an empty object), when for_each_top_member would scan `text` whole; else appends nothing and returns
// false.
bool append_top_keys(std::string& out, std::string_view text);

}  // namespace akt::sync

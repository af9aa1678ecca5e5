// UTF-8 helpers for answers and for echoing untrusted text in error messages. Pure; std only.
#pragma once

#include <string>
#include <string_view>

namespace akt::forms {

// True if `s` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool is_valid_utf8(std::string_view s);

// Number of code points (bytes that are not UTF-8 continuation bytes).
std::size_t utf8_length(std::string_view s);

// At most `max_bytes` of `s`, cut on a code-point boundary, for quoting untrusted text in messages
// and paths; "(invalid UTF-8)" if the text is not UTF-8, so messages always serialise as JSON.
std::string excerpt(std::string_view s, std::size_t max_bytes = 64);

}  // namespace akt::forms

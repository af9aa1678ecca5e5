// The value a record's photo field holds: a reference to a content-addressed attachment
// (docs/FORMS.md §4, PROTOCOL.md §14). Header-only and std-only, so that the form validator (which
// links nothing but nlohmann) and the store, server and clients share one grammar.
//
//   sha256:<64 lowercase hex digits>;size=<bytes>;type=<media type>
//
// e.g. "sha256:9f86d081…0f00a08;size=1523044;type=image/jpeg". The digest is the SHA-256 of the file's
// bytes, `size` its length in bytes (1 … 2^53, decimal, no leading zero), `type` one of kMediaTypes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace akt::sync {

struct AttachmentRef {
  std::string digest;      // 64 lowercase hex digits
  std::int64_t size = 0;   // bytes
  std::string media_type;  // one of kMediaTypes
};

inline constexpr std::string_view kMediaTypes[] = {"image/jpeg", "image/png", "image/webp"};
inline constexpr std::int64_t kMaxAttachmentSize = 9007199254740992;  // 2^53

inline bool is_digest_hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

inline bool is_attachment_media_type(std::string_view t) {
  for (std::string_view m : kMediaTypes)
    if (m == t) return true;
  return false;
}

// Parses `s`; on failure returns nullopt and sets `*error` (when given) to what is wrong, e.g.
// "the digest must be 64 lowercase hex digits after 'sha256:'".
inline std::optional<AttachmentRef> parse_attachment_ref(std::string_view s, std::string* error = nullptr) {
  auto fail = [&](const char* why) -> std::optional<AttachmentRef> {
    if (error) *error = why;
    return std::nullopt;
  };
  constexpr std::string_view kPrefix = "sha256:";
  if (s.substr(0, kPrefix.size()) != kPrefix)
    return fail("an attachment reference starts with 'sha256:' (sha256:<digest>;size=<bytes>;type=<media type>)");
  s.remove_prefix(kPrefix.size());
  const std::size_t semi = s.find(';');
  if (!is_digest_hex(s.substr(0, semi))) return fail("the digest must be 64 lowercase hex digits after 'sha256:'");
  AttachmentRef ref;
  ref.digest = std::string(s.substr(0, semi));
  if (semi == std::string_view::npos) return fail("';size=<bytes>' must follow the digest");
  s.remove_prefix(semi + 1);
  constexpr std::string_view kSize = "size=";
  if (s.substr(0, kSize.size()) != kSize) return fail("';size=<bytes>' must follow the digest");
  s.remove_prefix(kSize.size());
  std::size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    if (ref.size > kMaxAttachmentSize / 10) return fail("size must be 1 to 2^53 bytes");
    ref.size = ref.size * 10 + (s[i] - '0');
    ++i;
  }
  if (i == 0 || (s[0] == '0')) return fail("size must be a decimal number of bytes from 1, without leading zeros");
  if (ref.size > kMaxAttachmentSize) return fail("size must be 1 to 2^53 bytes");
  s.remove_prefix(i);
  constexpr std::string_view kType = ";type=";
  if (s.substr(0, kType.size()) != kType) return fail("';type=<media type>' must follow the size");
  s.remove_prefix(kType.size());
  if (!is_attachment_media_type(s)) return fail("type must be image/jpeg, image/png or image/webp");
  ref.media_type = std::string(s);
  return ref;
}

inline std::string format_attachment_ref(const AttachmentRef& r) {
  return "sha256:" + r.digest + ";size=" + std::to_string(r.size) + ";type=" + r.media_type;
}

}  // namespace akt::sync

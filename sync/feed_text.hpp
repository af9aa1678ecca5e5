// The change feed's versions in their compact form (PROTOCOL §5.1: `compact=1`, `echo=0`), written from
// stored text like append_version, which writes every member.
#pragma once

#include <string>
#include <string_view>

#include "sync/wire_json.hpp"

namespace akt::sync {

// How much of a version the feed writes. The defaults write everything (as append_version does).
struct VersionStyle {
  bool parents = true;          // false: `parents` left out
  bool changed = true;          // false: `changed` left out
  std::string_view body_hash;   // non-empty: `body_hash` written instead of `body` (no echo)
};
void append_version_styled(std::string& out, const VersionText& v, bool first, const VersionStyle& style);

}  // namespace akt::sync

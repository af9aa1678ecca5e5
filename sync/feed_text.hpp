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
  // The lean feed (`compact=2`): members a reader can restore exactly are left out: `clock` when it is
  // the version's own dot alone (a create), `deleted` when false, `form_version` when it equals
  // `record_form_version` (the record's). decode_record_state restores each.
  bool lean = false;
  std::int64_t record_form_version = 0;
};
void append_version_styled(std::string& out, const VersionText& v, bool first, const VersionStyle& style);

// A record's head as append_record_open writes it, or, when `lean`, without the members that hold their
// defaults (`deleted`, `conflict` and `deletion_pending` when false, `conflicted` when empty).
void append_record_open_styled(std::string& out, const RecordHead& head, bool lean);

}  // namespace akt::sync

// The inbox kinds' table (inbox_kind.hpp).
#include "sync/inbox_kind.hpp"

#include <algorithm>

namespace akt::sync {

const std::array<InboxKindInfo, 6>& inbox_kinds() {
  static const std::array<InboxKindInfo, 6> kinds{{
      {InboxKind::kField, "field", "a merge: one field changed to different values on concurrent sides",
       "the field path", EntryMark::kPath, ""},
      {InboxKind::kSemantic, "semantic", "a merge of valid sides that breaks a rule of the form",
       "the fields involved, comma-separated and sorted", EntryMark::kPathList, ""},
      {InboxKind::kDeleteEdit, "delete_edit", "a merge: deleted on one side, edited on another", "\"\"",
       EntryMark::kDeletionPending, "confirm_delete|restore"},
      {InboxKind::kLockedChange, "locked_change", "a device edit of an approved record (held)", "\"\"",
       EntryMark::kNothing, "accept|reject"},
      {InboxKind::kPermission, "permission", "a device edit of admin-only fields (held)",
       "the fields involved, comma-separated and sorted", EntryMark::kNothing, "accept|reject"},
      {InboxKind::kDuplicateCandidate, "duplicate_candidate",
       "another live record of the form with the same unique_key values", "the key values as a JSON array text",
       EntryMark::kNothing, "keep_both|exclude"},
  }};
  return kinds;
}

const InboxKindInfo& inbox_kind_info(InboxKind kind) { return inbox_kinds()[static_cast<std::size_t>(kind)]; }

std::string_view to_string(InboxKind kind) { return inbox_kind_info(kind).name; }

std::optional<InboxKind> inbox_kind_from(std::string_view name) {
  for (const InboxKindInfo& k : inbox_kinds())
    if (k.name == name) return k.kind;
  return std::nullopt;
}

bool inbox_kind_allows(InboxKind kind, std::string_view action) {
  std::string_view list = inbox_kind_info(kind).actions;
  while (!list.empty()) {
    const std::size_t bar = std::min(list.find('|'), list.size());
    if (list.substr(0, bar) == action) return true;
    list.remove_prefix(std::min(bar + 1, list.size()));
  }
  return false;
}

void mark_entry(InboxKind kind, std::string_view path, std::set<std::string>& flagged, bool& deletion_pending) {
  switch (inbox_kind_info(kind).marks) {
    case EntryMark::kPath:
      flagged.emplace(path);
      return;
    case EntryMark::kPathList:
      for (std::size_t at = 0; at <= path.size();) {
        const std::size_t end = std::min(path.find(',', at), path.size());
        if (end > at) flagged.emplace(path.substr(at, end - at));
        at = end + 1;
      }
      return;
    case EntryMark::kDeletionPending:
      deletion_pending = true;
      return;
    case EntryMark::kNothing:
      return;
  }
}

}  // namespace akt::sync

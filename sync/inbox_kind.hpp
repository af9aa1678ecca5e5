// The kinds of inbox entry (PROTOCOL §11.2, §11.5): one table of what opens each kind, what its `path`
// holds, what an open entry marks on its record and how an admin resolves it. The store, the merge, the
// handlers and the clients name kinds through this type; the name is what the wire and the stores carry.
#pragma once

#include <array>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace akt::sync {

enum class InboxKind { kField, kSemantic, kDeleteEdit, kLockedChange, kPermission, kDuplicateCandidate };

// What an open entry marks on its record (the feed's `conflicted` and `deletion_pending`, PROTOCOL §5).
enum class EntryMark {
  kPath,             // `path` is one field path, listed in `conflicted`
  kPathList,         // `path` is a comma-separated list of field paths, each listed in `conflicted`
  kDeletionPending,  // the record is `deletion_pending`
  kNothing,          // the record is not flagged (the held or duplicate values are not provisional)
};

struct InboxKindInfo {
  InboxKind kind;
  std::string_view name;       // on the wire and in the stores
  std::string_view opened_by;  // what opens one
  std::string_view path;       // what the entry's `path` holds
  EntryMark marks;
  // The actions a resolution names (`"action"`, PROTOCOL §11.5), "|"-separated; "" = the resolution
  // gives values and names no action.
  std::string_view actions;
};

// Every kind, in the order of the enum (and of PROTOCOL §11.2).
const std::array<InboxKindInfo, 6>& inbox_kinds();
const InboxKindInfo& inbox_kind_info(InboxKind kind);
std::string_view to_string(InboxKind kind);
// nullopt for a name that is no kind (a stored row or a filter naming an unknown kind).
std::optional<InboxKind> inbox_kind_from(std::string_view name);
// Whether `action` is one of the kind's actions.
bool inbox_kind_allows(InboxKind kind, std::string_view action);

// Adds what an open entry of `kind` at `path` marks on its record to `flagged` / `deletion_pending`.
void mark_entry(InboxKind kind, std::string_view path, std::set<std::string>& flagged, bool& deletion_pending);

}  // namespace akt::sync

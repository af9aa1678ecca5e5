// Finding the attachment references in a record body (PROTOCOL §14.5). Pure; nlohmann inside.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sync/attachment_ref.hpp"

namespace akt::sync {

// Every string value of `body` (canonical JSON text of a record body) that is a well-formed attachment
// reference, with its field path: `key` at the top level, `key[<item id>].sub` inside repeat items
// (nested repeats likewise), in body order. A body that does not parse gives nothing. `item_ids` names
// the item id key of each top-level repeat (MergeSchema::repeats); without it, or for a nested repeat,
// an item's id is its `item_id` member or else its first string member whose key ends in `_id`.
std::vector<std::pair<std::string, AttachmentRef>> find_attachment_refs(
    std::string_view body, const std::map<std::string, std::string>* item_ids = nullptr);

}  // namespace akt::sync

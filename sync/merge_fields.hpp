// Internal to merge*.cpp: the field-level engine behind merge(). Not part of akt_sync's interface.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sync/merge.hpp"

namespace akt::sync::detail {

// One version with its parsed body.
struct Body {
  const Version* version = nullptr;
  nlohmann::json doc;  // an object; empty for a tombstone
};

// One sibling and the versions of its side since the ancestor (sorted by dot, the sibling included).
struct Side {
  const Body* tip = nullptr;
  std::vector<const Body*> history;
};

// What the field engine decides: the body plus the conflicts and merge-made paths.
struct FieldMerge {
  nlohmann::json body;
  std::vector<FieldConflict> conflicts;  // sorted by path
  std::vector<std::string> changed;      // sorted
  std::vector<std::string> settled;      // open paths whose candidates now agree
  std::map<std::string, std::vector<Candidate>> agreed;  // those paths' narrowed candidates
};

// REQUIRES: `sides` sorted by sibling dot, each history sorted by dot; at least one tip not deleted;
// every pointer outlives the call. `ancestor` is nullptr when there is none.
// `in` gives the open entries, deciders and server actor; `clocks` every known version's clock.
FieldMerge merge_fields(const MergeSchema& schema, const std::vector<Side>& sides,
                        const nlohmann::json* ancestor, const nlohmann::json& provisional, const MergeInput& in,
                        const std::map<Dot, VectorClock>& clocks);

}  // namespace akt::sync::detail

// Wire types of the push and pull endpoints (docs/PROTOCOL.md). Structs only; the codec is wire_json.*.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sync/push_decision.hpp"
#include "sync/record.hpp"

namespace akt::sync {

inline constexpr int kWireVersion = 1;

// Limits a decoder enforces; the server fills them from its config.
struct WireLimits {
  std::size_t max_edits = 1000;          // edits per batch
  std::size_t max_body_bytes = 256 * 1024;  // canonical body text per edit
  std::size_t max_changed = 2000;        // entries of `changed`
  std::size_t max_context = 4096;        // entries of `context`
  std::size_t max_id_length = 128;       // form ids, scope codes, batch ids, field paths
  int max_depth = 64;                    // JSON nesting depth of the whole document
};

struct PushRequest {
  std::string batch_id;
  std::vector<Edit> edits;
  // `"answer":"lean"` (PROTOCOL §4.2): results of edits that were not rejected leave out `record`, which
  // the device knows by the result's index; a rejected edit's result keeps it.
  bool lean_answer = false;
};

struct EditResult {
  std::size_t index = 0;       // position of the edit in the batch
  std::string record_id;
  Dot dot;
  Outcome outcome = Outcome::kRejected;
  std::int64_t seq = 0;        // feed position after this edit (0 when nothing changed)
  std::size_t live = 0;        // live versions of the record after this edit
  std::string error_code;      // when rejected
  std::string error_detail;
  std::string error_fields;    // per-field problems as a JSON array text, or empty
  std::vector<std::string> conflicts;  // merged: the fields left in conflict (sorted)
  // Applied or merged, then held for an admin: "locked_change" (the record is approved) or "permission"
  // (admin-only fields); `held` the fields that kept their values (sorted). Empty when nothing was held.
  std::string held_kind;
  std::vector<std::string> held;
  // The inbox entries this edit opened or added candidates to (ascending ids; PROTOCOL §4.2).
  std::vector<std::int64_t> entries;
  // Merged: the dot of the version the merge wrote (look it up in the record's history, §6.1).
  std::optional<Dot> version;
};

// A rejection decided before the store sees the edit (form validation runs in parallel, outside the
// writer's transaction).
struct EditRejection {
  std::string code;
  std::string detail;
  std::string fields_json;     // JSON array of {path, code, message}, or empty
  // The only problems are answers for fields that a later version of the form defines (pulled from a
  // record that version wrote): the store drops the rejection when the edit was made on a version filled
  // with a later form version, and keeps it otherwise (PROTOCOL §4.4).
  bool unless_newer_base = false;
};

struct PushResponse {
  std::string batch_id;
  std::string epoch;
  std::vector<EditResult> results;
  bool lean = false;  // written for a request with lean_answer (record_id then empty unless rejected)
};

}  // namespace akt::sync

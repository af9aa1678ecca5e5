// JSON codec of the wire types (docs/PROTOCOL.md). Decoders never throw: they return Result with the
// JSON path of the first problem ("edits[3].dot.n: expected a positive integer").
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "sync/status.hpp"
#include "sync/wire.hpp"

namespace akt::sync {

// Decodes a push batch. Fails (kInvalidArgument) on malformed JSON, nesting deeper than the limit,
// wrong types, missing required fields, bad UUIDs, or any limit exceeded. Unknown fields are ignored.
Result<PushRequest> decode_push_request(std::string_view text, const WireLimits& limits);
std::string encode_push_request(const PushRequest& request);

std::string encode_push_response(const PushResponse& response);
Result<PushResponse> decode_push_response(std::string_view text);

// Canonical clock text: {"<actor>":n,...} with actors sorted.
std::string encode_clock(const VectorClock& clock);
Result<VectorClock> decode_clock(std::string_view text);
std::string encode_dots(const std::vector<Dot>& dots);
Result<std::vector<Dot>> decode_dots(std::string_view text);
std::string encode_strings(const std::vector<std::string>& strings);
Result<std::vector<std::string>> decode_strings(std::string_view text);

// One edit as canonical JSON (as it appears in a push batch).
std::string encode_edit(const Edit& edit);

// The canonical text of everything that identifies an edit's content; equal text <=> same edit.
std::string edit_fingerprint(const Edit& edit);

// The same text from an edit's parts as stored (context, changed: JSON text as encode_clock and
// encode_strings give them): edit_fingerprint(e) == edit_fingerprint_of(...e's parts...).
struct EditParts {
  std::string_view record_id, form_id;
  std::int64_t form_version = 0;
  std::string_view municipality, community, component, actor;
  std::int64_t n = 0;
  std::string_view context, changed, body;
  bool deleted = false;
  std::int64_t device_time = 0;
};
std::string edit_fingerprint_of(const EditParts& parts);

// Appends a record state as JSON (bodies are embedded as stored: valid, minified JSON).
void append_record_state(std::string& out, const RecordState& state);

// The same encoding from stored text, for the change feed's hot path: the record's fields, then each
// live version (clock, parents and changed already JSON text as stored), then the closing brackets.
struct RecordHead {
  std::string_view record_id, form_id;
  std::int64_t form_version = 0;
  std::string_view municipality, community, component;
  std::int64_t seq = 0;
  bool deleted = false, conflict = false;
  std::string_view conflicted = "[]";  // JSON array of conflicted paths, as stored
  bool deletion_pending = false;
  std::string_view pending_upload = "[]";  // JSON array of paths awaiting their attachment, as stored
};
struct VersionText {
  std::string_view actor;
  std::int64_t n = 0;
  std::string_view clock, parents, changed, body;
  bool deleted = false;
  std::int64_t form_version = 0, device_time = 0, server_time = 0;
};
void append_record_open(std::string& out, const RecordHead& head);
void append_version(std::string& out, const VersionText& v, bool first);
inline void append_record_close(std::string& out) { out += "]}"; }
Result<RecordState> decode_record_state(const nlohmann::json& j);

}  // namespace akt::sync

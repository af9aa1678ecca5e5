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

// Appends a record state as JSON (bodies are embedded as stored, already canonical).
void append_record_state(std::string& out, const RecordState& state);
Result<RecordState> decode_record_state(const nlohmann::json& j);

}  // namespace akt::sync

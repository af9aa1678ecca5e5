// Record bodies for the CLI: canonical JSON, `--set key=value` edits, and the local export formats
// (JSON lines and CSV). Pure text transforms; no I/O, never throws.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "schema/store/tablet_store.hpp"
#include "sync/status.hpp"

namespace akt::client {

// The canonical text (keys sorted, minified) of a JSON object. kInvalidArgument when `text` is not
// JSON or not an object.
Result<std::string> canonical_body(std::string_view text);

// True when `text` is valid UTF-8 (so that it can travel in JSON).
bool is_utf8_text(const std::string& text);

struct BodyEdit {
  std::string body;                  // canonical
  std::vector<std::string> changed;  // the keys set, in the order given (each once)
};

// Applies `key=value` assignments to the object `body` (canonical JSON text). A value that parses as
// JSON (5, true, null, "x", [1,2]) is taken as that; anything else as a string (`name=Arta`). Keys are
// top-level field names. kInvalidArgument for an assignment without '=' or with an empty key.
Result<BodyEdit> apply_sets(const std::string& body, const std::vector<std::string>& sets);

// Replaces the whole body: `after` made canonical, with the top-level keys whose values differ from
// `before` (set, changed or removed). kInvalidArgument when `after` is not a JSON object.
Result<BodyEdit> diff_body(const std::string& before, std::string_view after);

// One JSON line describing the record as the device sees it: id, form, scope, state flags, the body
// of the current version, and every live version when it is a conflict.
std::string record_jsonl(const store::LocalRecord& record);

// CSV (RFC 4180) of the records' current bodies: fixed columns, then the union of field names sorted.
// Strings are written raw, other values as JSON.
std::string records_csv(const std::vector<store::LocalRecord>& records);

// What `aktsync show --lang` puts in place of codes (record_labels.hpp builds it).
struct RecordLabels {
  std::string form;                                  // replaces "form_id vN"
  std::string scope;                                 // replaces "municipality / community / component"
  std::function<std::string(const std::string&)> body;  // a version's body text -> lines, in place of the JSON
};

// A human-readable description for `aktsync show`; siblings are listed as a conflict.
std::string describe_record(const store::LocalRecord& record, const RecordLabels* labels = nullptr);

}  // namespace akt::client

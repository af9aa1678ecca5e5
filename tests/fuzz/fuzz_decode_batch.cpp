// Fuzzes the push-batch decoder (POST /v1/push bodies, docs/PROTOCOL.md §4): decode_push_request must
// never crash on any bytes, and a batch it accepts must survive encode -> decode unchanged
// (Edit::operator==), and encoding must be stable (encode(decode(encode(x))) == encode(x)).
//
// AKT_FUZZ_LENIENT_BODY=1 compares bodies as JSON values instead of as text; the default (strict)
// holds since bodies are stored canonical (docs/FUZZING.md §6).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sync/wire_json.hpp"

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_decode_batch: %s\n%s\n", what, detail.c_str());
  std::abort();
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// Names the members of two edits that differ (encode_edit may hide a difference, e.g. in the body text).
std::string diff(const akt::sync::Edit& a, const akt::sync::Edit& b) {
  std::string out;
  auto cmp = [&out](const char* name, const std::string& x, const std::string& y) {
    if (x != y) out += std::string(name) + ": " + quoted(x) + " != " + quoted(y) + "\n";
  };
  cmp("record_id", a.record_id, b.record_id);
  cmp("form_id", a.form_id, b.form_id);
  cmp("form_version", std::to_string(a.form_version), std::to_string(b.form_version));
  cmp("scope.municipality", a.scope.municipality, b.scope.municipality);
  cmp("scope.community", a.scope.community, b.scope.community);
  cmp("scope.component", a.scope.component, b.scope.component);
  cmp("dot", a.dot.actor + ":" + std::to_string(a.dot.n), b.dot.actor + ":" + std::to_string(b.dot.n));
  cmp("context", akt::sync::encode_clock(a.context), akt::sync::encode_clock(b.context));
  if (!(a.context == b.context)) out += "context: operator== differs\n";
  cmp("changed", akt::sync::encode_strings(a.changed), akt::sync::encode_strings(b.changed));
  cmp("body", a.body, b.body);
  cmp("deleted", a.deleted ? "true" : "false", b.deleted ? "true" : "false");
  cmp("device_time", std::to_string(a.device_time), std::to_string(b.device_time));
  return out;
}

bool lenient_body() {
  static const bool lenient = [] {
    const char* v = std::getenv("AKT_FUZZ_LENIENT_BODY");
    return v && *v && std::string_view(v) != "0";
  }();
  return lenient;
}

bool same_edit(const akt::sync::Edit& a, const akt::sync::Edit& b) {
  if (a == b) return true;
  if (!lenient_body()) return false;
  akt::sync::Edit a2 = a, b2 = b;
  a2.body.clear();
  b2.body.clear();
  if (!(a2 == b2)) return false;
  const auto ja = nlohmann::json::parse(a.body, nullptr, false), jb = nlohmann::json::parse(b.body, nullptr, false);
  return !ja.is_discarded() && ja == jb;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace akt::sync;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const WireLimits limits{};
  auto first = decode_push_request(text, limits);
  if (!first.ok()) return 0;

  const std::string encoded = encode_push_request(*first);
  auto second = decode_push_request(encoded, limits);
  if (!second.ok()) fail("re-encoded batch does not decode", second.status().message() + "\nencoded: " + encoded);
  if (second->batch_id != first->batch_id) fail("batch_id changed in round trip", encoded);
  if (second->edits.size() != first->edits.size()) fail("edit count changed in round trip", encoded);
  for (std::size_t i = 0; i < first->edits.size(); ++i) {
    if (!same_edit(first->edits[i], second->edits[i]))
      fail("edit changed in round trip",
           "index " + std::to_string(i) + "\n" + diff(first->edits[i], second->edits[i]) +
               "first:  " + encode_edit(first->edits[i]) + "\nsecond: " + encode_edit(second->edits[i]));
  }
  // Encoding is canonical: encoding the decoded copy gives the same text again.
  if (encode_push_request(*second) != encoded) fail("encoding is not stable", encoded);
  return 0;
}

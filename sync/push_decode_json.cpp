// Decoding push batches: the hot path of ingest. simdjson's DOM parser validates the whole document
// (UTF-8, structure, numbers, depth) at GB/s; edits are then read field by field with type checks, and
// each body is kept as minified JSON text in the order the device sent its keys. Never throws.
#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <vector>

#include "sync/counter.hpp"
#include "sync/json_text.hpp"
#include "sync/wire_json.hpp"
#include "sync/uuid.hpp"

namespace akt::sync {

namespace {

namespace dom = simdjson::dom;

Status bad(const std::string& path, const std::string& what) { return Status::invalid_argument(path + ": " + what); }

// The member `key` of `obj`, or nullopt when absent or null.
std::optional<dom::element> member(const dom::object& obj, std::string_view key) {
  dom::element e;
  if (obj.at_key(key).get(e) != simdjson::SUCCESS || e.is_null()) return std::nullopt;
  return e;
}

Status get_string(const dom::object& obj, std::string_view key, const std::string& path, std::size_t max_len,
                  std::string& out) {
  auto e = member(obj, key);
  if (!e) return bad(path + "." + std::string(key), "required string missing");
  std::string_view s;
  if (e->get_string().get(s) != simdjson::SUCCESS) return bad(path + "." + std::string(key), "expected a string");
  if (s.size() > max_len) return bad(path + "." + std::string(key), "longer than " + std::to_string(max_len) + " bytes");
  out.assign(s);
  return {};
}

Status to_int(const dom::element& e, const std::string& p, std::int64_t min, std::int64_t& out) {
  if (e.is_int64()) {
    out = e.get_int64().value_unsafe();
  } else if (e.is_uint64()) {
    return bad(p, "integer out of range");
  } else {
    return bad(p, "expected an integer");
  }
  if (out < min) return bad(p, "must be >= " + std::to_string(min));
  return {};
}

Status get_int(const dom::object& obj, std::string_view key, const std::string& path, std::int64_t min,
               std::int64_t& out, bool required) {
  auto e = member(obj, key);
  if (!e) return required ? bad(path + "." + std::string(key), "required integer missing") : Status();
  return to_int(*e, path + "." + std::string(key), min, out);
}

Status get_uuid(const dom::object& obj, std::string_view key, const std::string& path, std::string& out) {
  std::string s;
  if (Status st = get_string(obj, key, path, 64, s); !st.ok()) return st;
  auto bytes = parse_uuid(s);
  if (!bytes) return bad(path + "." + std::string(key), "expected a UUID like 0190f5c2-7a1e-7cc0-9a4b-2f1e3d4c5b6a");
  out = format_uuid(*bytes);
  return {};
}

// Refuses an object with a duplicate key (simdjson keeps both; other parsers keep the first or the last).
Status unique_keys(const dom::object& obj, const std::string& path) {
  std::vector<std::string_view> keys;
  keys.reserve(obj.size());
  for (auto [key, value] : obj) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  for (std::size_t i = 1; i < keys.size(); ++i)
    if (keys[i] == keys[i - 1]) return bad(path, "duplicate key '" + std::string(keys[i].substr(0, 64)) + "'");
  return {};
}

Status decode_dot(const dom::element& e, const std::string& path, Dot& out) {
  dom::object obj;
  if (e.get_object().get(obj) != simdjson::SUCCESS) return bad(path, "expected an object {\"actor\":uuid,\"n\":int}");
  if (Status st = unique_keys(obj, path); !st.ok()) return st;
  if (Status st = get_uuid(obj, "actor", path, out.actor); !st.ok()) return st;
  if (Status st = get_int(obj, "n", path, 1, out.n, true); !st.ok()) return st;
  if (out.n > kMaxCounter) return bad(path + ".n", "counter above the bound 2^53 (9007199254740992)");
  return {};
}

Status decode_context(const dom::element& e, const std::string& path, std::size_t max_entries, VectorClock& out) {
  dom::object obj;
  if (e.get_object().get(obj) != simdjson::SUCCESS) return bad(path, "expected an object {actor: counter}");
  if (obj.size() > max_entries) return bad(path, "more than " + std::to_string(max_entries) + " entries");
  if (Status st = unique_keys(obj, path); !st.ok()) return st;
  for (auto [actor, n] : obj) {
    auto bytes = parse_uuid(actor);
    if (!bytes) return bad(path, "key '" + std::string(actor.substr(0, 64)) + "' is not a UUID");
    std::int64_t v = 0;
    if (!to_int(n, path, 0, v).ok()) return bad(path + "." + std::string(actor), "expected a non-negative integer");
    if (v > kMaxCounter)
      return bad(path + "." + std::string(actor), "counter above the bound 2^53 (9007199254740992)");
    out.advance(format_uuid(*bytes), v);
  }
  return {};
}

// Writes `e` as canonical JSON: object keys sorted (byte order), no whitespace, integers as integers,
// other numbers in shortest round-trip form with a fraction or exponent. Fails on duplicate keys, whose
// meaning differs between parsers. Recursion is bounded by the parser's depth limit.
Status append_canonical(const dom::element& e, std::string& out, const std::string& path) {
  switch (e.type()) {
    case dom::element_type::OBJECT: {
      std::vector<std::pair<std::string_view, dom::element>> members;
      for (auto [key, value] : dom::object(e)) members.emplace_back(key, value);
      std::sort(members.begin(), members.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      out.push_back('{');
      for (std::size_t i = 0; i < members.size(); ++i) {
        if (i && members[i].first == members[i - 1].first)
          return bad(path, "duplicate key '" + std::string(members[i].first.substr(0, 64)) + "'");
        if (i) out.push_back(',');
        append_json_string(out, members[i].first);
        out.push_back(':');
        if (Status st = append_canonical(members[i].second, out, path); !st.ok()) return st;
      }
      out.push_back('}');
      return {};
    }
    case dom::element_type::ARRAY: {
      out.push_back('[');
      bool first = true;
      for (dom::element x : dom::array(e)) {
        if (!first) out.push_back(',');
        first = false;
        if (Status st = append_canonical(x, out, path); !st.ok()) return st;
      }
      out.push_back(']');
      return {};
    }
    case dom::element_type::STRING:
      append_json_string(out, e.get_string().value_unsafe());
      return {};
    case dom::element_type::INT64:
      out += std::to_string(e.get_int64().value_unsafe());
      return {};
    case dom::element_type::UINT64:
      out += std::to_string(e.get_uint64().value_unsafe());
      return {};
    case dom::element_type::DOUBLE: {
      char buf[64];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, e.get_double().value_unsafe());
      std::string_view num(buf, static_cast<std::size_t>(end - buf));
      out += num;
      if (num.find_first_of(".e") == std::string_view::npos) out += ".0";  // stays a double when re-read
      return {};
    }
    case dom::element_type::BOOL:
      out += e.get_bool().value_unsafe() ? "true" : "false";
      return {};
    case dom::element_type::NULL_VALUE:
      out += "null";
      return {};
  }
  return bad(path, "unsupported JSON value");
}

Status decode_edit(const dom::element& el, const std::string& path, const WireLimits& lim, Edit& e) {
  dom::object j;
  if (el.get_object().get(j) != simdjson::SUCCESS) return bad(path, "expected an object");
  if (Status st = unique_keys(j, path); !st.ok()) return st;
  if (Status st = get_uuid(j, "record", path, e.record_id); !st.ok()) return st;
  if (Status st = get_string(j, "form", path, lim.max_id_length, e.form_id); !st.ok()) return st;
  if (e.form_id.empty()) return bad(path + ".form", "must not be empty");
  if (Status st = get_int(j, "form_version", path, 1, e.form_version, true); !st.ok()) return st;
  {
    auto sc = member(j, "scope");
    dom::object scope;
    if (!sc || sc->get_object().get(scope) != simdjson::SUCCESS) return bad(path + ".scope", "expected an object");
    const std::string p = path + ".scope";
    if (Status st = unique_keys(scope, p); !st.ok()) return st;
    if (Status st = get_string(scope, "municipality", p, lim.max_id_length, e.scope.municipality); !st.ok()) return st;
    if (Status st = get_string(scope, "community", p, lim.max_id_length, e.scope.community); !st.ok()) return st;
    if (Status st = get_string(scope, "component", p, lim.max_id_length, e.scope.component); !st.ok()) return st;
  }
  auto dot = member(j, "dot");
  if (!dot) return bad(path + ".dot", "required object missing");
  if (Status st = decode_dot(*dot, path + ".dot", e.dot); !st.ok()) return st;
  if (auto ctx = member(j, "context")) {
    if (Status st = decode_context(*ctx, path + ".context", lim.max_context, e.context); !st.ok()) return st;
  }
  const auto listed = member(j, "changed");
  if (auto ch = listed) {
    dom::array arr;
    if (ch->get_array().get(arr) != simdjson::SUCCESS) return bad(path + ".changed", "expected an array of field paths");
    if (arr.size() > lim.max_changed) return bad(path + ".changed", "too many entries");
    e.changed.reserve(arr.size());
    std::size_t i = 0;
    for (dom::element c : arr) {
      std::string_view s;
      const auto p = [&] { return path + ".changed[" + std::to_string(i) + "]"; };
      if (c.get_string().get(s) != simdjson::SUCCESS) return bad(p(), "expected a string");
      if (s.empty() || s.size() > 4 * lim.max_id_length) return bad(p(), "empty or too long");
      e.changed.emplace_back(s);
      ++i;
    }
  }
  if (auto del = member(j, "deleted")) {
    bool b = false;
    if (del->get_bool().get(b) != simdjson::SUCCESS) return bad(path + ".deleted", "expected a boolean");
    e.deleted = b;
  }
  auto body = member(j, "body");
  if (!body) {
    if (!e.deleted) return bad(path + ".body", "required object missing");
    e.body = "{}";
  } else {
    if (!body->is_object()) return bad(path + ".body", "expected an object");
    e.body.reserve(1024);
    if (Status st = append_canonical(*body, e.body, path + ".body"); !st.ok()) return st;
    if (e.body.size() > lim.max_body_bytes)
      return bad(path + ".body", "larger than " + std::to_string(lim.max_body_bytes) + " bytes");
    if (!listed && !e.deleted && e.context.empty()) {
      // A create that leaves `changed` out set every answer it holds (PROTOCOL §4.1): its top-level keys,
      // byte order, as clients listed them before they could leave it out; so the edit's content, and its
      // fingerprint, are the same whichever way it came.
      dom::object fields;
      if (body->get_object().get(fields) == simdjson::SUCCESS)
        for (auto field : fields) e.changed.emplace_back(field.key);
      std::sort(e.changed.begin(), e.changed.end());
    }
  }
  return get_int(j, "device_time", path, 0, e.device_time, false);
}

}  // namespace

Result<PushRequest> decode_push_request(std::string_view text, const WireLimits& lim) {
  // simdjson's DOM parser keeps about 15 bytes per byte of the largest document it parsed (tape 8,
  // structural indexes 4, strings 1.7). One parser per thread keeps its buffers between small batches;
  // a batch larger than kKeptCapacity gets a parser of its own, freed when this returns, so that no worker
  // keeps ~30 MiB for ever after one 2 MiB batch (README, Memory; tests/bench/mem_bench.cpp).
  constexpr std::size_t kKeptCapacity = 64 * 1024;
  thread_local dom::parser kept;
  thread_local int depth = 0;
  std::optional<dom::parser> own;
  dom::parser* chosen = &kept;
  if (text.size() > kKeptCapacity) {
    chosen = &own.emplace();
    if (own->allocate(text.size(), static_cast<std::size_t>(lim.max_depth)) != simdjson::SUCCESS)
      return Status::too_large("$: document too large to parse");
  } else if (depth != lim.max_depth) {
    if (kept.allocate(kKeptCapacity, static_cast<std::size_t>(lim.max_depth)) != simdjson::SUCCESS)
      return Status::io_error("out of memory for the JSON parser");
    depth = lim.max_depth;
  }
  dom::parser& parser = *chosen;
  dom::element doc;
  auto err = parser.parse(text.data(), text.size()).get(doc);
  // Depth is enforced by the parser itself (iterative, no recursion); the scan only names the error.
  if (err == simdjson::DEPTH_ERROR || (err != simdjson::SUCCESS && !json_depth_within(text, lim.max_depth)))
    return Status::invalid_argument("$: JSON nests deeper than " + std::to_string(lim.max_depth) + " levels");
  if (err == simdjson::MEMALLOC || err == simdjson::CAPACITY)
    return Status::too_large("$: document too large to parse");
  if (err != simdjson::SUCCESS) return Status::invalid_argument("$: malformed JSON");
  dom::object j;
  if (doc.get_object().get(j) != simdjson::SUCCESS) return Status::invalid_argument("$: expected an object");
  if (Status st = unique_keys(j, "$"); !st.ok()) return st;
  std::int64_t v = 0;
  if (Status st = get_int(j, "v", "$", 1, v, true); !st.ok()) return st;
  if (v != kWireVersion) return Status::invalid_argument("$.v: unsupported wire version " + std::to_string(v));
  PushRequest req;
  if (Status st = get_string(j, "batch_id", "$", lim.max_id_length, req.batch_id); !st.ok()) return st;
  if (req.batch_id.empty()) return Status::invalid_argument("$.batch_id: must not be empty");
  std::string answer;
  if (member(j, "answer"))
    if (Status st = get_string(j, "answer", "$", 16, answer); !st.ok()) return st;
  if (member(j, "answer") && answer != "lean" && answer != "full")
    return Status::invalid_argument("$.answer: expected \"lean\" or \"full\"");
  req.lean_answer = answer == "lean";
  auto edits = member(j, "edits");
  dom::array arr;
  if (!edits || edits->get_array().get(arr) != simdjson::SUCCESS)
    return Status::invalid_argument("$.edits: expected an array");
  if (arr.size() > lim.max_edits)
    return Status::too_large("$.edits: more than " + std::to_string(lim.max_edits) + " edits in one batch");
  req.edits.resize(arr.size());
  std::size_t i = 0;
  for (dom::element e : arr) {
    if (Status st = decode_edit(e, "$.edits[" + std::to_string(i) + "]", lim, req.edits[i]); !st.ok()) return st;
    ++i;
  }
  return req;
}

}  // namespace akt::sync

// JSON codec of the wire types. Untrusted input is parsed without exceptions (parse(..., false)) and
// every access is type-checked first, so no nlohmann exception can escape a decoder.
#include "sync/wire_json.hpp"

#include <nlohmann/json.hpp>

#include "sync/feed_text.hpp"
#include "sync/json_text.hpp"
#include "sync/uuid.hpp"

namespace akt::sync {

using nlohmann::json;

namespace {

Status bad(const std::string& path, const std::string& what) { return Status::invalid_argument(path + ": " + what); }

// Field accessors: each returns a non-OK Status naming the path when the field is missing or mistyped.
Status get_string(const json& obj, const char* key, const std::string& path, std::size_t max_len, std::string& out,
                  bool required = true) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return required ? bad(path + "." + key, "required string missing") : Status();
  if (!it->is_string()) return bad(path + "." + key, "expected a string");
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > max_len) return bad(path + "." + key, "longer than " + std::to_string(max_len) + " bytes");
  out = s;
  return {};
}

Status get_int(const json& obj, const char* key, const std::string& path, std::int64_t min, std::int64_t& out,
               bool required = true) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return required ? bad(path + "." + key, "required integer missing") : Status();
  if (it->is_number_unsigned()) {
    auto u = it->get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(INT64_MAX)) return bad(path + "." + key, "integer out of range");
    out = static_cast<std::int64_t>(u);
  } else if (it->is_number_integer()) {
    out = it->get<std::int64_t>();
  } else {
    return bad(path + "." + key, "expected an integer");
  }
  if (out < min) return bad(path + "." + key, "must be >= " + std::to_string(min));
  return {};
}

Status get_uuid(const json& obj, const char* key, const std::string& path, std::string& out) {
  std::string s;
  if (Status st = get_string(obj, key, path, 64, s); !st.ok()) return st;
  auto bytes = parse_uuid(s);
  if (!bytes) return bad(path + "." + key, "expected a UUID like 0190f5c2-7a1e-7cc0-9a4b-2f1e3d4c5b6a");
  out = format_uuid(*bytes);  // canonical lowercase
  return {};
}

Status decode_dot(const json& j, const std::string& path, Dot& out) {
  if (!j.is_object()) return bad(path, "expected an object {\"actor\":uuid,\"n\":int}");
  if (Status st = get_uuid(j, "actor", path, out.actor); !st.ok()) return st;
  return get_int(j, "n", path, 1, out.n);
}

Status decode_clock_json(const json& j, const std::string& path, std::size_t max_entries, VectorClock& out) {
  if (!j.is_object()) return bad(path, "expected an object {actor: counter}");
  if (j.size() > max_entries) return bad(path, "more than " + std::to_string(max_entries) + " entries");
  for (const auto& [actor, n] : j.items()) {
    auto bytes = parse_uuid(actor);
    if (!bytes) return bad(path, "key '" + actor.substr(0, 64) + "' is not a UUID");
    if (!n.is_number_integer() || n.get<std::int64_t>() < 0)
      return bad(path + "." + actor, "expected a non-negative integer");
    out.advance(format_uuid(*bytes), n.get<std::int64_t>());
  }
  return {};
}

json dot_json(const Dot& d) { return json{{"actor", d.actor}, {"n", d.n}}; }

json clock_json(const VectorClock& c) {
  json j = json::object();
  for (const auto& [a, n] : c.entries()) j[a] = n;
  return j;
}

json edit_json(const Edit& e) {
  json j{{"record", e.record_id},
         {"form", e.form_id},
         {"form_version", e.form_version},
         {"scope", {{"municipality", e.scope.municipality}, {"community", e.scope.community},
                    {"component", e.scope.component}}},
         {"dot", dot_json(e.dot)},
         {"context", clock_json(e.context)},
         {"changed", e.changed},
         {"body", json::parse(e.body, nullptr, false)},
         {"deleted", e.deleted},
         {"device_time", e.device_time}};
  return j;
}

}  // namespace

std::string encode_push_request(const PushRequest& r) {
  json edits = json::array();
  for (const Edit& e : r.edits) {
    json j = edit_json(e);
    // What the server reads as the default is left out (PROTOCOL §4.1): no empty context, no
    // "deleted":false, and no `changed` on a create that lists exactly its body's top-level keys.
    if (e.context.empty()) j.erase("context");
    if (!e.deleted) j.erase("deleted");
    if (!e.deleted && e.context.empty() && j["body"].is_object() && j["body"].size() == e.changed.size()) {
      bool all_keys = true;
      std::size_t i = 0;
      for (const auto& [k, v] : j["body"].items()) all_keys = all_keys && k == e.changed[i++];
      if (all_keys) j.erase("changed");
    }
    edits.push_back(std::move(j));
  }
  json out{{"v", kWireVersion}, {"batch_id", r.batch_id}, {"edits", std::move(edits)}};
  if (r.lean_answer) out["answer"] = "lean";
  return out.dump();
}

std::string encode_push_response(const PushResponse& r) {
  // Written by hand (it runs for every batch inside the writer's transaction); the key order is
  // sorted, as nlohmann would write it.
  std::string out;
  out.reserve(64 + r.results.size() * 160);
  out += "{\"batch_id\":";
  append_json_string(out, r.batch_id);
  out += ",\"epoch\":";
  append_json_string(out, r.epoch);
  out += ",\"results\":[";
  for (std::size_t k = 0; k < r.results.size(); ++k) {
    const EditResult& e = r.results[k];
    if (k) out.push_back(',');
    out += "{\"dot\":{\"actor\":";
    append_json_string(out, e.dot.actor);
    out += ",\"n\":" + std::to_string(e.dot.n) + "}";
    if (e.outcome == Outcome::kRejected) {
      out += ",\"error\":{\"code\":";
      append_json_string(out, e.error_code);
      out += ",\"detail\":";
      append_json_string(out, e.error_detail);
      if (!e.error_fields.empty()) {
        out += ",\"fields\":";
        out += e.error_fields;
      }
      out += "}";
    }
    if (e.outcome == Outcome::kMerged) {
      out += ",\"conflicts\":";
      out += encode_strings(e.conflicts);
    }
    if (!e.held_kind.empty()) {
      out += ",\"held\":{\"fields\":";
      out += encode_strings(e.held);
      out += ",\"kind\":";
      append_json_string(out, e.held_kind);
      out += "}";
    }
    if (!e.entries.empty()) {
      out += ",\"entries\":[";
      for (std::size_t x = 0; x < e.entries.size(); ++x) out += (x ? "," : "") + std::to_string(e.entries[x]);
      out += "]";
    }
    out += ",\"i\":" + std::to_string(e.index) + ",\"live\":" + std::to_string(e.live) + ",\"outcome\":\"";
    out += to_string(e.outcome);
    out += "\"";
    if (!r.lean || e.outcome == Outcome::kRejected) {
      out += ",\"record\":";
      append_json_string(out, e.record_id);
    }
    out += ",\"seq\":" + std::to_string(e.seq);
    if (e.version) {
      out += ",\"version\":{\"actor\":";
      append_json_string(out, e.version->actor);
      out += ",\"n\":" + std::to_string(e.version->n) + "}";
    }
    out += "}";
  }
  out += "],\"v\":" + std::to_string(kWireVersion) + "}";
  return out;
}

Result<PushResponse> decode_push_response(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::invalid_argument("$: malformed push response");
  PushResponse r;
  if (Status st = get_string(j, "batch_id", "$", 1024, r.batch_id); !st.ok()) return st;
  if (Status st = get_string(j, "epoch", "$", 1024, r.epoch); !st.ok()) return st;
  auto results = j.find("results");
  if (results == j.end() || !results->is_array()) return Status::invalid_argument("$.results: expected an array");
  for (const json& x : *results) {
    if (!x.is_object()) return Status::invalid_argument("$.results[]: expected an object");
    EditResult e;
    std::int64_t i = 0, seq = 0, live = 0;
    std::string outcome;
    if (Status st = get_int(x, "i", "$.results[]", 0, i); !st.ok()) return st;
    // Absent from the results of a lean answer (PROTOCOL §4.2) for edits that were not rejected.
    if (Status st = get_string(x, "record", "$.results[]", 64, e.record_id, false); !st.ok()) return st;
    if (Status st = get_string(x, "outcome", "$.results[]", 64, outcome); !st.ok()) return st;
    if (Status st = get_int(x, "seq", "$.results[]", 0, seq); !st.ok()) return st;
    if (Status st = get_int(x, "live", "$.results[]", 0, live); !st.ok()) return st;
    if (auto d = x.find("dot"); d != x.end()) {
      if (Status st = decode_dot(*d, "$.results[].dot", e.dot); !st.ok()) return st;
    }
    e.index = static_cast<std::size_t>(i);
    e.seq = seq;
    e.live = static_cast<std::size_t>(live);
    bool known = false;
    for (Outcome o : {Outcome::kApplied, Outcome::kConcurrent, Outcome::kMerged, Outcome::kSuperseded,
                      Outcome::kDuplicate, Outcome::kRejected}) {
      if (outcome == to_string(o)) e.outcome = o, known = true;
    }
    if (!known) return Status::invalid_argument("$.results[].outcome: unknown '" + outcome + "'");
    if (auto c = x.find("conflicts"); c != x.end() && c->is_array())
      for (const auto& p : *c)
        if (p.is_string()) e.conflicts.push_back(p.get<std::string>());
    if (auto h = x.find("held"); h != x.end() && h->is_object()) {
      e.held_kind = h->value("kind", std::string());
      if (auto f = h->find("fields"); f != h->end() && f->is_array())
        for (const auto& p : *f)
          if (p.is_string()) e.held.push_back(p.get<std::string>());
    }
    if (auto en = x.find("entries"); en != x.end() && en->is_array())
      for (const auto& id : *en)
        if (id.is_number_integer()) e.entries.push_back(id.get<std::int64_t>());
    if (auto v = x.find("version"); v != x.end() && v->is_object()) {
      Dot d;
      if (decode_dot(*v, "$.results[].version", d).ok()) e.version = d;
    }
    if (auto err = x.find("error"); err != x.end() && err->is_object()) {
      get_string(*err, "code", "$.results[].error", 256, e.error_code, false);
      get_string(*err, "detail", "$.results[].error", 4096, e.error_detail, false);
      if (auto f = err->find("fields"); f != err->end() && f->is_array()) e.error_fields = f->dump();
    }
    r.results.push_back(std::move(e));
  }
  return r;
}

std::string encode_clock(const VectorClock& c) {
  std::string out = "{";
  bool first = true;
  for (const auto& [a, n] : c.entries()) {
    if (!first) out.push_back(',');
    first = false;
    append_json_string(out, a);
    out.push_back(':');
    out += std::to_string(n);
  }
  out.push_back('}');
  return out;
}

Result<VectorClock> decode_clock(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  VectorClock c;
  if (j.is_discarded()) return Status::corruption("clock: malformed JSON");
  if (Status st = decode_clock_json(j, "clock", SIZE_MAX, c); !st.ok()) return st;
  return c;
}

std::string encode_dots(const std::vector<Dot>& dots) {
  std::string out = "[";
  for (std::size_t i = 0; i < dots.size(); ++i) {
    if (i) out.push_back(',');
    out += "{\"actor\":";
    append_json_string(out, dots[i].actor);
    out += ",\"n\":" + std::to_string(dots[i].n) + "}";
  }
  out.push_back(']');
  return out;
}

Result<std::vector<Dot>> decode_dots(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array()) return Status::corruption("dots: expected an array");
  std::vector<Dot> out(j.size());
  for (std::size_t i = 0; i < j.size(); ++i) {
    if (Status st = decode_dot(j[i], "dots[" + std::to_string(i) + "]", out[i]); !st.ok()) return st;
  }
  return out;
}

std::string encode_strings(const std::vector<std::string>& strings) {
  std::string out = "[";
  for (std::size_t i = 0; i < strings.size(); ++i) {
    if (i) out.push_back(',');
    append_json_string(out, strings[i]);
  }
  out.push_back(']');
  return out;
}

Result<std::vector<std::string>> decode_strings(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array()) return Status::corruption("strings: expected an array");
  std::vector<std::string> out;
  for (const json& s : j) {
    if (!s.is_string()) return Status::corruption("strings: expected strings");
    out.push_back(s.get<std::string>());
  }
  return out;
}

std::string encode_edit(const Edit& e) { return edit_json(e).dump(); }

std::string edit_fingerprint(const Edit& e) {
  const std::string context = encode_clock(e.context), changed = encode_strings(e.changed);
  return edit_fingerprint_of({e.record_id, e.form_id, e.form_version, e.scope.municipality, e.scope.community,
                              e.scope.component, e.dot.actor, e.dot.n, context, changed, e.body, e.deleted,
                              e.device_time});
}

std::string edit_fingerprint_of(const EditParts& e) {
  // Length-prefixed fields: cheap (no JSON parse of the body) and unambiguous.
  std::string out;
  out.reserve(e.body.size() + e.changed.size() + 256);
  auto put = [&out](std::string_view s) {
    out += std::to_string(s.size());
    out.push_back(':');
    out += s;
  };
  put(e.record_id);
  put(e.form_id);
  put(std::to_string(e.form_version));
  put(e.municipality);
  put(e.community);
  put(e.component);
  put(e.actor);
  put(std::to_string(e.n));
  put(e.context);
  put(e.changed);
  put(e.body);
  put(e.deleted ? "1" : "0");
  put(std::to_string(e.device_time));
  return out;
}

void append_record_open(std::string& out, const RecordHead& h) { append_record_open_styled(out, h, false); }

void append_record_open_styled(std::string& out, const RecordHead& h, bool lean) {
  out += "{\"record\":";
  append_json_string(out, h.record_id);
  out += ",\"form\":";
  append_json_string(out, h.form_id);
  out += ",\"form_version\":" + std::to_string(h.form_version);
  out += ",\"scope\":{\"municipality\":";
  append_json_string(out, h.municipality);
  out += ",\"community\":";
  append_json_string(out, h.community);
  out += ",\"component\":";
  append_json_string(out, h.component);
  out += "},\"seq\":" + std::to_string(h.seq);
  if (!lean || h.deleted) out += h.deleted ? ",\"deleted\":true" : ",\"deleted\":false";
  if (!lean || h.conflict) out += h.conflict ? ",\"conflict\":true" : ",\"conflict\":false";
  if (!lean || (!h.conflicted.empty() && h.conflicted != "[]")) {
    out += ",\"conflicted\":";
    out += h.conflicted;
  }
  if (!lean || h.deletion_pending)
    out += h.deletion_pending ? ",\"deletion_pending\":true" : ",\"deletion_pending\":false";
  // Only when some attachment is missing, so records without photos read as before.
  if (!h.pending_upload.empty() && h.pending_upload != "[]") {
    out += ",\"pending_upload\":";
    out += h.pending_upload;
  }
  out += ",\"live\":[";
}

void append_version(std::string& out, const VersionText& v, bool first) { append_version_styled(out, v, first, {}); }

void append_version_styled(std::string& out, const VersionText& v, bool first, const VersionStyle& style) {
  if (!first) out.push_back(',');
  out += "{\"dot\":{\"actor\":";
  append_json_string(out, v.actor);
  const std::string n = std::to_string(v.n);
  out += ",\"n\":" + n + "}";
  // A create's clock is its own dot alone: the lean feed leaves it out when the stored text says exactly
  // that (any other spelling is sent, which is always correct).
  const bool own_dot_clock = style.lean && v.clock.size() == v.actor.size() + n.size() + 5 &&
                             v.clock.substr(0, 2) == "{\"" && v.clock.substr(2, v.actor.size()) == v.actor &&
                             v.clock.substr(2 + v.actor.size(), 2) == "\":" &&
                             v.clock.substr(4 + v.actor.size(), n.size()) == n && v.clock.back() == '}';
  if (!own_dot_clock) {
    out += ",\"clock\":";
    out += v.clock;
  }
  if (style.parents) {
    out += ",\"parents\":";
    out += v.parents;
  }
  if (style.changed) {
    out += ",\"changed\":";
    out += v.changed;
  }
  if (!style.body_hash.empty()) {
    out += ",\"body_hash\":";
    append_json_string(out, style.body_hash);
  } else {
    out += ",\"body\":";
    out += v.body;
  }
  if (!style.lean || v.deleted) out += v.deleted ? ",\"deleted\":true" : ",\"deleted\":false";
  if (!style.lean || v.form_version != style.record_form_version)
    out += ",\"form_version\":" + std::to_string(v.form_version);
  out += ",\"device_time\":" + std::to_string(v.device_time);
  out += ",\"server_time\":" + std::to_string(v.server_time) + "}";
}

void append_record_state(std::string& out, const RecordState& s) {
  if (s.out_of_scope) {
    out += "{\"record\":\"" + s.record_id + "\",\"seq\":" + std::to_string(s.seq) + ",\"out_of_scope\":true}";
    return;
  }
  const std::string conflicted = encode_strings(s.conflicted);
  const std::string pending = encode_strings(s.pending_upload);
  append_record_open(out, {s.record_id, s.form_id, s.form_version, s.scope.municipality, s.scope.community,
                           s.scope.component, s.seq, s.deleted, s.conflict, conflicted, s.deletion_pending,
                           pending});
  for (std::size_t i = 0; i < s.live.size(); ++i) {
    const Version& v = s.live[i];
    const std::string clock = encode_clock(v.clock), parents = encode_dots(v.parents),
                      changed = encode_strings(v.changed);
    append_version(out, {v.dot.actor, v.dot.n, clock, parents, changed, v.body, v.deleted, v.form_version,
                         v.device_time, v.server_time},
                   i == 0);
  }
  append_record_close(out);
}

Result<RecordState> decode_record_state(const json& j) {
  if (!j.is_object()) return Status::invalid_argument("record: expected an object");
  RecordState s;
  if (Status st = get_uuid(j, "record", "record", s.record_id); !st.ok()) return st;
  if (auto m = j.find("out_of_scope"); m != j.end()) {
    // A marker has no other fields (PROTOCOL §5.1).
    if (!m->is_boolean() || !m->get<bool>()) return Status::invalid_argument("record.out_of_scope: expected true");
    s.out_of_scope = true;
    if (Status st = get_int(j, "seq", "record", 0, s.seq); !st.ok()) return st;
    return s;
  }
  if (Status st = get_string(j, "form", "record", 1024, s.form_id); !st.ok()) return st;
  if (Status st = get_int(j, "form_version", "record", 0, s.form_version); !st.ok()) return st;
  if (auto sc = j.find("scope"); sc != j.end() && sc->is_object()) {
    get_string(*sc, "municipality", "scope", 1024, s.scope.municipality, false);
    get_string(*sc, "community", "scope", 1024, s.scope.community, false);
    get_string(*sc, "component", "scope", 1024, s.scope.component, false);
  }
  if (Status st = get_int(j, "seq", "record", 0, s.seq); !st.ok()) return st;
  s.deleted = j.value("deleted", false);
  s.conflict = j.value("conflict", false);
  s.deletion_pending = j.value("deletion_pending", false);
  if (auto c = j.find("conflicted"); c != j.end() && c->is_array())
    for (const auto& p : *c)
      if (p.is_string()) s.conflicted.push_back(p.get<std::string>());
  if (auto c = j.find("pending_upload"); c != j.end() && c->is_array())
    for (const auto& p : *c)
      if (p.is_string()) s.pending_upload.push_back(p.get<std::string>());
  auto live = j.find("live");
  if (live == j.end() || !live->is_array()) return Status::invalid_argument("record.live: expected an array");
  for (const json& x : *live) {
    if (!x.is_object()) return Status::invalid_argument("record.live[]: expected an object");
    Version v;
    auto d = x.find("dot");
    if (d == x.end()) return Status::invalid_argument("record.live[].dot missing");
    if (Status st = decode_dot(*d, "live.dot", v.dot); !st.ok()) return st;
    if (auto c = x.find("clock"); c != x.end()) {
      if (Status st = decode_clock_json(*c, "live.clock", SIZE_MAX, v.clock); !st.ok()) return st;
    } else {
      v.clock.advance(v.dot.actor, v.dot.n);  // the lean feed (compact=2) leaves out a clock that is the dot alone
    }
    if (auto p = x.find("parents"); p != x.end() && p->is_array()) {
      for (const json& pd : *p) {
        Dot dd;
        if (Status st = decode_dot(pd, "live.parents[]", dd); !st.ok()) return st;
        v.parents.push_back(dd);
      }
    }
    if (auto ch = x.find("changed"); ch != x.end() && ch->is_array()) {
      for (const json& c : *ch)
        if (c.is_string()) v.changed.push_back(c.get<std::string>());
    }
    auto b = x.find("body");
    v.body = (b != x.end() && b->is_object()) ? b->dump() : "{}";
    v.deleted = x.value("deleted", false);
    v.form_version = s.form_version;  // the lean feed leaves out a version's form version equal to the record's
    get_int(x, "form_version", "live", 0, v.form_version, false);
    get_int(x, "device_time", "live", 0, v.device_time, false);
    get_int(x, "server_time", "live", 0, v.server_time, false);
    s.live.push_back(std::move(v));
  }
  return s;
}

}  // namespace akt::sync

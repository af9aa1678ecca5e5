// Body editing and local export for the CLI. nlohmann is parsed without exceptions throughout.
#include "clients/record_json.hpp"

#include <algorithm>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

namespace akt::client {
namespace {

using nlohmann::json;

json parse_or_empty(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  return j.is_discarded() || !j.is_object() ? json::object() : j;
}

// Bodies the user typed must be valid UTF-8: refused here rather than thrown by nlohmann.
Result<std::string> strict_dump(const json& j) {
  try {
    return j.dump();
  } catch (const json::exception&) {
    return Status::invalid_argument("the body is not valid UTF-8");
  }
}

// Output of stored text never throws: invalid bytes (never expected) are replaced.
std::string safe_dump(const json& j, int indent = -1) {
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

json scope_json(const sync::Scope& s) {
  return {{"municipality", s.municipality}, {"community", s.community}, {"component", s.component}};
}

json dot_json(const sync::Dot& d) { return {{"actor", d.actor}, {"n", d.n}}; }

json clock_json(const sync::VectorClock& c) {
  json j = json::object();
  for (const auto& [a, n] : c.entries()) j[a] = n;
  return j;
}

// RFC 4180: quote a cell holding a separator, a quote or a line break; double the quotes inside.
std::string csv_cell(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

std::string state_of(const store::LocalRecord& r) {
  std::string s = r.is_deleted() ? "deleted" : "active";
  if (r.is_conflict()) s += ",conflict";
  if (r.unsynced) s += ",unsynced";
  return s;
}

}  // namespace

bool is_utf8_text(const std::string& text) { return strict_dump(json(text)).ok(); }

Result<std::string> canonical_body(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return Status::invalid_argument("the body is not valid JSON");
  if (!j.is_object()) return Status::invalid_argument("the body must be a JSON object");
  return strict_dump(j);
}

Result<BodyEdit> apply_sets(const std::string& body, const std::vector<std::string>& sets) {
  json j = parse_or_empty(body);
  BodyEdit out;
  for (const std::string& s : sets) {
    const std::size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0)
      return Status::invalid_argument("expected key=value, got '" + s + "'");
    const std::string key = s.substr(0, eq), text = s.substr(eq + 1);
    // `hh_size=5` is the number 5, `name=Arta` the string "Arta"; quote to force a string ("5").
    json v = json::parse(text, nullptr, false);
    j[key] = v.is_discarded() ? json(text) : std::move(v);
    if (std::find(out.changed.begin(), out.changed.end(), key) == out.changed.end()) out.changed.push_back(key);
  }
  auto text = strict_dump(j);
  if (!text.ok()) return text.status();
  out.body = std::move(*text);
  return out;
}

Result<BodyEdit> diff_body(const std::string& before, std::string_view after) {
  json a = json::parse(after, nullptr, false);
  if (a.is_discarded() || !a.is_object()) return Status::invalid_argument("the body must be a JSON object");
  const json b = parse_or_empty(before);
  auto text = strict_dump(a);
  if (!text.ok()) return text.status();
  BodyEdit out{std::move(*text), {}};
  std::set<std::string> keys;
  for (const auto& [k, v] : a.items()) keys.insert(k);
  for (const auto& [k, v] : b.items()) keys.insert(k);
  for (const std::string& k : keys) {
    auto x = std::as_const(a).find(k);
    auto y = b.find(k);
    if (x == a.end() || y == b.end() || *x != *y) out.changed.push_back(k);
  }
  return out;
}

std::string record_jsonl(const store::LocalRecord& r) {
  json j{{"record", r.record_id},     {"form", r.form_id},          {"form_version", r.form_version},
         {"scope", scope_json(r.scope)}, {"deleted", r.is_deleted()}, {"conflict", r.is_conflict()},
         {"unsynced", r.unsynced},   {"seq", r.seq}};
  j["conflicted"] = r.conflicted;
  j["deletion_pending"] = r.deletion_pending;
  j["body"] = r.live.empty() ? json::object() : parse_or_empty(r.live[r.current].body);
  if (r.is_conflict()) {
    json versions = json::array();
    for (const store::LocalVersion& v : r.live)
      versions.push_back({{"dot", dot_json(v.dot)}, {"clock", clock_json(v.clock)}, {"body", parse_or_empty(v.body)},
                          {"deleted", v.deleted}, {"local", v.is_local}});
    j["versions"] = std::move(versions);
  }
  return safe_dump(j);
}

std::string records_csv(const std::vector<store::LocalRecord>& records) {
  std::set<std::string> fields;
  std::vector<json> bodies;
  for (const auto& r : records) {
    bodies.push_back(r.live.empty() ? json::object() : parse_or_empty(r.live[r.current].body));
    for (const auto& [k, v] : bodies.back().items()) fields.insert(k);
  }
  std::string out = "record,form,form_version,municipality,community,component,deleted,conflict,unsynced";
  for (const auto& f : fields) out += "," + csv_cell(f);
  out += "\r\n";
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    out += r.record_id + "," + csv_cell(r.form_id) + "," + std::to_string(r.form_version) + "," +
           csv_cell(r.scope.municipality) + "," + csv_cell(r.scope.community) + "," + csv_cell(r.scope.component) +
           (r.is_deleted() ? ",1" : ",0") + (r.is_conflict() ? ",1," : ",0,") + std::to_string(r.unsynced);
    for (const auto& f : fields) {
      auto it = bodies[i].find(f);
      out += ",";
      if (it == bodies[i].end() || it->is_null()) continue;
      out += csv_cell(it->is_string() ? it->get<std::string>() : safe_dump(*it));
    }
    out += "\r\n";
  }
  return out;
}

std::string describe_record(const store::LocalRecord& r, const RecordLabels* labels) {
  std::string out = "record   " + r.record_id + "\nform     " +
                    (labels ? labels->form : r.form_id + " v" + std::to_string(r.form_version)) + "\nscope    " +
                    (labels ? labels->scope
                            : r.scope.municipality + " / " + r.scope.community + " / " + r.scope.component) +
                    "\nstate    " + state_of(r) + "\nunsynced " + std::to_string(r.unsynced) + " edit(s)\n";
  if (r.live.empty()) return out + "(no live version)\n";
  if (r.live.size() > 1)
    out += "CONFLICT: " + std::to_string(r.live.size()) +
           " live versions edited concurrently; an edit applies to the one marked '*'\n";
  else if (r.server_conflict)
    out += "CONFLICT: the server holds conflicting values for some fields (an admin resolves them)\n";
  if (!r.conflicted.empty()) {
    out += "fields in conflict:";
    for (const auto& f : r.conflicted) out += " " + f;
    out += "\n";
  }
  if (r.deletion_pending) out += "DELETION PENDING: deleted on one device, edited on another (an admin decides)\n";
  for (std::size_t i = 0; i < r.live.size(); ++i) {
    const store::LocalVersion& v = r.live[i];
    out += (i == r.current && r.live.size() > 1 ? "* " : "  ");
    out += "version " + v.dot.actor + ":" + std::to_string(v.dot.n) + " clock " + safe_dump(clock_json(v.clock)) +
           (v.is_local ? (v.is_acked ? " (local, acknowledged)" : " (local, not synced)") : "") +
           (v.deleted ? " DELETED" : "") + "\n";
    // The body pretty-printed, indented under its version.
    const std::string body = labels && labels->body ? labels->body(v.body) : safe_dump(parse_or_empty(v.body), 2);
    std::size_t start = 0;
    while (start < body.size()) {
      const std::size_t nl = body.find('\n', start);
      out += "    " + body.substr(start, nl == std::string::npos ? std::string::npos : nl - start) + "\n";
      start = nl == std::string::npos ? body.size() : nl + 1;
    }
  }
  return out;
}

}  // namespace akt::client

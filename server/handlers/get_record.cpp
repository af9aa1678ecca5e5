// GET /v1/records/{id}: one record with its live versions. GET /v1/records/{id}/history: every stored
// version of it, with who wrote each. Both answer the same for an unknown and an out-of-scope record, and
// redact bodies by the same rule (one function below).
#include "server/handlers/handlers.hpp"

#include <map>

#include <nlohmann/json.hpp>

#include "schema/store/store_tx.hpp"
#include "server/handlers/json_io.hpp"
#include "server/problem.hpp"
#include "sync/access.hpp"
#include "sync/uuid.hpp"
#include "sync/wire_json.hpp"

namespace akt::server {

namespace {

// The body of a version as `who` may read it (PROTOCOL §5.1, SECURITY.md §8).
std::string visible_body(const Principal& who, AppState& app, const std::string& form_id,
                         const std::string& record_id, const std::string& body) {
  if (who.role == sync::Role::kMeOfficer) return redact_for(app, who, form_id, record_id, body);
  return body;
}

// The record `record_id` if `who` may read it; otherwise the answer to give (400 or 404, the same 404
// whether the record is unknown or outside the caller's scope).
Result<sync::RecordState> readable_record(const std::string& record_id, const Principal& who, AppState& app,
                                          HttpResponse& refusal) {
  auto id = sync::parse_uuid(record_id);
  if (!id) {
    refusal = problem(400, "invalid_record_id", "record id must be a UUID");
    return Status::invalid_argument("record id");
  }
  auto r = app.store->record(sync::format_uuid(*id));
  if (!r.ok()) {
    refusal = problem_from(r.status(), "internal");
    return r.status();
  }
  // Out of scope reads as absent: the answer must not reveal that the record exists.
  if (!r->has_value() || (who.scope && !sync::in_scope(*who.scope, (*r)->scope, (*r)->form_id))) {
    refusal = problem(404, "record_not_found", "no record " + sync::format_uuid(*id));
    return Status::not_found("record");
  }
  return std::move(**r);
}

}  // namespace

HttpResponse handle_record(const std::string& record_id, const Principal& who, AppState& app) {
  HttpResponse refusal;
  auto r = readable_record(record_id, who, app, refusal);
  if (!r.ok()) return refusal;
  HttpResponse resp;
  redact_record_for(app, who, *r);
  sync::append_record_state(resp.body, *r);
  return resp;
}

HttpResponse handle_record_history(const std::string& record_id, const Principal& who, AppState& app) {
  using nlohmann::json;
  HttpResponse refusal;
  auto r = readable_record(record_id, who, app, refusal);
  if (!r.ok()) return refusal;
  std::vector<store::HistoryVersion> versions;
  std::map<std::string, json> authors;  // actor -> {kind, device, user}
  Status st = app.store->query([&](store::StoreReader& tx) {
    auto h = tx.record_history(r->record_id);
    if (!h.ok()) return h.status();
    versions = std::move(*h);
    bool resolvers_pending = false;
    for (const auto& hv : versions) {
      const std::string& actor = hv.version.dot.actor;
      if (authors.count(actor)) continue;
      json a{{"kind", "device"}, {"device", ""}, {"user", ""}};
      if (actor == app.store->server_actor()) {
        a["kind"] = "server";  // a merge, a hold, a settlement: the server replica
      } else {
        auto d = tx.device_of(actor);
        if (!d.ok()) return d.status();
        a["device"] = d->first;
        a["user"] = d->second;
        for (const auto& c : app.config.devices) {
          const auto id = sync::parse_uuid(c.actor);
          if (id && sync::format_uuid(*id) == actor) a["device"] = c.name, a["user"] = "config:" + c.name;
        }
        // Neither an enrolled nor a config device: a console user's replica (resolutions and reviews).
        if (a["user"] == "") a["kind"] = "resolver", resolvers_pending = true;
      }
      authors[actor] = std::move(a);
    }
    if (!resolvers_pending) return Status();
    auto users = tx.list_users();
    if (!users.ok()) return users.status();
    for (const auto& u : *users) {
      auto it = authors.find(resolver_actor_of(app, u));
      if (it != authors.end() && it->second["kind"] == "resolver") it->second["user"] = u.username;
    }
    return Status();
  });
  if (!st.ok()) return problem_from(st, "internal");
  json out = json::array();
  for (const auto& hv : versions) {
    const sync::Version& v = hv.version;
    json clock = json::object();
    for (const auto& [actor, n] : v.clock.entries()) clock[actor] = n;
    json parents = json::array();
    for (const auto& p : v.parents) parents.push_back({{"actor", p.actor}, {"n", p.n}});
    json author = authors[v.dot.actor];
    author["actor"] = v.dot.actor;
    out.push_back({{"dot", {{"actor", v.dot.actor}, {"n", v.dot.n}}},
                   {"clock", clock},
                   {"parents", parents},
                   {"changed", redact_paths_for(app, who, r->form_id, v.changed)},
                   {"deleted", v.deleted},
                   {"live", hv.live},
                   {"form_version", v.form_version},
                   {"body", json::parse(visible_body(who, app, r->form_id, r->record_id, v.body), nullptr, false)},
                   {"author", author},
                   {"device_time", v.device_time},
                   {"server_time", v.server_time}});
  }
  return json_response(200, {{"v", 1}, {"record", r->record_id}, {"form", r->form_id}, {"versions", out}});
}

}  // namespace akt::server

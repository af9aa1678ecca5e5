// GET /v1/records/{id}: one record with its live versions.
#include "server/handlers/handlers.hpp"

#include "server/problem.hpp"
#include "sync/access.hpp"
#include "sync/uuid.hpp"
#include "sync/wire_json.hpp"

namespace akt::server {

HttpResponse handle_record(const std::string& record_id, const Principal& who, AppState& app) {
  auto id = sync::parse_uuid(record_id);
  if (!id) return problem(400, "invalid_record_id", "record id must be a UUID");
  auto r = app.store->record(sync::format_uuid(*id));
  if (!r.ok()) return problem_from(r.status(), "internal");
  // Out of scope reads as absent: the answer must not reveal that the record exists.
  if (!r->has_value() || (who.scope && !sync::in_scope(*who.scope, (*r)->scope, (*r)->form_id)))
    return problem(404, "record_not_found", "no record " + sync::format_uuid(*id));
  HttpResponse resp;
  redact_record_for(app, who, **r);
  sync::append_record_state(resp.body, **r);
  return resp;
}

}  // namespace akt::server

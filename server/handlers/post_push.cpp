// POST /v1/push: one batch of edits from one device (DESIGN §3). The answer is sent only after the
// batch's COMMIT returned; a replay of the batch gets the stored answer byte for byte.
#include "server/handlers/handlers.hpp"

#include "server/problem.hpp"
#include "sync/wire_json.hpp"

namespace akt::server {

HttpResponse handle_push(const HttpRequest& req, const Principal& who, AppState& app) {
  sync::WireLimits lim;
  lim.max_edits = app.config.limits.max_edits_per_batch;
  lim.max_body_bytes = app.config.limits.max_edit_body_bytes;
  auto batch = sync::decode_push_request(req.body, lim);
  if (!batch.ok()) {
    if (batch.status().code() == Status::Code::kTooLarge)
      return problem(413, "batch_too_large", batch.status().message());
    const bool syntax = batch.status().message().rfind("$: malformed", 0) == 0 ||
                        batch.status().message().find("nests deeper") != std::string::npos;
    return problem(400, syntax ? "invalid_json" : "invalid_batch", batch.status().message());
  }
  store::PushInput in{who.device_actor, &*batch, app.now_ms(), who.scope ? &*who.scope : nullptr};
  auto out = app.store->push(in);
  if (!out.ok()) return problem_from(out.status(), "batch_id_reused");
  HttpResponse r;
  r.body = std::move(out->response);
  if (out->replayed) r.headers.emplace_back("Aktsync-Replayed", "true");
  return r;
}

}  // namespace akt::server

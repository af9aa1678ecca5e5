// GET /healthz: liveness and the store's identity. No authentication; reveals no data.
#include "server/handlers/handlers.hpp"

#include <nlohmann/json.hpp>

namespace akt::server {

HttpResponse handle_health(AppState& app) {
  HttpResponse r;
  r.body = nlohmann::json{{"status", app.stopping ? "stopping" : "ok"}, {"epoch", app.store->epoch()}}.dump();
  if (app.stopping) r.status = 503;
  return r;
}

}  // namespace akt::server

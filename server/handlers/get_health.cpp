// GET /healthz: liveness and the store's identity; GET /readyz: readiness (database reachable,
// migrations done, disk space). No authentication; reveal no data. /healthz stays cheap (no I/O).
#include "server/handlers/handlers.hpp"

#include <sys/statvfs.h>

#include <nlohmann/json.hpp>

#include "schema/store/store_tx.hpp"

namespace akt::server {

HttpResponse handle_health(AppState& app) {
  HttpResponse r;
  r.body = nlohmann::json{{"status", app.stopping ? "stopping" : "ok"}, {"epoch", app.store->epoch()}}.dump();
  if (app.stopping) r.status = 503;
  return r;
}

HttpResponse handle_ready(AppState& app) {
  nlohmann::json checks;
  bool ready = !app.stopping;
  // The database answers a read on a reader connection, and its schema is the one this server knows.
  bool current = false;
  Status st = app.store->query([&](store::StoreReader& tx) {
    auto r = tx.schema_is_current();
    if (!r.ok()) return r.status();
    current = *r;
    return Status();
  });
  checks["database"] = st.ok() ? "ok" : "unreachable";
  checks["migrations"] = !st.ok() ? "unknown" : current ? "ok" : "pending";
  ready = ready && st.ok() && current;
  struct statvfs fs {};
  if (::statvfs(app.config.data_dir.c_str(), &fs) == 0) {
    const std::uint64_t free = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
    checks["disk"] = free >= app.config.ready_min_free_disk_bytes ? "ok" : "low";
    ready = ready && free >= app.config.ready_min_free_disk_bytes;
  } else {
    checks["disk"] = "unknown";
    ready = false;
  }
  HttpResponse r;
  r.status = ready ? 200 : 503;
  r.body = nlohmann::json{{"status", app.stopping ? "stopping" : ready ? "ready" : "not_ready"}, {"checks", checks}}
               .dump();
  if (!ready) r.headers.emplace_back("Retry-After", "5");
  return r;
}

}  // namespace akt::server

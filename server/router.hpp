// Maps a request to its handler. A plain synchronous function, run on a worker thread, never on an
// I/O thread (it may block on SQLite). No Beast here.
#pragma once

#include "server/app_state.hpp"
#include "server/http_types.hpp"

namespace akt::server {

HttpResponse route(const HttpRequest& request, AppState& app);

}  // namespace akt::server

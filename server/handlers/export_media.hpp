// Exports with their photo files (EXPORTS.md §1.2). Internal to the export handler.
#pragma once

#include <string>

#include "schema/export/exporter.hpp"
#include "server/app_state.hpp"
#include "server/http_types.hpp"

namespace akt::server {

// A ZIP answer holding `dataset`'s streamed body as the entry `entry_name`, then every photo file that
// the records of a pass of `passes` reference (`media/<record id>/<field>.<jpg|png|webp>`), then
// `media/missing.csv` (record_id, field, digest) for the photos the server does not hold yet. The caller
// decides who may have the files (bodies are used as the pass gives them, unredacted).
HttpResponse with_media(HttpResponse dataset, const std::string& entry_name, exports::OpenPass passes, AppState& app);

}  // namespace akt::server

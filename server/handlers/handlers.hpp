// Endpoint handlers (docs/PROTOCOL.md). Each receives an authenticated principal where the route
// requires one; bodies are already decompressed.
#pragma once

#include <map>
#include <string>

#include "server/app_state.hpp"
#include "server/http_types.hpp"

namespace akt::server {

using Query = std::map<std::string, std::string>;

HttpResponse handle_health(AppState& app);
HttpResponse handle_push(const HttpRequest& req, const Principal& who, AppState& app);
HttpResponse handle_changes(const Query& query, bool allow_wait, const Principal& who, AppState& app);
HttpResponse handle_record(const std::string& record_id, const Principal& who, AppState& app);

// Cursor text "<epoch>-<seq>"; the empty cursor is the start of the feed.
std::string make_cursor(const std::string& epoch, std::int64_t seq);

}  // namespace akt::server

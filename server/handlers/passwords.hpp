// Password change and reset, team membership (see passwords.cpp).
#pragma once

#include <string>
#include <string_view>

#include "server/app_state.hpp"
#include "server/http_types.hpp"

namespace akt::server {

// POST /v1/me/password {old_password, new_password}: 204; other sessions of the user are revoked.
HttpResponse handle_change_password(const HttpRequest& req, const Principal& who, AppState& app);
// POST /v1/admin/users/{u}/password {password} or {one_time: true}: all sessions of the user revoked.
HttpResponse handle_reset_password(const HttpRequest& req, const std::string& username, const Principal& who,
                                   AppState& app);
// PUT /v1/admin/users/{u}/supervisor {supervisor: name | null}.
HttpResponse handle_set_supervisor(const HttpRequest& req, const std::string& username, const Principal& who,
                                   AppState& app);

// The hash a login checks a stored hash against; `one_time` tells whether it was an unused one-time one.
std::string_view login_hash(std::string_view stored, bool& one_time);
// The stored form of a one-time password once it has logged in (no longer logs in).
std::string used_one_time_hash(std::string_view stored);

}  // namespace akt::server

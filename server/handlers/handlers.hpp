// Endpoint handlers (docs/PROTOCOL.md). Each receives an authenticated principal where the route
// requires one (the router has checked the role); bodies are already decompressed.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "schema/forms/messages.hpp"
#include "server/app_state.hpp"
#include "server/http_types.hpp"

namespace akt::store {
class FormRules;
class StoreReader;
class StoreWriter;
struct PushInput;
struct User;
}

namespace akt::server {

using Query = std::map<std::string, std::string>;

// Sync (docs/PROTOCOL.md §4-6).
HttpResponse handle_health(AppState& app);
// GET /readyz: readiness for load balancers (database reachable, migrations done, disk space).
HttpResponse handle_ready(AppState& app);
// GET /metrics (PROTOCOL §3.2): the Prometheus text exposition; the router checks who may ask.
HttpResponse handle_metrics(AppState& app);
HttpResponse handle_push(const HttpRequest& req, const Principal& who, AppState& app);
HttpResponse handle_changes(const Query& query, bool allow_wait, const Principal& who, AppState& app);
HttpResponse handle_record(const std::string& record_id, const Principal& who, AppState& app);
// GET /v1/records/{id}/history: every stored version, scoped and redacted as handle_record.
HttpResponse handle_record_history(const std::string& record_id, const Principal& who, AppState& app);

// Accounts.
HttpResponse handle_login(const HttpRequest& req, AppState& app);
HttpResponse handle_logout(const Principal& who, const HttpRequest& req, AppState& app);
HttpResponse handle_me(const Principal& who);
HttpResponse handle_enrol(const HttpRequest& req, AppState& app);

// Administration.
HttpResponse handle_list_users(AppState& app);
HttpResponse handle_create_user(const HttpRequest& req, const Principal& who, AppState& app);
HttpResponse handle_set_role(const HttpRequest& req, const std::string& username, const Principal& who, AppState& app);
HttpResponse handle_set_assignments(const HttpRequest& req, const std::string& username, const Principal& who,
                                    AppState& app);
HttpResponse handle_set_disabled(const HttpRequest& req, const std::string& username, bool disabled,
                                 const Principal& who, AppState& app);
HttpResponse handle_create_enrolment(const HttpRequest& req, const Principal& who, AppState& app);
// PUT /v1/admin/users/{name}/special_category {"granted": bool}: the special-category grant (audited).
HttpResponse handle_set_special_category(const HttpRequest& req, const std::string& username, const Principal& who,
                                         AppState& app);
HttpResponse handle_list_devices(AppState& app);
HttpResponse handle_revoke_device(const HttpRequest& req, const std::string& actor, const Principal& who,
                                  AppState& app);
HttpResponse handle_audit(const Query& query, AppState& app);
HttpResponse handle_quarantine(const HttpRequest& req, const Query& query, const Principal& who, AppState& app);

// Forms and the quarantine.
HttpResponse handle_list_forms(const Principal& who, bool all_versions, AppState& app);
// GET /v1/shared-definitions: the shared choice lists forms name as "L:..." and the common header's fields
// (labels in every language), PROTOCOL §10.12.
HttpResponse handle_shared_definitions();
HttpResponse handle_get_form(const std::string& form_id, std::string_view version, const Principal& who, AppState& app);
HttpResponse handle_upload_form(const HttpRequest& req, const Principal& who, AppState& app);
HttpResponse handle_form_transition(const HttpRequest& req, const std::string& form_id, std::string_view version,
                                    bool publish, const Principal& who, AppState& app);
HttpResponse handle_release(const HttpRequest& req, std::string_view id, const Principal& who, AppState& app);
HttpResponse handle_bulk_review(const HttpRequest& req, const Principal& who, AppState& app);
// GET /v1/admin/records: the submissions list, filtered and keyset-paged, scoped and redacted by role.
HttpResponse handle_list_records(const Query& query, const Principal& who, AppState& app);
HttpResponse handle_discard(const HttpRequest& req, std::string_view id, const Principal& who, AppState& app);
// Gives a push the forms' merge policies and, when validation is on, the post-merge check (computed
// fields recomputed, rules broken by a merge become `semantic` entries).
// `lang`: the language of the messages of an older-version edit's rejection (PROTOCOL §4.4).
void use_forms(store::PushInput& in, AppState& app, forms::Lang lang = forms::Lang::kEn);
// The form rules handed to the store at its opening (store::FormRules), over the form registry of the
// AppState `app` will point to (it is made after the store).
std::shared_ptr<const store::FormRules> make_form_rules(std::shared_ptr<std::weak_ptr<AppState>> app);
// Checks each edit against its published form version (one slot per edit; empty when it passes).
// With `keys`, also fills each valid edit's domain uniqueness key (the form's unique_key values as a JSON
// array text; "" when the form has none or a value is missing). Field messages are in `lang` (codes are not).
std::vector<std::optional<sync::EditRejection>> validate_edits(const std::vector<sync::Edit>& edits, AppState& app,
                                                               std::vector<std::string>* keys = nullptr,
                                                               forms::Lang lang = forms::Lang::kEn);

// The scope fields of `form` in the edit's body (`municipality`, `community`, `component` when the form
// has them) against the scope the edit carries: a `scope_mismatch` rejection when they differ.
std::optional<sync::EditRejection> check_scope_fields(const forms::FormDef& form, const sync::Edit& e);

// The conflict inbox.
HttpResponse handle_list_conflicts(const Query& query, const Principal& who, AppState& app);
HttpResponse handle_get_conflict(std::string_view id, const Principal& who, AppState& app);
HttpResponse handle_resolve_conflict(const HttpRequest& req, std::string_view id, const Principal& who, AppState& app);
// POST /v1/admin/records/{id}/review: approve (lock), return or exclude a record (admin, M&E, supervisor).
HttpResponse handle_review_record(const HttpRequest& req, const std::string& record_id, const Principal& who,
                                  AppState& app);

// M&E datasets.
HttpResponse handle_export(const std::string& form_id, const Query& query, const Principal& who, AppState& app,
                           const std::string& remote = {});
HttpResponse handle_indicators(const Query& query, const Principal& who, AppState& app);
// What a reader may see (one place for the feed, single records, history and exports; SECURITY.md §8):
// The body as `who` may see it: sensitive fields removed or pseudonymised by role and the
// special-category grant.
std::string redact_for(AppState& app, const Principal& who, const std::string& form_id, const std::string& record_id,
                       std::string_view body);
// The scope community as `who` may see it (a pseudonym for an M&E officer without the grant).
std::string redact_community_for(const AppState& app, const Principal& who, std::string_view community);
// A record's live bodies and scope, and the field paths it names (`changed`, `conflicted`,
// `pending_upload`), as `who` may see them.
void redact_record_for(AppState& app, const Principal& who, sync::RecordState& r);
// The field paths `who` may see of a record of `form_id`: a path of a field removed from their view goes
// (it would tell that the hidden field holds something, e.g. a photo of people on its way).
std::vector<std::string> redact_paths_for(AppState& app, const Principal& who, const std::string& form_id,
                                          std::vector<std::string> paths);

// Attachments (PROTOCOL §14): resumable uploads by devices, the missing-digests query, blob reads.
HttpResponse handle_create_upload(const HttpRequest& req, const Principal& who, AppState& app);
HttpResponse handle_upload_offset(const std::string& id, const Principal& who, AppState& app);
HttpResponse handle_upload_append(const HttpRequest& req, const std::string& id, const Principal& who, AppState& app);
HttpResponse handle_missing_blobs(const HttpRequest& req, const Principal& who, AppState& app);
// `req`: its Range header (a single range: 206).
HttpResponse handle_get_blob(const HttpRequest& req, const std::string& digest, const Principal& who, AppState& app);
// Removes attachment files that no stored version references and that are older than
// attachments.gc_grace_ms; returns how many. Runs at start and at most hourly on upload creation.
Result<std::size_t> collect_unreferenced_blobs(AppState& app);

// The web console's static files (§13.1): an answer for `/`, `/console` and `/console/...`, nothing
// for other paths.
std::optional<HttpResponse> handle_console(const HttpRequest& req, std::string_view path);
// The tablet app (PROTOCOL §13.5): /app -> /app/, /app/{file}. nullopt for any other path.
std::optional<HttpResponse> handle_app(const HttpRequest& req, std::string_view path);

// Field-team status (§13.2-13.4).
// What a device reports in `X-Akt-Client: app=aktsync/1.2; unsynced=14`. Items that do not parse are
// ignored one by one (a report never fails the sync it travels with).
constexpr std::size_t kClientHeaderMax = 256;  // a longer header is ignored whole
constexpr std::size_t kClientAppMax = 64;
struct ClientReport {
  std::string app;             // "" = not reported (or invalid)
  std::int64_t unsynced = -1;  // -1 = not reported (or invalid)
};
ClientReport parse_client_header(std::string_view header);
// Stores a device's report (push and changes requests of device tokens); no-op without the header.
void note_client_report(const HttpRequest& req, const Principal& who, AppState& app);
HttpResponse handle_stats(const Principal& who, AppState& app);

// Shared helpers.
// "YYYY-MM-DD" (a whole UTC day) or "YYYY-MM-DDTHH:MM:SS[.mmm]Z" (an instant) as [start, end) in ms;
// nullopt when malformed.
std::optional<std::pair<std::int64_t, std::int64_t>> parse_utc_time(std::string_view s);
// Writes an audit entry inside the caller's write transaction (SyncStore::update).
Status audit(store::StoreWriter& tx, AppState& app, const std::string& username, const std::string& action,
             const std::string& target, const nlohmann::json& detail, const std::string& remote);
nlohmann::json assignments_json(const std::vector<sync::Assignment>& assignments);
std::string client_address(const HttpRequest& req);
// Runs `fn` on the user named `username` inside a write transaction and answers `ok`; 404
// `user_not_found` when there is none.
HttpResponse with_user(AppState& app, const std::string& username,
                       const std::function<Status(store::StoreWriter&, const store::User&)>& fn, HttpResponse ok);
// The replica id under which `user`'s resolutions and reviews are written: stable per user and server,
// never a device's. A user created since migration 11 has a random one (stored with the user); a user
// created before keeps the one derived from the server's actor id and the username, which its versions
// already carry (and which enrolment refuses since the user exists).
std::string resolver_actor_of(const AppState& app, const store::User& user);
// The same for a username: "" when there is no such user (a static config device, or a user deleted).
Result<std::string> resolver_actor_of(store::StoreReader& tx, const AppState& app, const std::string& username);

}  // namespace akt::server

// Form definitions (docs/PROTOCOL.md §10): admins upload drafts, publish and retire versions; devices
// list and fetch the published forms of their scope; admins release quarantined edits after a fix.
#include "server/handlers/handlers.hpp"

#include <charconv>

#include "schema/forms/choice_list.hpp"
#include "schema/forms/form_parser.hpp"
#include "schema/store/store_tx.hpp"
#include "server/handlers/json_io.hpp"
#include "server/problem.hpp"
#include "sync/wire_json.hpp"

namespace akt::server {

namespace {

bool parse_version(std::string_view s, std::int64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out >= 1;
}

nlohmann::json form_json(const store::FormRow& r) {
  return {{"form_id", r.form_id},         {"version", r.version},           {"status", r.status},
          {"title", r.title},             {"created_by", r.created_by},     {"created_at", r.created_at},
          {"published_at", r.published_at}, {"retired_at", r.retired_at}};
}

bool form_in_scope(const Principal& who, const std::string& form_id) {
  if (!who.scope) return true;
  for (const auto& a : *who.scope)
    if (a.form_id == "*" || a.form_id == form_id) return true;
  return false;
}

}  // namespace

HttpResponse handle_list_forms(const Principal& who, bool all_versions, AppState& app) {
  nlohmann::json out = nlohmann::json::array();
  Status st = app.store->query([&](store::StoreReader& tx) {
    auto rows = tx.list_forms(false);
    if (!rows.ok()) return rows.status();
    for (const auto& r : *rows) {
      if (!all_versions && (r.status != "published" || !form_in_scope(who, r.form_id))) continue;
      out.push_back(form_json(r));
    }
    return Status();
  });
  if (!st.ok()) return problem_from(st, "internal");
  return json_response(200, {{"v", 1}, {"forms", out}});
}

HttpResponse handle_get_form(const std::string& form_id, std::string_view version_text, const Principal& who,
                             AppState& app) {
  std::int64_t version = 0;
  if (!parse_version(version_text, version)) return problem(400, "invalid_version", "version must be an integer >= 1");
  std::optional<store::FormRow> row;
  Status st = app.store->query([&](store::StoreReader& tx) {
    auto r = tx.get_form(form_id, version);
    if (!r.ok()) return r.status();
    row = std::move(*r);
    return Status();
  });
  if (!st.ok()) return problem_from(st, "internal");
  const bool visible = row && (who.role == sync::Role::kAdmin || (row->status != "draft" && form_in_scope(who, form_id)));
  if (!visible) return problem(404, "form_not_found", "no form " + form_id + " version " + std::to_string(version));
  HttpResponse r;
  r.body = row->definition;  // as uploaded (validated when stored)
  r.headers.emplace_back("Aktsync-Form-Status", row->status);
  return r;
}

HttpResponse handle_shared_definitions() {
  nlohmann::json lists = nlohmann::json::object();
  for (const auto& [name, list] : forms::builtin_choice_lists()) {
    nlohmann::json& out = lists[name] = nlohmann::json::array();
    for (const auto& c : list.choices)
      out.push_back({{"code", c.code},
                     {"label", {{"en", c.label.en}, {"sq", c.label.sq}, {"sr", c.label.sr}, {"sr-Latn", c.label.sr_latn}}}});
  }
  HttpResponse r;
  r.body = nlohmann::json{{"choice_lists", std::move(lists)}, {"header_fields", nlohmann::json::parse(forms::common_header_json())}, {"v", 1}}
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

HttpResponse handle_upload_form(const HttpRequest& req, const Principal& who, AppState& app) {
  auto parsed = forms::parse_form_detailed(req.body);
  if (!parsed.form) {
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& e : parsed.errors) errors.push_back({{"path", e.path}, {"code", e.code}, {"message", e.message}});
    HttpResponse r = problem(400, "invalid_form", std::to_string(parsed.errors.size()) + " problem(s) in the definition");
    nlohmann::json body = nlohmann::json::parse(r.body);
    body["errors"] = errors;
    r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return r;
  }
  store::FormRow row;
  row.form_id = parsed.form->form_id;
  row.version = parsed.form->version;
  row.title = parsed.form->title.en;
  row.definition = req.body;
  row.created_by = who.username;
  row.created_at = app.now_ms();
  bool published = false;
  Status st = app.store->update([&](store::StoreWriter& tx) {
    Status put = tx.put_form_draft(row);
    published = put.code() == Status::Code::kConflict;
    AKT_TRY(put);
    return audit(tx, app, who.username, "form_uploaded", row.form_id + " v" + std::to_string(row.version),
                 nlohmann::json::object(), req.remote);
  });
  if (published) return problem(409, "form_version_published", st.message());
  if (!st.ok()) return problem_from(st, "internal");
  row.status = "draft";
  return json_response(201, {{"v", 1}, {"form", form_json(row)}});
}

HttpResponse handle_form_transition(const HttpRequest& req, const std::string& form_id, std::string_view version_text,
                                    bool publish, const Principal& who, AppState& app) {
  std::int64_t version = 0;
  if (!parse_version(version_text, version)) return problem(400, "invalid_version", "version must be an integer >= 1");
  std::optional<store::FormRow> row;
  Status::Code failure = Status::Code::kOk;
  Status st = app.store->update([&](store::StoreWriter& tx) {
    Status t = publish ? tx.publish_form(form_id, version, app.now_ms())
                       : tx.retire_form(form_id, version, app.now_ms());
    failure = t.code();
    AKT_TRY(t);
    auto r = tx.get_form(form_id, version);
    if (!r.ok()) return r.status();
    row = std::move(*r);
    return audit(tx, app, who.username, publish ? "form_published" : "form_retired",
                 form_id + " v" + std::to_string(version), nlohmann::json::object(), req.remote);
  });
  if (failure == Status::Code::kNotFound) return problem(404, "form_not_found", st.message());
  if (failure == Status::Code::kConflict) return problem(409, "invalid_transition", st.message());
  if (!st.ok()) return problem_from(st, "internal");
  if (publish) {
    auto form = forms::parse_form(row->definition);
    if (!form.ok()) return problem(500, "internal", "a stored definition no longer parses");
    app.forms.put(std::make_shared<const forms::FormDef>(std::move(*form)));
  }
  return json_response(200, {{"v", 1}, {"form", form_json(*row)}});
}

HttpResponse handle_discard(const HttpRequest& req, std::string_view id_text, const Principal& who, AppState& app) {
  std::int64_t id = 0;
  if (!parse_version(id_text, id)) return problem(400, "invalid_id", "quarantine id must be a positive integer");
  std::optional<store::QuarantineEntry> entry;
  Status st = app.store->update([&](store::StoreWriter& tx) {
    auto r = tx.get_quarantine_entry(id);
    if (!r.ok()) return r.status();
    entry = std::move(*r);
    if (!entry || entry->released_at || entry->discarded_at) return Status();
    AKT_TRY(tx.mark_discarded(id, app.now_ms()));
    return audit(tx, app, who.username, "quarantine_discarded", std::to_string(id),
                 {{"record", entry->record_id}, {"code", entry->code}}, req.remote);
  });
  if (!st.ok()) return problem_from(st, "internal");
  if (!entry) return problem(404, "quarantine_entry_not_found", "no quarantined edit " + std::to_string(id));
  if (entry->released_at) return problem(409, "already_released", "this edit was released before");
  if (entry->discarded_at) return problem(409, "already_discarded", "this edit was discarded before");
  return json_response(200, {{"v", 1}, {"id", id}, {"discarded", true}});
}

HttpResponse handle_release(const HttpRequest& req, std::string_view id_text, const Principal& who, AppState& app) {
  std::int64_t id = 0;
  if (!parse_version(id_text, id)) return problem(400, "invalid_id", "quarantine id must be a positive integer");
  std::optional<store::QuarantineEntry> entry;
  std::optional<std::vector<sync::Assignment>> scope;  // the device's user's scope today
  Status st = app.store->query([&](store::StoreReader& tx) {
    auto r = tx.get_quarantine_entry(id);
    if (!r.ok()) return r.status();
    entry = std::move(*r);
    if (!entry) return Status();
    auto s = tx.device_user_scope(entry->device);
    if (!s.ok()) return s.status();
    scope = std::move(*s);
    return Status();
  });
  if (!st.ok()) return problem_from(st, "internal");
  if (!entry) return problem(404, "quarantine_entry_not_found", "no quarantined edit " + std::to_string(id));
  if (entry->released_at) return problem(409, "already_released", "this edit was released before");
  if (entry->discarded_at) return problem(409, "already_discarded", "this edit was discarded");
  // Re-run the edit as the device that sent it, in a batch of its own: one batch id per attempt, as an
  // earlier attempt's stored answer must not be replayed.
  const std::string batch_text = "{\"v\":1,\"batch_id\":\"release-" + std::to_string(id) + "-" +
                                 std::to_string(app.now_ms()) + "\",\"edits\":[" + entry->edit_json + "]}";
  auto batch = sync::decode_push_request(batch_text, sync::WireLimits{});
  if (!batch.ok()) return problem(500, "internal", "a quarantined edit no longer decodes");
  std::vector<std::string> keys;
  // A rejection's field messages in the admin's language (Accept-Language, as for a push: PROTOCOL §4.4).
  const forms::Lang lang = forms::negotiate_language(req.header("accept-language"));
  const auto prechecks = validate_edits(batch->edits, app, &keys, lang);
  // Checked against the scope the device's user has now, as a push from that device would be.
  store::PushInput in{entry->device, &*batch, app.now_ms(), scope ? &*scope : nullptr, &prechecks};
  use_forms(in, app, lang);
  in.unique_keys = &keys;
  auto out = app.store->push(in);
  if (!out.ok()) return problem_from(out.status(), "release_conflict");
  auto resp = sync::decode_push_response(out->response);
  if (!resp.ok() || resp->results.empty()) return problem(500, "internal", "unreadable release answer");
  const auto& result = resp->results.front();
  if (result.outcome == sync::Outcome::kRejected) {
    HttpResponse r = problem(409, "still_rejected", "the edit is still rejected: " + result.error_code);
    nlohmann::json body = nlohmann::json::parse(r.body);
    body["result"] = nlohmann::json::parse(out->response)["results"][0];
    r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return r;
  }
  st = app.store->update([&](store::StoreWriter& tx) {
    AKT_TRY(tx.mark_released(id, app.now_ms()));
    return audit(tx, app, who.username, "quarantine_released", std::to_string(id),
                 {{"record", entry->record_id}, {"outcome", sync::to_string(result.outcome)}}, req.remote);
  });
  if (!st.ok()) return problem_from(st, "internal");
  return json_response(200, {{"v", 1}, {"id", id}, {"result", nlohmann::json::parse(out->response)["results"][0]}});
}

}  // namespace akt::server

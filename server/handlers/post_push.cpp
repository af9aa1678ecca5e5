// POST /v1/push: one batch of edits from one device (DESIGN §3). Edits are validated against their
// published form version here, in parallel on the worker pool; the store then applies the batch and
// answers only after its COMMIT returned. A replay of the batch gets the stored answer byte for byte.
#include "server/handlers/handlers.hpp"

#include <algorithm>
#include <ctime>

#include <nlohmann/json.hpp>

#include "schema/forms/older_version.hpp"
#include "schema/store/form_rules.hpp"
#include "schema/forms/validator.hpp"
#include "server/handlers/push_answer.hpp"
#include "server/problem.hpp"
#include "sync/wire_json.hpp"

namespace akt::server {

namespace {

// Kosovo's calendar day (Europe/Belgrade: CET, CEST from the last Sunday of March to the last Sunday
// of October, switching at 01:00 UTC) by the server clock; date rules never use the device clock.
std::string server_today(std::int64_t now_ms) {
  auto last_sunday_utc = [](int year, int month) {  // 01:00 UTC on the month's last Sunday
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = month;  // the first day of the next month...
    tm.tm_mday = 1;
    std::time_t t = timegm(&tm) - 86400;  // ...minus one day: the month's last day
    std::tm last{};
    gmtime_r(&t, &last);
    return t - last.tm_wday * 86400 + 3600;
  };
  const std::time_t now = static_cast<std::time_t>(now_ms / 1000);
  std::tm utc{};
  gmtime_r(&now, &utc);
  const int year = utc.tm_year + 1900;
  const bool summer = now >= last_sunday_utc(year, 3) && now < last_sunday_utc(year, 10);
  const std::time_t local = now + (summer ? 7200 : 3600);
  std::tm tm{};
  gmtime_r(&local, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

// The top-level keys a field's rules read: its own key, and the keys its relevance, checks and
// calculation refer to (an item field counts as its repeat group).
std::vector<std::string> involved_keys(const forms::FormDef& form, const std::string& path) {
  const std::string top = path.substr(0, path.find_first_of("[."));
  std::vector<std::string> out{top};
  const std::size_t dot = path.rfind('.');
  const std::string leaf = dot == std::string::npos ? top : path.substr(dot + 1);
  const forms::FieldDef* f = form.find(leaf);
  if (f == nullptr) return out;
  auto top_of = [&form](const std::string& key) {
    const forms::FieldDef* d = form.find(key);
    return d != nullptr && !d->repeat.empty() ? d->repeat : key;
  };
  auto add = [&](const forms::Expression& e) {
    for (const std::string& r : e.refs) out.push_back(top_of(r));
  };
  if (f->relevant) add(*f->relevant);
  if (f->calculate) add(*f->calculate);
  for (const forms::Check& c : f->checks) add(c.expr);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// The store's form rules (store::FormRules), over the registry of the AppState behind `app` once it exists.
class RegistryFormRules final : public store::FormRules {
 public:
  explicit RegistryFormRules(std::shared_ptr<std::weak_ptr<AppState>> app) : app_(std::move(app)) {}

  sync::MergeSchema schema_for(const std::string& form, std::int64_t version) const override {
    auto app = app_->lock();
    return app ? app->forms.schema_for(form, version) : sync::MergeSchema{};
  }

  bool checks_merged() const override {
    auto app = app_->lock();
    return app && app->config.forms.validate;
  }

  std::vector<store::RuleBreak> check_merged(const std::string& form_id, std::int64_t version, std::string& body,
                                             std::int64_t now_ms) const override {
    std::vector<store::RuleBreak> out;
    auto app = app_->lock();
    if (!app) return out;
    auto form = app->forms.get(form_id, version);
    if (!form) return out;
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (!j.is_object()) return out;
    const forms::ValidationContext ctx{server_today(now_ms)};
    if (forms::recompute_calculated(*form, j, ctx)) body = j.dump();
    for (const auto& e : forms::validate_record(*form, j, ctx))
      out.push_back({e.path, e.code, e.message, involved_keys(*form, e.path)});
    return out;
  }

  // An edit filled with an older form version on a record a later version wrote (PROTOCOL §4.4).
  std::optional<store::OlderFormEdit> adapt_older(const sync::Edit& e, std::int64_t base_version,
                                                  const std::string& base_body, const std::string& lang_tag,
                                                  std::int64_t now_ms) const override {
    auto app = app_->lock();
    if (!app) return std::nullopt;
    auto older = app->forms.get(e.form_id, e.form_version);
    auto newer = app->forms.get(e.form_id, base_version);
    if (!older || !newer) return std::nullopt;
    const auto body = nlohmann::json::parse(e.body, nullptr, false);
    const auto base = nlohmann::json::parse(base_body, nullptr, false);
    if (!body.is_object() || !base.is_object()) return std::nullopt;
    nlohmann::json out = forms::carry_newer_answers(*older, base, body);
    store::OlderFormEdit r;
    r.changed = forms::paths_defined(*older, e.changed);
    if (app->config.forms.validate) {
      // The record ends at the later version: its computed fields follow the edit, its rules apply.
      const forms::ValidationContext ctx{server_today(now_ms), forms::negotiate_language(lang_tag)};
      forms::recompute_calculated(*newer, out, ctx);
      const auto errors = forms::validate_record(*newer, out, ctx);
      if (!errors.empty()) {
        nlohmann::json fields = nlohmann::json::array();
        for (const auto& fe : errors) fields.push_back({{"path", fe.path}, {"code", fe.code}, {"message", fe.message}});
        r.rejection = sync::EditRejection{
            "invalid_record",
            std::to_string(errors.size()) + " answer(s) break the rules of " + e.form_id + " v" +
                std::to_string(base_version) + ", the version of the record this edit (filled with v" +
                std::to_string(e.form_version) + ") was made on; see fields",
            fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
      }
    }
    r.body = out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return r;
  }

 private:
  std::shared_ptr<std::weak_ptr<AppState>> app_;
};

}  // namespace

std::shared_ptr<const store::FormRules> make_form_rules(std::shared_ptr<std::weak_ptr<AppState>> app) {
  return std::make_shared<const RegistryFormRules>(std::move(app));
}

void use_forms(store::PushInput& in, AppState& app, forms::Lang lang) {
  // Attachment references: indexed, and the files the server lacks listed per record (PROTOCOL §14.5).
  if (app.blobs) in.blob_exists = [&app](const std::string& digest) { return app.blobs->has(digest); };
  // The form rules are the store's (make_form_rules); only the language of their messages is the request's.
  in.lang = std::string(forms::lang_tag(lang));
}

std::vector<std::optional<sync::EditRejection>> validate_edits(const std::vector<sync::Edit>& edits, AppState& app,
                                                               std::vector<std::string>* keys, forms::Lang lang) {
  std::vector<std::optional<sync::EditRejection>> out(edits.size());
  if (keys) keys->assign(edits.size(), std::string());
  if (!app.config.forms.validate) return out;
  const forms::ValidationContext ctx{server_today(app.now_ms()), lang};
  for (std::size_t i = 0; i < edits.size(); ++i) {
    const sync::Edit& e = edits[i];
    auto form = app.forms.get(e.form_id, e.form_version);
    if (!form) {
      // Maybe published on another server of the same database since this one loaded its forms.
      app.forms.catch_up(*app.store);
      form = app.forms.get(e.form_id, e.form_version);
    }
    if (!form) {
      out[i] = sync::EditRejection{"unknown_form_version",
                                   "form '" + e.form_id + "' version " + std::to_string(e.form_version) +
                                       " is not published on this server",
                                   ""};
      continue;
    }
    if (e.deleted) continue;  // a tombstone carries no answers to check
    if ((out[i] = check_scope_fields(*form, e))) continue;
    auto body = nlohmann::json::parse(e.body, nullptr, false);
    auto errors = forms::validate_record(*form, body, ctx);
    // Answers for fields a later version of the form defines were pulled from a record that version
    // wrote: not the edit's own, and refused only when the record turns out not to be of that version.
    std::vector<const forms::FormDef*> later;
    std::vector<std::shared_ptr<const forms::FormDef>> keep_alive;
    // A later version that defines those answers may be newer than this server's forms (published on
    // another server of the same database).
    if (!errors.empty() && app.forms.versions_of(e.form_id).back()->version <= e.form_version)
      app.forms.catch_up(*app.store);
    if (!errors.empty())
      for (auto& f : app.forms.versions_of(e.form_id))
        if (f->version > e.form_version) later.push_back(f.get()), keep_alive.push_back(std::move(f));
    const std::vector<forms::FieldError> pulled = forms::take_newer_fields(later, errors);
    const bool only_pulled = errors.empty() && !pulled.empty();
    if (errors.empty()) {
      if (keys && !form->unique_key.empty()) {
        nlohmann::json key = nlohmann::json::array();
        for (const std::string& k : form->unique_key) {
          auto it = body.find(k);
          if (it == body.end() || it->is_null()) {
            key = nlohmann::json();
            break;
          }
          key.push_back(*it);
        }
        if (!key.is_null()) (*keys)[i] = key.dump();
      }
      if (!only_pulled) continue;
      errors = pulled;
    }
    nlohmann::json fields = nlohmann::json::array();
    for (const auto& fe : errors) fields.push_back({{"path", fe.path}, {"code", fe.code}, {"message", fe.message}});
    out[i] = sync::EditRejection{"invalid_record",
                                 std::to_string(errors.size()) + " answer(s) break the rules of " + e.form_id + " v" +
                                     std::to_string(e.form_version) + "; see fields",
                                 fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
    out[i]->unless_newer_base = only_pulled;
  }
  return out;
}

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
  std::vector<std::string> keys;
  // Field messages in the language the client asks for (PROTOCOL §4.4); codes and paths do not change.
  const forms::Lang lang = forms::negotiate_language(req.header("accept-language"));
  const auto prechecks = validate_edits(batch->edits, app, &keys, lang);
  store::PushInput in{who.device_actor, &*batch, app.now_ms(), who.scope ? &*who.scope : nullptr, &prechecks};
  use_forms(in, app, lang);
  in.unique_keys = &keys;
  auto out = app.store->push(in);
  if (!out.ok()) return problem_from(out.status(), "batch_id_reused");
  HttpResponse r;
  r.body = std::move(out->response);
  if (out->replayed) r.headers.emplace_back("Aktsync-Replayed", "true");
  return r;
}

HttpResponse handle_push_answer(const std::string& batch_id, const Principal& who, AppState& app) {
  // Only the pushing device's own batches: another device's id finds nothing, like an unknown one.
  if (batch_id.empty() || batch_id.size() > 128)
    return problem(404, "batch_not_found", "no batch with this id was pushed by this device");
  auto answer = app.store->batch_answer(who.device_actor, batch_id);
  if (!answer.ok()) return problem_from(answer.status(), "internal");
  if (!*answer) return problem(404, "batch_not_found", "no batch with this id was pushed by this device");
  HttpResponse r;
  r.body = std::move(**answer);
  r.headers.emplace_back("Aktsync-Replayed", "true");
  return r;
}

}  // namespace akt::server

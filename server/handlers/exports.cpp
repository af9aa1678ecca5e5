// M&E datasets (docs/EXPORTS.md): GET /v1/exports/{form} in CSV, XLSX or JSON Lines, incremental from a
// feed cursor with tombstone rows, sensitive fields redacted for the caller's role by the same function
// the change feed uses; GET /v1/indicators computes the logframe indicators from the merged data.
// The answer is built in memory page by page (the writers stream; the HTTP layer does not stream yet).
#include "server/handlers/handlers.hpp"

#include <charconv>

#include "schema/export/csv_writer.hpp"
#include "schema/export/exporter.hpp"
#include "schema/export/indicators.hpp"
#include "schema/export/jsonl_writer.hpp"
#include "schema/export/redact.hpp"
#include "schema/export/xlsx_writer.hpp"
#include "server/problem.hpp"

namespace akt::server {

namespace {

constexpr std::size_t kPage = 1000;

// Pages the feed from `since` up to `until` (the last seq when the export began, so every pass sees
// the same records), keeping the records of `form_id` (all when empty) that pass `keep`.
exports::OpenPass feed_passes(AppState& app, std::int64_t since, std::int64_t until, const std::string& form_id,
                              std::function<bool(const sync::RecordState&)> keep, std::int64_t* max_seq) {
  return [&app, since, until, form_id, keep, max_seq]() -> exports::RecordPass {
    struct State {
      std::int64_t cursor;
      std::vector<sync::RecordState> page;
      std::size_t next = 0;
      bool done = false;
    };
    auto st = std::make_shared<State>(State{since, {}, 0, false});
    return [&app, st, until, form_id, keep, max_seq](exports::ExportRecord& out) -> bool {
      for (;;) {
        while (st->next < st->page.size()) {
          const sync::RecordState& r = st->page[st->next++];
          if (r.seq > until) {
            st->done = true;
            st->page.clear();
            return false;
          }
          if ((!form_id.empty() && r.form_id != form_id) || !keep(r)) continue;
          auto rec = exports::export_record_from(r);
          if (!rec.ok()) continue;
          if (max_seq) *max_seq = std::max(*max_seq, r.seq);
          out = std::move(*rec);
          return true;
        }
        if (st->done) return false;
        auto page = app.store->changes(st->cursor, kPage);
        if (!page.ok() || page->records.empty()) return false;
        st->cursor = page->next;
        st->done = !page->more;
        st->page = std::move(page->records);
        st->next = 0;
      }
    };
  };
}

std::string param(const Query& q, const char* key) {
  auto it = q.find(key);
  return it == q.end() ? std::string() : it->second;
}

}  // namespace

std::string redact_for(AppState& app, sync::Role role, const std::string& form_id, const std::string& record_id,
                       std::string_view body) {
  auto versions = app.forms.versions_of(form_id);
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object()) return "{}";
  if (versions.empty()) {
    // No definition says what is sensitive here: send nothing rather than guess.
    return role == sync::Role::kMeOfficer ? "{}" : std::string(body);
  }
  std::vector<const forms::FormDef*> defs;
  for (const auto& v : versions) defs.push_back(v.get());
  exports::redact_body(defs, j, role, app.store->server_actor(), record_id);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

HttpResponse handle_export(const std::string& form_id, const Query& q, const Principal& who, AppState& app) {
  const std::string format = q.count("format") ? param(q, "format") : "csv";
  if (format != "csv" && format != "jsonl" && format != "xlsx")
    return problem(400, "invalid_format", "format: csv, xlsx or jsonl");
  auto versions = app.forms.versions_of(form_id);
  if (versions.empty()) return problem(404, "form_not_found", "no published form " + form_id);
  std::int64_t since = 0;
  if (q.count("since")) {
    const std::string c = param(q, "since");
    const std::size_t d1 = c.find('-'), d2 = d1 == std::string::npos ? d1 : c.find('-', d1 + 1);
    if (d2 == std::string::npos || c.substr(0, d1) != app.store->epoch() ||
        std::from_chars(c.data() + d1 + 1, c.data() + d2, since).ec != std::errc())
      return problem(400, "invalid_cursor", "since must be a cursor of this server (an export's or the feed's)");
  }
  exports::ExportOptions opt;
  opt.role = who.role;
  opt.pseudonym_key = app.store->server_actor();  // a per-deployment secret never sent to clients
  const std::string labels = param(q, "labels");
  opt.flatten.labels = labels == "en"   ? exports::LabelMode::kEn
                       : labels == "sq" ? exports::LabelMode::kSq
                       : labels == "sr" ? exports::LabelMode::kSr
                                        : exports::LabelMode::kCodes;
  opt.include_conflicted = param(q, "conflicts") != "exclude";
  std::vector<const forms::FormDef*> defs;
  for (const auto& v : versions) defs.push_back(v.get());
  auto exporter = exports::FormExporter::create(defs, opt);
  if (!exporter.ok()) return problem(500, "internal", exporter.status().message());
  const std::string municipality = param(q, "municipality"), community = param(q, "community"),
                    component = param(q, "component");
  auto keep = [&who, municipality, community, component](const sync::RecordState& r) {
    if (who.scope && !sync::in_scope(*who.scope, r.scope, r.form_id)) return false;
    return (municipality.empty() || r.scope.municipality == municipality) &&
           (community.empty() || r.scope.community == community) &&
           (component.empty() || r.scope.component == component);
  };
  const std::int64_t until = app.store->last_seq();
  std::int64_t max_seq = since;
  HttpResponse resp;
  exports::Sink sink = [&resp](std::string_view s) { resp.body.append(s); };
  exports::CsvOptions csv;
  csv.bom = param(q, "bom") == "1";
  std::unique_ptr<exports::ExportWriter> writer;
  if (format == "jsonl") {
    writer = std::make_unique<exports::JsonlWriter>(sink);
    resp.content_type = "application/x-ndjson; charset=utf-8";
  } else if (format == "xlsx") {
    writer = std::make_unique<exports::XlsxWriter>(sink);
    resp.content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
  } else if (exporter->layout().tables.size() == 1) {
    writer = std::make_unique<exports::CsvWriter>(sink, csv);
    resp.content_type = "text/csv; charset=utf-8";
  } else {
    writer = std::make_unique<exports::CsvZipWriter>(sink, form_id + "_", csv);
    resp.content_type = "application/zip";
  }
  Status st = exporter->run(feed_passes(app, since, until, form_id, keep, &max_seq), *writer);
  if (!st.ok()) return problem_from(st, "internal");
  resp.headers.emplace_back("X-Akt-Cursor", make_cursor(app.store->epoch(), std::max(max_seq, until), 0));
  const std::string ext = format == "xlsx" ? "xlsx" : format == "jsonl" ? "jsonl"
                          : resp.content_type == "application/zip" ? "zip" : "csv";
  resp.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + form_id + "." + ext + "\"");
  Status au = app.store->write([&](store::Db& db, std::int64_t&) {
    return audit(db, app, who.username, "export", form_id, {{"format", format}, {"since", since}}, "");
  });
  (void)au;  // the export itself succeeded; an audit failure is logged by the store
  return resp;
}

HttpResponse handle_indicators(const Query& q, const Principal& who, AppState& app) {
  const std::string format = q.count("format") ? param(q, "format") : "json";
  if (format != "json" && format != "csv") return problem(400, "invalid_format", "format: json or csv");
  exports::IndicatorEngine engine;
  auto pass = feed_passes(app, 0, app.store->last_seq(), "", [&who](const sync::RecordState& r) {
    return !who.scope || sync::in_scope(*who.scope, r.scope, r.form_id);
  }, nullptr)();
  exports::ExportRecord rec;
  while (pass(rec)) engine.add(rec);
  HttpResponse resp;
  if (format == "csv") {
    engine.write_csv([&resp](std::string_view s) { resp.body.append(s); });
    resp.content_type = "text/csv; charset=utf-8";
  } else {
    resp.body = engine.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return resp;
}

}  // namespace akt::server

// M&E datasets (docs/EXPORTS.md): GET /v1/exports/{form} in CSV, XLSX or JSON Lines, incremental from a
// feed cursor with tombstone rows, sensitive fields redacted for the caller's role by the same function
// the change feed uses; GET /v1/indicators computes the logframe indicators from the merged data.
// Export answers are streamed (HttpResponse::stream): each piece is produced on the worker pool from the
// next page of the feed, so memory stays at one page of records plus the writers' 64 KiB buffers.
#include "server/handlers/handlers.hpp"

#include <algorithm>
#include <charconv>
#include <climits>
#include <optional>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "schema/export/csv_writer.hpp"
#include "schema/export/exporter.hpp"
#include "schema/export/indicators.hpp"
#include "schema/export/jsonl_writer.hpp"
#include "schema/export/redact.hpp"
#include "schema/export/xlsx_writer.hpp"
#include "schema/forms/choice_list.hpp"
#include "schema/store/store_tx.hpp"
#include "server/handlers/export_media.hpp"
#include "server/problem.hpp"
#include "sync/cursor.hpp"

namespace akt::server {

namespace {

constexpr std::size_t kPage = 1000;        // records per feed page for indicators
constexpr std::size_t kExportPage = 250;  // for exports: a smaller page keeps per-thread heap peaks low

// Pages the feed from `since` up to `until` (the last seq when the export began, so every pass sees
// the same records), keeping the records of `form_id` (all when empty) that pass `keep`.
using RecordFilter = std::function<bool(const exports::ExportRecord&)>;

// Pages the feed from `since` up to `until` (the last seq when the export began: every pass ends at the
// same place, and the cursor handed out up front is exact), keeping the records of `form_id` (all when
// empty) that pass `keep` and `keep_record`. A store error ends the pass and is left in `*error`, so the
// caller never mistakes a cut-short pass for a complete one.
exports::OpenPass feed_passes(AppState& app, std::int64_t since, std::int64_t until, const std::string& form_id,
                              std::function<bool(const sync::RecordState&)> keep, std::int64_t* max_seq,
                              RecordFilter keep_record = nullptr, std::shared_ptr<Status> error = nullptr,
                              std::size_t page_size = kPage) {
  return [&app, since, until, form_id, keep, max_seq, keep_record, error, page_size]() -> exports::RecordPass {
    struct State {
      std::int64_t cursor;
      std::vector<sync::RecordState> page;
      std::size_t next = 0;
      bool done = false;
    };
    auto st = std::make_shared<State>(State{since, {}, 0, false});
    return [&app, st, until, form_id, keep, max_seq, keep_record, error,
            page_size](exports::ExportRecord& out) -> bool {
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
          if (!rec.ok() || (keep_record && !keep_record(*rec))) continue;
          if (max_seq) *max_seq = std::max(*max_seq, r.seq);
          out = std::move(*rec);
          return true;
        }
        if (st->done) return false;
        st->page.clear();
        auto page = app.store->changes(st->cursor, page_size);
        if (!page.ok()) {
          if (error && error->ok()) *error = page.status();
          st->done = true;
          return false;
        }
        if (page->records.empty()) return false;
        st->cursor = page->next;
        st->done = !page->more;
        st->page = std::move(page->records);
        st->next = 0;
      }
    };
  };
}

// The export's own passes: one form's records read with only the columns an export shows, each body
// handed on as stored text (the exporter decodes it without a DOM). Same records, order and stop
// (`until`) as feed_passes(); `keep` sees each record's scope and form.
using ScopeFilter = std::function<bool(const sync::Scope&, const std::string& form_id)>;

exports::OpenPass export_passes(AppState& app, std::int64_t since, std::int64_t until, const std::string& form_id,
                                ScopeFilter keep, RecordFilter keep_record, std::shared_ptr<Status> error) {
  return [&app, since, until, form_id, keep, keep_record, error]() -> exports::RecordPass {
    struct State {
      std::int64_t cursor;
      std::vector<store::ExportRow> rows;  // reused page to page
      std::size_t count = 0, next = 0;
      bool done = false;
      sync::Scope scope;
    };
    auto st = std::make_shared<State>();
    st->cursor = since;
    return [&app, st, until, form_id, keep, keep_record, error](exports::ExportRecord& out) -> bool {
      for (;;) {
        while (st->next < st->count) {
          store::ExportRow& r = st->rows[st->next++];
          st->scope.municipality.swap(r.municipality);
          st->scope.community.swap(r.community);
          st->scope.component.swap(r.component);
          if (!keep(st->scope, form_id)) continue;
          out.record_id.swap(r.record_id);
          out.form_id = form_id;
          out.form_version = r.form_version;
          out.scope.municipality.swap(st->scope.municipality);
          out.scope.community.swap(st->scope.community);
          out.scope.component.swap(st->scope.component);
          out.seq = r.seq;
          out.server_time_ms = r.server_time;
          out.deleted = r.deleted;
          out.conflict = r.conflict;
          out.body_text.swap(r.body);
          if (keep_record && !keep_record(out)) continue;
          return true;
        }
        if (st->done) return false;
        auto page = app.store->export_page(form_id, st->cursor, until, kExportPage, st->rows);
        if (!page.ok()) {
          if (error && error->ok()) *error = page.status();
          st->done = true;
          return false;
        }
        if (page->count == 0) return false;
        st->cursor = page->next;
        st->done = !page->more;
        st->count = page->count;
        st->next = 0;
      }
    };
  };
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// "YYYY-MM-DD" (a whole UTC day) or "YYYY-MM-DDTHH:MM:SS[.mmm]Z" (an instant), as [start, end) in ms.
std::optional<std::pair<std::int64_t, std::int64_t>> parse_utc(std::string_view s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0, ms = 0;
  if (!digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || mo < 1 || mo > 12 || d < 1)
    return std::nullopt;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > kDays[mo - 1] + (mo == 2 && leap ? 1 : 0)) return std::nullopt;  // 2018-02-30 is no date
  const std::int64_t day = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400000;
  if (s.size() == 10) return std::make_pair(day, day + 86400000);
  if (s[10] != 'T' || !digits(s, 11, 2, h) || s.size() < 20 || s[13] != ':' || !digits(s, 14, 2, mi) ||
      s[16] != ':' || !digits(s, 17, 2, se) || h > 23 || mi > 59 || se > 60)
    return std::nullopt;
  std::size_t pos = 19;
  if (s[pos] == '.') {
    if (!digits(s, pos + 1, 3, ms)) return std::nullopt;
    pos += 4;
  }
  if (pos + 1 != s.size() || s[pos] != 'Z') return std::nullopt;
  const std::int64_t t = day + ((h * 60 + mi) * 60 + se) * 1000 + ms;
  return std::make_pair(t, t + 1);
}

bool is_date(std::string_view s) {
  int v = 0;
  return s.size() == 10 && digits(s, 0, 4, v) && s[4] == '-' && digits(s, 5, 2, v) && s[7] == '-' && digits(s, 8, 2, v);
}

// Everything one streamed export owns; the producer holds it until the last piece (or the client left).
struct ExportJob {
  std::vector<std::shared_ptr<const forms::FormDef>> versions;  // the exporter points into these
  std::optional<exports::FormExporter> exporter;
  std::unique_ptr<exports::ExportWriter> writer;
  std::optional<exports::ExportRun> run;
  std::shared_ptr<Status> error = std::make_shared<Status>();
  std::string pending;  // what the writer handed to its sink since the last piece
};

constexpr std::size_t kPieceBytes = 64 * 1024;  // a piece is sent once this much is ready
constexpr std::size_t kStepRecords = 64;        // records exported between checks of the piece size

std::string param(const Query& q, const char* key) {
  auto it = q.find(key);
  return it == q.end() ? std::string() : it->second;
}

}  // namespace

std::optional<std::pair<std::int64_t, std::int64_t>> parse_utc_time(std::string_view s) { return parse_utc(s); }

std::string redact_community_for(const AppState& app, const Principal& who, std::string_view community) {
  return exports::redact_scope_community(community, who.role, app.pseudonym_key, who.special_category);
}

void redact_record_for(AppState& app, const Principal& who, sync::RecordState& r) {
  if (who.role != sync::Role::kMeOfficer) return;
  for (auto& v : r.live) {
    v.body = redact_for(app, who, r.form_id, r.record_id, v.body);
    v.changed = redact_paths_for(app, who, r.form_id, std::move(v.changed));
  }
  r.conflicted = redact_paths_for(app, who, r.form_id, std::move(r.conflicted));
  r.pending_upload = redact_paths_for(app, who, r.form_id, std::move(r.pending_upload));
  r.scope.community = redact_community_for(app, who, r.scope.community);
}

std::vector<std::string> redact_paths_for(AppState& app, const Principal& who, const std::string& form_id,
                                          std::vector<std::string> paths) {
  if (who.role != sync::Role::kMeOfficer || paths.empty()) return paths;
  auto versions = app.forms.versions_of(form_id);
  std::vector<const forms::FormDef*> defs;
  for (const auto& v : versions) defs.push_back(v.get());
  // No definition: nothing is known to be visible (as redact_for sends an empty body).
  std::erase_if(paths, [&](const std::string& p) {
    return !exports::path_visible(defs, p, who.role, !app.pseudonym_key.empty(), who.special_category);
  });
  return paths;
}

std::string redact_for(AppState& app, const Principal& who, const std::string& form_id, const std::string& record_id,
                       std::string_view body) {
  const sync::Role role = who.role;
  auto versions = app.forms.versions_of(form_id);
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object()) return "{}";
  if (versions.empty()) {
    // No definition says what is sensitive here: send nothing rather than guess.
    return role == sync::Role::kMeOfficer ? "{}" : std::string(body);
  }
  std::vector<const forms::FormDef*> defs;
  for (const auto& v : versions) defs.push_back(v.get());
  exports::redact_body(defs, j, role, app.pseudonym_key, record_id, who.special_category);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

// An export request parsed and checked: what `plan_export` fills and `stream_export` runs.
struct ExportPlan {
  std::string format, media;   // csv | jsonl | xlsx; include | exclude | ""
  std::int64_t since = 0;      // the seq of the `since` cursor (0: from the start)
  exports::ExportOptions opt;  // role, labels, label row, conflicted records
  bool bom = false;            // csv: a UTF-8 byte order mark
  std::string date_field;      // "" = no filter on the record's own date
  RecordFilter keep_record;    // received_* and date_* ranges; nullptr = every record
  ScopeFilter keep_scope;      // the caller's scope and the municipality / community / component filters
  std::shared_ptr<ExportJob> job;  // the form's versions and the exporter made from `opt`
};

// Reads the request into `plan`; the answer to send instead when it is refused (nothing is exported).
std::optional<HttpResponse> plan_export(const std::string& form_id, const Query& q, const Principal& who,
                                        AppState& app, ExportPlan& plan) {
  plan.format = q.count("format") ? param(q, "format") : "csv";
  const std::string& format = plan.format;
  if (format != "csv" && format != "jsonl" && format != "xlsx")
    return problem(400, "invalid_format", "format: csv, xlsx or jsonl");
  // Photo files only to roles that see class D (EXPORTS.md §1.2): photos may show people.
  plan.media = param(q, "media");
  const std::string& media = plan.media;
  if (!media.empty() && media != "include" && media != "exclude")
    return problem(400, "invalid_option", "media: include or exclude");
  if (media == "include" && who.role != sync::Role::kAdmin && who.role != sync::Role::kSupervisor)
    return problem(403, "forbidden", "media=include: photo files are for admins and supervisors (class D)");
  plan.job = std::make_shared<ExportJob>();
  ExportJob* job = plan.job.get();
  job->versions = app.forms.versions_of(form_id);
  if (job->versions.empty()) return problem(404, "form_not_found", "no published form " + form_id);
  if (q.count("since")) {
    // Any scope version: an export's cursor carries 0, a feed's the user's.
    const auto cursor = sync::parse_cursor(param(q, "since"));
    if (!cursor || cursor->epoch != app.store->epoch())
      return problem(400, "invalid_cursor", "since must be a cursor of this server (an export's or the feed's)");
    plan.since = cursor->seq;
  }
  exports::ExportOptions& opt = plan.opt;
  opt.role = who.role;
  opt.pseudonym_key = app.pseudonym_key;  // the secret key file, never sent to clients
  opt.special_category = who.special_category;
  const std::string labels = param(q, "labels");
  if (!labels.empty() && labels != "codes" && labels != "en" && labels != "sq" && labels != "sr" &&
      labels != "sr-Latn")
    return problem(400, "invalid_option", "labels: codes, en, sq, sr or sr-Latn");
  opt.flatten.labels = labels == "en"        ? exports::LabelMode::kEn
                       : labels == "sq"      ? exports::LabelMode::kSq
                       : labels == "sr"      ? exports::LabelMode::kSr
                       : labels == "sr-Latn" ? exports::LabelMode::kSrLatn
                                             : exports::LabelMode::kCodes;
  // A second header row with the question labels (EXPORTS.md §2.1), in the `labels` language.
  const std::string label_row = param(q, "label_row");
  if (!label_row.empty() && label_row != "0" && label_row != "1")
    return problem(400, "invalid_option", "label_row: 1 (a second header row with the question labels) or 0");
  if (label_row == "1" && format == "jsonl")
    return problem(400, "invalid_option", "label_row applies to csv and xlsx (JSON Lines has no header row)");
  opt.label_row = label_row == "1";
  const std::string conflicts = param(q, "conflicts");
  if (!conflicts.empty() && conflicts != "flag" && conflicts != "include" && conflicts != "exclude")
    return problem(400, "invalid_option", "conflicts: flag (default; include is the same) or exclude");
  opt.include_conflicted = conflicts != "exclude";

  plan.bom = param(q, "bom") == "1";
  // Date ranges, both ends inclusive: server receive time (received_from / received_to, a UTC date or
  // instant) and the record's own date field (date_field + date_from / date_to, dates).
  std::int64_t recv_from = INT64_MIN, recv_to = INT64_MAX;
  // `from` / `to` are the older names of received_from / received_to.
  const std::string rf = q.count("received_from") ? param(q, "received_from") : param(q, "from");
  const std::string rt = q.count("received_to") ? param(q, "received_to") : param(q, "to");
  if (!rf.empty()) {
    auto t = parse_utc(rf);
    if (!t) return problem(400, "invalid_filter", "received_from: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.mmm]Z (UTC)");
    recv_from = t->first;
  }
  if (!rt.empty()) {
    auto t = parse_utc(rt);
    if (!t) return problem(400, "invalid_filter", "received_to: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.mmm]Z (UTC)");
    recv_to = t->second - 1;
  }
  plan.date_field = param(q, "date_field");
  const std::string& date_field = plan.date_field;
  const std::string date_from = param(q, "date_from"), date_to = param(q, "date_to");
  if ((!date_from.empty() && !is_date(date_from)) || (!date_to.empty() && !is_date(date_to)))
    return problem(400, "invalid_filter", "date_from / date_to: YYYY-MM-DD");
  if ((!date_from.empty() || !date_to.empty()) && date_field.empty())
    return problem(400, "invalid_filter", "date_from / date_to need date_field (a date or datetime field of the form)");
  if (!date_field.empty()) {
    bool found = false;
    for (const auto& v : job->versions) {
      const forms::FieldDef* f = v->find(date_field);
      found = found || (f && (f->type == forms::FieldType::kDate || f->type == forms::FieldType::kDatetime));
    }
    if (!found) return problem(400, "invalid_filter", "date_field: " + date_field + " is not a top-level date or "
                                                      "datetime field of " + form_id);
  }
  RecordFilter& keep_record = plan.keep_record;
  if (recv_from != INT64_MIN || recv_to != INT64_MAX || !date_field.empty()) {
    keep_record = [recv_from, recv_to, date_field, date_from, date_to](const exports::ExportRecord& r) {
      if (r.server_time_ms < recv_from || r.server_time_ms > recv_to) return false;
      if (date_field.empty() || r.deleted) return true;  // a tombstone's own date is unknown: kept
      // Records of the export's own passes carry their body as text; the media passes as a DOM.
      const nlohmann::json parsed =
          r.body_text.empty() ? nlohmann::json() : nlohmann::json::parse(r.body_text, nullptr, false);
      const nlohmann::json& body = r.body_text.empty() ? r.body : parsed;
      if (!body.is_object()) return false;
      auto it = body.find(date_field);
      if (it == body.end() || !it->is_string()) return false;  // not asked or no date: outside any range
      const std::string& v = it->get_ref<const std::string&>();
      if (v.size() < 10) return false;
      const std::string_view day(v.data(), 10);  // the date as written (a datetime's local date)
      return (date_from.empty() || day >= date_from) && (date_to.empty() || day <= date_to);
    };
  }

  std::vector<const forms::FormDef*> defs;
  for (const auto& v : job->versions) defs.push_back(v.get());
  auto exporter = exports::FormExporter::create(defs, opt);
  if (!exporter.ok()) return problem(500, "internal", exporter.status().message());
  job->exporter.emplace(std::move(exporter).value());
  if (!date_field.empty()) {
    // Only a field the caller sees as it is: filtering on a hidden or pseudonymised one would let a
    // caller probe its values.
    bool visible = false;
    for (const exports::Column& col : job->exporter->layout().tables[0].columns)
      visible = visible || (col.kind == exports::ColumnKind::kValue && col.field == date_field &&
                            col.treatment == exports::Treatment::kKeep);
    if (!visible) return problem(400, "invalid_filter", "date_field: " + date_field + " is not visible to your role");
  }
  // Scope filters: comma-separated values, any of which matches; empty = no filter.
  auto values = [&q](const char* key) {
    std::vector<std::string> out;
    const std::string v = param(q, key);
    for (std::size_t b = 0; !v.empty() && b <= v.size();) {
      const std::size_t e = std::min(v.find(',', b), v.size());
      out.push_back(v.substr(b, e - b));
      b = e + 1;
    }
    return out;
  };
  // An unknown value is refused naming the valid ones (a typo would otherwise give an empty dataset that
  // reads as "no data"): the reference data's municipalities, the components, and the communities as the
  // caller sees them (pseudonyms for an M&E officer without the special-category grant).
  auto codes_of = [](std::string_view list) {
    std::vector<std::string> out;
    if (auto it = forms::builtin_choice_lists().find(list); it != forms::builtin_choice_lists().end())
      for (const auto& c : it->second.choices) out.push_back(c.code);
    return out;
  };
  std::vector<std::string> communities;
  for (const auto& c : codes_of("L:community")) communities.push_back(redact_community_for(app, who, c));
  const std::pair<const char*, std::vector<std::string>> known[] = {
      {"municipality", codes_of("L:municipality")}, {"community", communities}, {"component", {"SO1", "SO2", "SO3"}}};
  for (const auto& [key, valid] : known) {
    std::vector<std::string> unknown;
    for (const auto& v : values(key))
      if (std::find(valid.begin(), valid.end(), v) == valid.end()) unknown.push_back(v);
    if (unknown.empty()) continue;
    std::string list;
    for (const auto& v : valid) list += (list.empty() ? "" : ", ") + v;
    HttpResponse r = problem(400, "invalid_filter", std::string(key) + ": unknown value '" + unknown.front() + "'; valid: " + list);
    nlohmann::json body = nlohmann::json::parse(r.body);
    body["field"] = key;
    body["unknown"] = unknown;
    body["valid"] = valid;
    r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return r;
  }
  auto any = [](const std::vector<std::string>& set, const std::string& v) {
    return set.empty() || std::find(set.begin(), set.end(), v) != set.end();
  };
  // The community filter compares what the caller sees (a pseudonym without the grant): filtering on
  // the clear value would let a caller probe it.
  plan.keep_scope = [scope = who.scope, municipality = values("municipality"),
                            community = values("community"), component = values("component"), any, &app,
                            who](const sync::Scope& s, const std::string& form) {
    if (scope && !sync::in_scope(*scope, s, form)) return false;
    return any(municipality, s.municipality) &&
           (community.empty() || any(community, redact_community_for(app, who, s.community))) &&
           any(component, s.component);
  };
  return std::nullopt;
}

// Streams the planned export: the writer for its format, the cursor and file name headers, the pieces
// as the writer makes them, the audit entry, and the photo files when asked.
HttpResponse stream_export(const std::string& form_id, const ExportPlan& plan, const Principal& who, AppState& app,
                           const std::string& remote) {
  const std::shared_ptr<ExportJob>& job = plan.job;
  const std::string& format = plan.format;
  const std::int64_t since = plan.since;
  const ScopeFilter& keep_scope = plan.keep_scope;
  const RecordFilter& keep_record = plan.keep_record;
  auto keep = [keep_scope](const sync::RecordState& r) { return keep_scope(r.scope, r.form_id); };
  // The cursor is fixed before the first byte: the export reads the feed only up to here.
  const std::int64_t until = app.store->last_seq();
  HttpResponse resp;
  exports::Sink sink = [pending = &job->pending](std::string_view s) { pending->append(s); };
  exports::CsvOptions csv;
  csv.bom = plan.bom;
  if (format == "jsonl") {
    job->writer = std::make_unique<exports::JsonlWriter>(sink);
    resp.content_type = "application/x-ndjson; charset=utf-8";
  } else if (format == "xlsx") {
    job->writer = std::make_unique<exports::XlsxWriter>(sink);
    resp.content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    resp.compressible = false;  // already deflated
  } else if (job->exporter->layout().tables.size() == 1) {
    job->writer = std::make_unique<exports::CsvWriter>(sink, csv);
    resp.content_type = "text/csv; charset=utf-8";
  } else {
    job->writer = std::make_unique<exports::CsvZipWriter>(sink, form_id + "_", csv);
    resp.content_type = "application/zip";
    resp.compressible = false;
  }
  job->run.emplace(*job->exporter, export_passes(app, since, until, form_id, keep_scope, keep_record, job->error),
                   *job->writer);
  resp.headers.emplace_back("X-Akt-Cursor", sync::encode_cursor({app.store->epoch(), std::max(since, until), 0}));
  const std::string ext = format == "xlsx" ? "xlsx" : format == "jsonl" ? "jsonl"
                          : resp.content_type == "application/zip" ? "zip" : "csv";
  resp.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + form_id + "." + ext + "\"");
  resp.stream = [job](std::string& out) -> StreamStep {
    while (job->pending.size() < kPieceBytes) {
      auto more = job->run->step(kStepRecords);
      if (!more.ok()) {
        out = more.status().message();
        return StreamStep::kFailed;
      }
      if (!job->error->ok()) {
        out = "reading the feed: " + job->error->message();
        return StreamStep::kFailed;
      }
      if (!*more) {
        out = std::move(job->pending);
        job->pending.clear();
#if defined(__GLIBC__)
        // An export frees many small pieces on whichever worker made them; give the free pages back
        // to the system now rather than keeping them in each thread's arena (README, Memory).
        malloc_trim(0);
#endif
        return StreamStep::kDone;
      }
    }
    out.swap(job->pending);
    job->pending.clear();
    return StreamStep::kMore;
  };
  Status au = app.store->update([&](store::StoreWriter& tx) {
    return audit(tx, app, who.username, "export", form_id, {{"format", format}, {"since", since}}, remote);
  });
  (void)au;  // the export itself goes ahead; an audit failure is logged by the store
  if (plan.media == "include")
    return with_media(std::move(resp), form_id + "." + ext,
                      feed_passes(app, since, until, form_id, keep, nullptr, keep_record, job->error, kExportPage), app);
  return resp;
}

}  // namespace

HttpResponse handle_export(const std::string& form_id, const Query& q, const Principal& who, AppState& app,
                           const std::string& remote) {
  ExportPlan plan;
  if (auto refused = plan_export(form_id, q, who, app, plan)) return std::move(*refused);
  return stream_export(form_id, plan, who, app, remote);
}

HttpResponse handle_indicators(const Query& q, const Principal& who, AppState& app) {
  const std::string format = q.count("format") ? param(q, "format") : "json";
  if (format != "json" && format != "csv") return problem(400, "invalid_format", "format: json or csv");
  // Indicator 2.1 counts grants at least 12 months before the reporting date (default: today, UTC).
  exports::IndicatorOptions options;
  options.reporting_date = param(q, "reporting_date");
  if (options.reporting_date.empty()) options.reporting_date = exports::iso_utc(app.now_ms()).substr(0, 10);
  else if (!is_date(options.reporting_date) || !parse_utc(options.reporting_date))
    return problem(400, "invalid_option", "reporting_date: YYYY-MM-DD");
  exports::IndicatorEngine engine(options);
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

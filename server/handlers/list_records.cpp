// GET /v1/admin/records (PROTOCOL §11.9): the submissions list for the console. Live records newest first,
// filtered in the store and paged by record id, each row scoped like GET /v1/records/{id} (a supervisor sees
// their scope and team's, nothing else) and redacted like it (an M&E officer without the grant sees the
// community as its pseudonym, and no enumerator).
#include "server/handlers/handlers.hpp"

#include <algorithm>
#include <charconv>

#include <nlohmann/json.hpp>

#include "schema/store/store_tx.hpp"
#include "server/handlers/json_io.hpp"
#include "server/problem.hpp"
#include "sync/uuid.hpp"

namespace akt::server {

namespace {

constexpr std::int64_t kDefaultLimit = 50;
constexpr std::int64_t kMaxLimit = 500;
constexpr std::size_t kMaxFilterBytes = 64;

std::string param(const Query& q, const char* name) {
  auto it = q.find(name);
  return it == q.end() ? std::string() : it->second;
}

}  // namespace

HttpResponse handle_list_records(const Query& q, const Principal& who, AppState& app) {
  using nlohmann::json;
  store::RecordListFilter f;
  f.form = param(q, "form");
  f.municipality = param(q, "municipality");
  f.component = param(q, "component");
  f.review = param(q, "review");
  f.submitted_by = param(q, "submitted_by");
  const std::string community = param(q, "community");
  for (const std::string* s : std::initializer_list<const std::string*>{&f.form, &f.municipality, &f.component, &f.review,
                                                                           &f.submitted_by, &community})
    if (s->size() > kMaxFilterBytes) return problem(400, "invalid_filter", "a filter value is longer than 64 bytes");
  static const char* const kReview[] = {"submitted", "returned", "approved", "excluded_duplicate", "excluded_invalid"};
  if (!f.review.empty() && std::find(std::begin(kReview), std::end(kReview), f.review) == std::end(kReview))
    return problem(400, "invalid_filter",
                   "review: submitted, returned, approved, excluded_duplicate or excluded_invalid");
  const bool me = who.role == sync::Role::kMeOfficer;
  // The enumerator is a quasi-identifier (class Q): not shown to M&E officers, so not filtered on either.
  if (me && !f.submitted_by.empty())
    return problem(400, "invalid_filter", "submitted_by: the enumerator is not shown to M&E officers");
  if (const std::string from = param(q, "from"); !from.empty()) {
    auto t = parse_utc_time(from);
    if (!t || from.size() != 10) return problem(400, "invalid_filter", "from: YYYY-MM-DD (UTC)");
    f.from_ms = t->first;
  }
  if (const std::string to = param(q, "to"); !to.empty()) {
    auto t = parse_utc_time(to);
    if (!t || to.size() != 10) return problem(400, "invalid_filter", "to: YYYY-MM-DD (UTC)");
    f.to_ms = t->second;  // the whole day
  }
  if (const std::string c = param(q, "conflicts"); !c.empty()) {
    if (c != "yes" && c != "no") return problem(400, "invalid_filter", "conflicts: yes or no");
    f.conflicted = c == "yes";
  }
  if (const std::string before = param(q, "before"); !before.empty()) {
    auto id = sync::parse_uuid(before);
    if (!id) return problem(400, "invalid_paging", "before: the record id `next_before` gave");
    f.before = sync::format_uuid(*id);
  }
  std::int64_t limit = kDefaultLimit;
  if (const std::string l = param(q, "limit"); !l.empty()) {
    auto [p, ec] = std::from_chars(l.data(), l.data() + l.size(), limit);
    if (ec != std::errc() || p != l.data() + l.size() || limit < 1)
      return problem(400, "invalid_paging", "limit: a positive integer");
    limit = std::min(limit, kMaxLimit);
  }
  // Each row as the caller may see it: inside their scope, the community redacted by role; the community
  // filter compares what the caller sees (a pseudonym for an M&E officer without the grant), so it probes
  // nothing hidden.
  auto keep = [&](const store::RecordListRow& r) {
    if (who.scope && !sync::in_scope(*who.scope, r.scope, r.form_id)) return false;
    return community.empty() || redact_community_for(app, who, r.scope.community) == community;
  };
  std::vector<store::RecordListRow> rows;
  bool more = false;
  Status st = app.store->query([&](store::StoreReader& tx) {
    auto r = tx.list_records(f, static_cast<std::size_t>(limit), keep, &more);
    if (!r.ok()) return r.status();
    rows = std::move(*r);
    return Status();
  });
  if (!st.ok()) return problem_from(st, "internal");
  json out = json::array();
  for (const auto& r : rows) {
    json clock = json::parse(r.clock, nullptr, false);
    out.push_back({{"record", r.record_id},
                   {"form", r.form_id},
                   {"form_version", r.form_version},
                   {"scope",
                    {{"municipality", r.scope.municipality},
                     {"community", redact_community_for(app, who, r.scope.community)},
                     {"component", r.scope.component}}},
                   {"seq", r.seq},
                   {"created_at", r.created_at},
                   {"updated_at", r.updated_at},
                   {"review", r.review},
                   {"conflict", r.conflicted},
                   {"clock", clock.is_discarded() ? json::object() : clock},
                   {"submitted_by", me ? std::string() : r.submitted_by},
                   {"device", me ? std::string() : r.device}});
  }
  json body{{"v", 1}, {"records", out}};
  if (more && !rows.empty()) body["next_before"] = rows.back().record_id;
  return json_response(200, body);
}

}  // namespace akt::server

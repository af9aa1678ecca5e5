// GET /v1/changes?since=CURSOR&limit=N&wait=MS (&after=SEQ&max_bytes=N&compact=1|2&changed=1&echo=0&skip_own=1): the change
// feed (DESIGN §5). Each changed record once, at its latest state, in feed order; long-poll when nothing is
// new and wait > 0.
#include "server/handlers/handlers.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>

#include "schema/store/sync_store.hpp"
#include "server/problem.hpp"
#include "sync/cursor.hpp"
#include "sync/json_text.hpp"
#include "sync/wire_json.hpp"

namespace akt::server {

namespace {

// Bytes per entry of the last full page (no max_bytes) the feed wrote: what the next page reserves.
std::atomic<std::size_t> g_entry_bytes{1400};
constexpr std::size_t kMaxReserve = 64u << 20;

bool parse_int(const std::string& s, std::int64_t& out) {
  if (s.empty() || s.size() > 18) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out >= 0;
}

}  // namespace

HttpResponse handle_changes(const Query& q, bool allow_wait, const Principal& who, AppState& app) {
  const Limits& lim = app.config.limits;
  std::int64_t since = 0;
  if (auto it = q.find("since"); it != q.end() && !it->second.empty()) {
    const auto cursor = sync::parse_cursor(it->second);
    if (!cursor) return problem(400, "invalid_cursor", "since must be a cursor returned by this server as `next`");
    since = cursor->seq;
    if (cursor->epoch != app.store->epoch())
      return problem(410, "epoch_changed",
                     "the server was restored from a backup (new epoch): reset the cursor, pull from the start, "
                     "and push again every edit not acknowledged under the new epoch");
    if (cursor->scope_version != who.scope_version)
      return problem(410, "scope_changed",
                     "the user's scope changed: drop the local records, pull from the start, then push what is "
                     "still unacknowledged");
    // Another server on the same database may have handed the cursor out before this one heard of
    // its commit (docs/STORE.md §10): ask the store before refusing it.
    if (since > app.store->last_seq() && since > app.store->refresh_last_seq())
      return problem(400, "invalid_cursor", "cursor is ahead of this server's feed");
  }
  std::int64_t limit = 500;
  if (auto it = q.find("limit"); it != q.end()) {
    if (!parse_int(it->second, limit) || limit < 1)
      return problem(400, "invalid_limit", "limit must be a positive integer");
    limit = std::min<std::int64_t>(limit, static_cast<std::int64_t>(lim.max_pull_limit));
  }
  // Resuming a page that was cut (§5.1): start after the last entry received whole.
  if (auto it = q.find("after"); it != q.end()) {
    std::int64_t after = 0;
    if (!parse_int(it->second, after) || (after > app.store->last_seq() && after > app.store->refresh_last_seq()))
      return problem(400, "invalid_after", "after must be the seq of an entry this feed returned");
    since = std::max(since, after);
  }
  std::int64_t max_bytes = 0;
  if (auto it = q.find("max_bytes"); it != q.end()) {
    if (!parse_int(it->second, max_bytes) || max_bytes < 1)
      return problem(400, "invalid_max_bytes", "max_bytes must be a positive integer");
  }
  // compact=1 leaves out parents and changed; compact=2 also the members a reader restores exactly (§5.1).
  bool compact = false, lean = false, with_changed = true;
  if (auto it = q.find("compact"); it != q.end()) {
    if (it->second != "0" && it->second != "1" && it->second != "2")
      return problem(400, "invalid_compact", "compact must be 0, 1 or 2");
    compact = it->second != "0";
    lean = it->second == "2";
    with_changed = !compact;
  }
  if (auto it = q.find("changed"); it != q.end()) {
    if (it->second != "0" && it->second != "1") return problem(400, "invalid_changed", "changed must be 0 or 1");
    with_changed = it->second == "1";
  }
  // No echo (§5.1): a device that holds its own versions asks for them without their bodies.
  bool echo = true;
  if (auto it = q.find("echo"); it != q.end()) {
    if (it->second != "0" && it->second != "1") return problem(400, "invalid_echo", "echo must be 0 or 1");
    echo = it->second == "1";
  }
  // Own versions left out (§5.1): with echo=0, a record whose one live version is the caller's edit
  // exactly as pushed, and nothing since, is not sent at all.
  bool skip_own = false;
  if (auto it = q.find("skip_own"); it != q.end()) {
    if (it->second != "0" && it->second != "1") return problem(400, "invalid_skip_own", "skip_own must be 0 or 1");
    skip_own = it->second == "1";
  }
  std::int64_t wait = 0;
  if (auto it = q.find("wait"); it != q.end()) {
    if (!parse_int(it->second, wait)) return problem(400, "invalid_wait", "wait must be milliseconds >= 0");
    wait = std::min(wait, lim.max_wait_ms);
  }
  if (allow_wait && wait > 0 && app.store->last_seq() <= since && !app.stopping) {
    HttpResponse r;
    r.long_poll = LongPoll{since, std::chrono::steady_clock::now() + std::chrono::milliseconds(wait)};
    return r;
  }
  HttpResponse r;
  std::string& out = r.body;
  // Reserved from the entries of the last full page, so that a page is written without regrowing its
  // buffer (a 500-record survey page is about 2 MB); at most what max_bytes lets the page reach.
  const std::size_t per_entry = g_entry_bytes.load(std::memory_order_relaxed);
  std::size_t expect = static_cast<std::size_t>(limit) * per_entry + per_entry / 8 * static_cast<std::size_t>(limit);
  if (max_bytes > 0) expect = std::min(expect, static_cast<std::size_t>(max_bytes) + 2 * per_entry);
  out.reserve(std::min<std::size_t>(expect, kMaxReserve) + 256);
  out += "{\"v\":1,\"epoch\":";
  sync::append_json_string(out, app.store->epoch());
  out += ",\"changes\":[";
  // M&E officers get sensitive fields removed or pseudonymised (docs/EXPORTS.md), by the same function
  // the exports use.
  store::BodyTransform redact = [&app, &who](const std::string& form, const std::string& record,
                                                          std::string_view body) {
    return redact_for(app, who, form, record, body);
  };
  store::CommunityTransform community = [&app, &who](std::string_view c) {
    return redact_community_for(app, who, c);
  };
  // ... and the paths of fields removed from their view (a pending photo of people says one exists).
  store::FeedQuery::PathsTransform paths = [&app, &who](const std::string& form, std::string_view text) {
    auto list = sync::decode_strings(text);
    return sync::encode_strings(redact_paths_for(app, who, form, list.ok() ? std::move(*list) : std::vector<std::string>()));
  };
  const bool redacts = who.role == sync::Role::kMeOfficer;
  store::FeedQuery fq;
  fq.since = since;
  fq.limit = static_cast<std::size_t>(limit);
  fq.max_bytes = static_cast<std::size_t>(max_bytes);
  fq.scope = who.scope ? &*who.scope : nullptr;
  fq.transform = redacts ? &redact : nullptr;
  fq.community = redacts ? &community : nullptr;
  fq.paths = redacts ? &paths : nullptr;
  fq.parents = !compact;
  fq.changed = with_changed;
  fq.lean = lean;
  if (!echo && who.is_device()) fq.echo_actor = who.device_actor;
  fq.skip_own = skip_own && !redacts;
  const std::size_t head_bytes = out.size();
  auto page = app.store->feed_page(fq, out);
  if (!page.ok()) return problem_from(page.status(), "internal");
  if (page->more && max_bytes == 0 && out.size() > head_bytes)
    g_entry_bytes.store(std::max<std::size_t>(64, (out.size() - head_bytes) / static_cast<std::size_t>(limit)),
                        std::memory_order_relaxed);
  if (who.is_device()) app.store->note_pull(who.device_actor, since, app.now_ms());
  out += "],\"next\":";
  sync::append_json_string(out, sync::encode_cursor({app.store->epoch(), page->next, who.scope_version}));
  out += ",\"more\":";
  out += page->more ? "true" : "false";
  out += "}";
  return r;
}

}  // namespace akt::server

// The sync round of one tablet. Order matters: push first (so the pull that follows already shows
// the device's edits as the server merged them), then drain the feed. Every step is durable on its own:
// a round cut anywhere resumes from the stored outbox and cursor.
#include "clients/sync_client.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <thread>

#include <nlohmann/json.hpp>

#include "clients/feed_stream.hpp"
#include "schema/store/blob_store.hpp"
#include "sync/wire_json.hpp"

namespace akt::client {
namespace {

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string percent_encode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// Decodes feed entries without letting a malformed answer throw.
Status decode_changes(const nlohmann::json& changes, std::vector<sync::RecordState>& out) {
  try {
    for (const nlohmann::json& x : changes) {
      auto s = sync::decode_record_state(x);
      if (!s.ok()) return Status::corruption("feed page: " + s.status().message());
      out.push_back(std::move(*s));
    }
  } catch (const std::exception& e) {
    return Status::corruption(std::string("feed page: ") + e.what());
  }
  return {};
}

struct FeedPage {
  std::string epoch, next;
  bool more = false;
  std::vector<sync::RecordState> changes;
};

// Decodes a feed page without letting a malformed answer throw.
Result<FeedPage> decode_page(const nlohmann::json& j) {
  using nlohmann::json;
  if (j.is_discarded() || !j.is_object()) return Status::corruption("feed page: not a JSON object");
  auto epoch = j.find("epoch"), next = j.find("next"), more = j.find("more"), changes = j.find("changes");
  if (epoch == j.end() || !epoch->is_string() || next == j.end() || !next->is_string() || more == j.end() ||
      !more->is_boolean() || changes == j.end() || !changes->is_array())
    return Status::corruption("feed page: missing epoch, next, more or changes");
  FeedPage p{epoch->get<std::string>(), next->get<std::string>(), more->get<bool>(), {}};
  AKT_TRY(decode_changes(*changes, p.changes));
  return p;
}

}  // namespace

std::pair<std::string, std::string> problem_of(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return {};
  auto str = [&j](const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  return {str("code"), str("detail")};
}

Transport http_transport(HttpClient& client) {
  return [&client](const std::string& method, const std::string& target, const std::string& body,
                   const Headers& headers) { return client.request(method, target, body, headers); };
}

SyncClient::SyncClient(store::TabletStore& store, Transport transport, SyncOptions options)
    : store_(store), transport_(std::move(transport)), options_(std::move(options)),
      jitter_state_(options_.jitter_seed) {
  if (!options_.sleep) options_.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  if (!options_.clock) options_.clock = [] { return std::chrono::steady_clock::now(); };
  options_.max_attempts = std::max(options_.max_attempts, 0);
}

std::chrono::milliseconds SyncClient::backoff(int attempt) {
  // Capped exponential backoff with "equal jitter": a fleet reconnecting at once spreads out.
  const auto cap = options_.backoff_max.count();
  std::int64_t d = options_.backoff_initial.count();
  for (int i = 1; i < attempt && d < cap; ++i) d *= 2;
  d = std::min<std::int64_t>(d, cap);
  const std::int64_t half = d / 2;
  const auto r = static_cast<std::int64_t>(splitmix64(jitter_state_) % static_cast<std::uint64_t>(half + 1));
  return std::chrono::milliseconds(half + r);
}

std::size_t SyncClient::sized_for_link(std::size_t bytes, std::chrono::steady_clock::duration elapsed) const {
  // bytes / elapsed is the throughput the link gave this request, its round trip included, so a small
  // request under a long round trip measures low and the sizes grow over a few requests.
  const double seconds = std::max(std::chrono::duration<double>(elapsed).count(), 0.001);
  const double target = std::chrono::duration<double>(options_.target_request_time).count();
  const double want = static_cast<double>(bytes) / seconds * target;
  // At most four times the last request's bytes, so that one fast sample does not overshoot.
  return static_cast<std::size_t>(std::min(want, 4.0 * static_cast<double>(std::max<std::size_t>(bytes, 1))));
}

Result<HttpResult> SyncClient::send(std::string method, std::string target, std::string body,
                                    const Retarget& before_retry) {
  Headers headers{{"Authorization", "Bearer " + token_}, {"Content-Type", "application/json"}};
  // For the console's field-team page (PROTOCOL §13.2): this app and the edits still waiting.
  // Counted for each request (one count of the outbox, no conflicts scan): always the current number.
  if (auto n = store_.unsynced(); n.ok())
    headers.emplace_back("X-Akt-Client", "app=aktsync/0.1.0; unsynced=" + std::to_string(*n));
  if (options_.trace) options_.trace("client: " + method + " " + target.substr(0, target.find('?')) + " (header counted)");
  const auto first = std::chrono::steady_clock::now();
  std::chrono::milliseconds waited{0};
  for (int attempt = 1;; ++attempt) {
    auto r = transport_(method, target, body, headers);
    // Only the network (kIOError) is worth another attempt; anything else is a fact about the setup.
    if (!r.ok() && r.status().code() != Status::Code::kIOError) return r.status();
    const bool retry = !r.ok() || r->status >= 500 || r->status == 429;
    auto wait = backoff(attempt);
    if (retry && r.ok()) {
      // 503 busy names its own pause (Retry-After, seconds).
      const std::string ra = r->header("retry-after");
      int secs = 0;
      if (std::from_chars(ra.data(), ra.data() + ra.size(), secs).ec == std::errc() && secs > 0)
        wait = std::max(wait, std::min(options_.backoff_max, std::chrono::milliseconds(secs * 1000LL)));
    }
    const auto spent = std::max(waited, std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::steady_clock::now() - first));
    const bool out_of_attempts = options_.max_attempts > 0 && attempt >= options_.max_attempts;
    if (!retry || out_of_attempts || spent + wait > options_.retry_for) {
      if (!r.ok())
        return Status::io_error("server " + server_ + " unreachable after " + std::to_string(attempt) +
                                " attempt(s) over " + std::to_string((spent.count() + 500) / 1000) +
                                " s: " + r.status().message());
      return r;
    }
    options_.sleep(wait);
    waited += wait;
    ++summary_.retries;
    if (before_retry) AKT_TRY(before_retry(method, target, body));
  }
}

Status SyncClient::http_error(const HttpResult& r, const std::string& what) const {
  auto [code, detail] = problem_of(r.body);
  const std::string why = what + ": HTTP " + std::to_string(r.status) + (code.empty() ? "" : " " + code) +
                          (detail.empty() ? "" : ": " + detail);
  switch (r.status) {
    case 401: return Status::unauthenticated("the server rejected this device's token (" + why + ")");
    case 403: return Status::forbidden(why);
    case 409: return Status::conflict(why + " (this database was restored or cloned: re-initialise it as a new actor)");
    case 426: return Status::invalid_argument(why);  // tls_required: the detail says to use https://
    default: break;
  }
  if (r.status >= 500) return Status::io_error("server " + server_ + " failing after retries (" + why + ")");
  return Status::corruption("unexpected answer (" + why + ")");
}

Status SyncClient::load_device() {
  auto dev = store_.device();
  if (!dev.ok()) return dev.status();
  token_ = dev->config.token;
  server_ = dev->config.server;
  return {};
}

Status SyncClient::push(SyncSummary& s) {
  AKT_TRY(load_device());
  const bool sized = options_.target_request_time.count() > 0;
  auto trace = [this](const std::string& event) {
    if (options_.trace) options_.trace(event);
  };
  for (;;) {
    trace("client: forming the next batch");
    store::BatchLimits limits{options_.batch_edits};
    if (sized && batch_bytes_ > 0) {
      limits.max_edits = std::max<std::size_t>(options_.max_batch_edits, 1);
      limits.max_bytes = batch_bytes_;
      limits.min_edits = std::min(std::max<std::size_t>(options_.min_batch_edits, 1), limits.max_edits);
      limits.rest_bytes = std::max(batch_bytes_, std::min(static_cast<std::size_t>(static_cast<double>(batch_bytes_) *
                                                                                 std::max(options_.batch_rest, 1.0)),
                                                          options_.max_batch_bytes));
    }
    auto b = store_.next_batch(limits);
    if (options_.upload_rate) options_.upload_rate(push_rate_);
    if (!b.ok()) return b.status();
    if (!*b) return {};
    const store::OutboxBatch& batch = **b;
    trace("client: batch formed, " + std::to_string(batch.dots.size()) + " edits, " +
          std::to_string(batch.request.size()) + " B of JSON");
    // A batch whose answer was lost may be committed on the server: its stored answer is fetched
    // (PROTOCOL §4.3) rather than the batch uploaded again; 404 means it never arrived, so it is sent.
    const std::string answer_target = "/v1/push/" + percent_encode(batch.batch_id);
    std::string last = batch.formed_before ? "GET" : "POST";
    const auto started = options_.clock();
    const std::size_t retries_before = summary_.retries;
    auto ask_first = [&](std::string& method, std::string& target, std::string& body) -> Status {
      if (method == "POST") {
        method = "GET";
        target = answer_target;
        body.clear();
      }
      last = method;
      return {};
    };
    auto r = last == "GET" ? send("GET", answer_target, {}, ask_first) : send("POST", "/v1/push", batch.request, ask_first);
    if (r.ok() && last == "GET" && (r->status == 404 || r->status == 405)) {
      last = "POST";
      r = send("POST", "/v1/push", batch.request, ask_first);
    }
    if (r.ok() && last == "GET" && r->status == 200) ++s.answers_fetched;
    if (r.ok() && last == "GET" && (r->status == 404 || r->status == 405)) {
      // Lost again after the stored answer said "never arrived": send it once more, plainly.
      r = send("POST", "/v1/push", batch.request);
    }
    trace("client: answer in");
    if (!r.ok()) return r.status();
    if (r->status == 400 || r->status == 413) {
      // Refused whole, nothing applied: the store isolates the bad edit (DESIGN §3.4 keeps the rest going).
      auto [code, detail] = problem_of(r->body);
      AKT_TRY(store_.fail_batch(batch, code.empty() ? "http_" + std::to_string(r->status) : code, detail));
      continue;
    }
    if (r->status != 200) return http_error(*r, "push " + batch.batch_id);
    if (sized && last == "POST" && summary_.retries == retries_before && !batch.dots.empty()) {
      // The next batch aims at target_request_time at the throughput this one had.
      const auto elapsed = options_.clock() - started;
      const std::size_t moved = batch.request.size() + r->body.size();
      sample(true, moved, elapsed);
      batch_bytes_ = std::min(sized_for_link(moved, elapsed), options_.max_batch_bytes);
      push_rate_ = std::max(push_rate_, static_cast<double>(moved) /
                                            std::max(std::chrono::duration<double>(elapsed).count(), 0.001));
      const std::size_t per_edit = std::max<std::size_t>(batch.request.size() / batch.dots.size(), 1);
      const std::size_t most = std::max<std::size_t>(options_.max_batch_edits, 1);
      s.next_batch_edits =
          std::min(std::max(batch_bytes_ / per_edit, std::max<std::size_t>(options_.min_batch_edits, 1)), most);
    }
    auto resp = sync::decode_push_response(r->body);
    if (!resp.ok()) return Status::corruption("push " + batch.batch_id + ": " + resp.status().message());
    trace("client: answer decoded, acknowledging");
    auto ack = store_.acknowledge(batch, *resp);
    if (!ack.ok()) return ack.status();
    trace("client: acknowledged (committed)");
    s.pushed += batch.dots.size();
    s.applied += ack->applied;
    s.concurrent += ack->concurrent;
    s.superseded += ack->superseded;
    s.duplicate += ack->duplicate;
    s.epoch_reset = s.epoch_reset || ack->epoch_changed;
    ++s.batches;
    if (options_.on_progress) options_.on_progress(s);
  }
}

Status SyncClient::pull(SyncSummary& s) {
  AKT_TRY(load_device());
  auto dev = store_.device();
  if (!dev.ok()) return dev.status();
  std::string cursor = dev->cursor;
  std::int64_t after = 0;  // a cut page resumes after this entry's seq (0 = from the page's start)
  const bool sized = options_.target_request_time.count() > 0;
  bool echo = false;  // asked after a page with many own bodies this device could not match
  bool skipped_own = false;  // the last request asked skip_own
  auto target = [&] {
    const std::size_t limit = sized ? options_.max_pull_limit : options_.pull_limit;
    const std::size_t max_bytes = sized && pull_bytes_ > 0 ? pull_bytes_ : options_.pull_max_bytes;
    std::string t = "/v1/changes?since=" + percent_encode(cursor) +
                    "&limit=" + std::to_string(std::max<std::size_t>(limit, 1));
    if (max_bytes > 0) t += "&max_bytes=" + std::to_string(max_bytes);
    // Its own versions' bodies are in the local store (an edit stays until the feed shows it, a reset keeps
    // the records until the feed is drained); one that is not is fetched whole (resolve_own_bodies).
    if (options_.compact_feed)
      t += "&compact=" + std::to_string(std::clamp(options_.compact_level, 1, 2)) + (echo ? "" : "&echo=0");
    // And no entry at all for a record whose one live version is its own edit as pushed (PROTOCOL §5.1
    // skip_own): the last page then takes the acknowledged edits no page showed. Not while a reset waits
    // for the feed to show every record again (the last page drops those it does not show).
    skipped_own = false;
    if (options_.compact_feed && options_.skip_own && !echo) {
      auto pending = store_.resync_pending();
      skipped_own = pending.ok() && !*pending;
      if (skipped_own) t += "&skip_own=1";
    }
    if (after > 0) t += "&after=" + std::to_string(after);
    return t;
  };
  auto resume = [&](std::string&, std::string& t, std::string&) -> Status {
    auto kept = keep_whole_entries(cursor, after, s);
    if (!kept.ok()) return kept.status();
    after = *kept;
    t = target();
    return {};
  };
  for (;;) {
    const auto started = options_.clock();
    const std::size_t retries_before = summary_.retries;
    auto r = send("GET", target(), {}, resume);
    const auto elapsed = options_.clock() - started;
    if (!r.ok()) return r.status();
    if (r->status == 400 && options_.compact_feed && options_.compact_level >= 2 &&
        problem_of(r->body).first == "invalid_compact") {
      options_.compact_level = 1;  // a server before the lean feed (PROTOCOL §5.1): ask for compact=1
      continue;
    }
    if (r->status == 410) {
      if (problem_of(r->body).first == "scope_changed") {
        // Same server, new assignments (PROTOCOL §5.4): pull from the start; edits it acknowledged stay
        // acknowledged (pushing them again would only fill the quarantine with copies it already has).
        auto now = store_.device();
        if (!now.ok()) return now.status();
        AKT_TRY(store_.reset_epoch(now->epoch));
        s.scope_reset = true;
        return Status::gone("the user's scope changed");
      }
      AKT_TRY(store_.reset_epoch({}));
      s.epoch_reset = true;
      return Status::gone("the server has a new epoch");
    }
    if (r->status != 200) return http_error(*r, "pull");
    if (sized && summary_.retries == retries_before) sample(false, r->body.size(), elapsed);
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    if (j.is_object() && j.contains("changes") && j["changes"].is_array()) {
      auto resolved = resolve_own_bodies(j["changes"], s, !echo);
      if (!resolved.ok()) return resolved.status();
      if (!*resolved) {
        // Too many own bodies to fetch one by one: the same page again with every body, and the rest of
        // this pull too (the reason, a lost local copy or many edits the server stored otherwise, stays).
        echo = true;
        ++s.pages_asked_whole;
        continue;
      }
    }
    auto page = decode_page(j);
    if (!page.ok()) return page.status();
    if (sized && page->more && summary_.retries == retries_before) {
      // A full page measured the link: the next aims at target_request_time of it.
      pull_bytes_ = std::min(std::max(sized_for_link(r->body.size(), elapsed), options_.min_pull_bytes),
                             std::max(options_.max_pull_bytes, options_.min_pull_bytes));
      s.next_pull_bytes = pull_bytes_;
    }
    if (options_.trace) options_.trace("client: page decoded, " + std::to_string(page->changes.size()) + " entries, applying");
    auto n = store_.apply_changes(page->changes, page->next, page->epoch, !page->more, skipped_own);
    if (!n.ok()) return n.status();
    if (options_.trace) options_.trace("client: page applied (committed)");
    s.pulled += *n;
    ++s.pages;
    if (options_.on_progress) options_.on_progress(s);
    if (!page->more) return {};
    if (page->next == cursor) return Status::corruption("the feed said `more` but did not advance");
    cursor = page->next;
    after = 0;
  }
}

Result<std::int64_t> SyncClient::keep_whole_entries(const std::string& cursor, std::int64_t after, SyncSummary& s) {
  if (!options_.partial_answer) return after;
  const PagePrefix prefix = whole_entries(options_.partial_answer());
  if (prefix.epoch.empty()) return after;
  nlohmann::json entries = nlohmann::json::array();
  for (const std::string& text : prefix.entries) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    auto seq = j.is_object() ? j.find("seq") : j.end();
    if (seq == j.end() || !seq->is_number_integer() || seq->get<std::int64_t>() <= after) break;
    entries.push_back(std::move(j));
  }
  if (entries.empty()) return after;
  const std::int64_t last = entries.back()["seq"].get<std::int64_t>();
  auto resolved = resolve_own_bodies(entries, s);
  if (!resolved.ok()) return resolved.status();
  std::vector<sync::RecordState> changes;
  AKT_TRY(decode_changes(entries, changes));
  // The cursor stays: what was kept is applied again harmlessly if this round ends before the page does.
  auto n = store_.apply_changes(changes, cursor, prefix.epoch, false);
  if (!n.ok()) return n.status();
  s.pulled += *n;
  ++s.resumed;
  if (options_.on_progress) options_.on_progress(s);
  return last;
}

Result<bool> SyncClient::resolve_own_bodies(nlohmann::json& changes, SyncSummary& s, bool may_ask_whole) {
  using nlohmann::json;
  // Whether the local store holds the body a version's body_hash names.
  auto matches = [this](const std::string& id, const json& v) -> Result<bool> {
    auto hash = v.find("body_hash");
    auto dot = v.find("dot");
    if (!hash->is_string() || hash->get<std::string>().size() != 16 || dot == v.end() || !dot->is_object() ||
        !dot->contains("actor") || !(*dot)["actor"].is_string() || !dot->contains("n") ||
        !(*dot)["n"].is_number_integer())
      return false;
    auto mine = store_.local_body(id, {(*dot)["actor"].get<std::string>(), (*dot)["n"].get<std::int64_t>()});
    if (!mine.ok()) return mine.status();
    return *mine && json::parse(**mine, nullptr, false).is_object() &&
           store::sha256_hex_of(**mine).compare(0, 16, hash->get<std::string>()) == 0;
  };
  if (may_ask_whole) {
    // One request per record to fetch, or the page once more with every body: whichever costs less.
    std::size_t hashed = 0, unmatched = 0;
    for (const json& e : changes) {
      auto live = e.is_object() ? e.find("live") : e.end();
      auto record = e.is_object() ? e.find("record") : e.end();
      if (live == e.end() || !live->is_array() || record == e.end() || !record->is_string()) continue;
      bool has_hash = false, whole = true;
      for (const json& v : *live) {
        if (!v.is_object() || !v.contains("body_hash")) continue;
        has_hash = true;
        auto m = matches(record->get<std::string>(), v);
        if (!m.ok()) return m.status();
        whole = whole && *m;
      }
      hashed += has_hash ? 1 : 0;
      unmatched += whole ? 0 : 1;
    }
    if (unmatched > 16 || (unmatched > 2 && 2 * unmatched > hashed)) return false;
  }
  for (auto it = changes.begin(); it != changes.end();) {
    auto live = it->is_object() ? it->find("live") : it->end();
    auto record = it->is_object() ? it->find("record") : it->end();
    if (live == it->end() || !live->is_array() || record == it->end() || !record->is_string()) {
      ++it;  // a marker, or malformed (the decoder says so)
      continue;
    }
    const std::string id = record->get<std::string>();
    bool whole = true;
    for (json& v : *live) {
      auto hash = v.is_object() ? v.find("body_hash") : v.end();
      if (hash == v.end()) continue;
      auto m = matches(id, v);
      if (!m.ok()) return m.status();
      if (*m) {
        auto mine = store_.local_body(id, {v["dot"]["actor"].get<std::string>(), v["dot"]["n"].get<std::int64_t>()});
        if (!mine.ok()) return mine.status();
        v["body"] = json::parse(**mine, nullptr, false);
        v.erase("body_hash");
      } else {
        whole = false;
      }
    }
    if (whole) {
      ++it;
      continue;
    }
    // The server holds another body than this device's copy (or it has none): read the record whole.
    auto r = send("GET", "/v1/records/" + percent_encode(id), {});
    if (!r.ok()) return r.status();
    if (r->status == 404) {  // gone from this device's scope since: a later page says so
      it = changes.erase(it);
      continue;
    }
    if (r->status != 200) return http_error(*r, "record " + id);
    json fetched = json::parse(r->body, nullptr, false);
    if (!fetched.is_object()) return Status::corruption("record " + id + ": not a JSON object");
    *it = std::move(fetched);
    ++s.bodies_fetched;
    ++it;
  }
  return true;
}

Status recall_upload_coding(store::TabletStore& store, const std::string& url, HttpClient& http) {
  auto takes = store.server_takes_zstd(url);
  if (!takes.ok()) return takes.status();
  http.set_server_takes_zstd(*takes);
  return {};
}

Status remember_upload_coding(store::TabletStore& store, const std::string& url, const HttpClient& http) {
  auto takes = store.server_takes_zstd(url);
  if (!takes.ok()) return takes.status();
  if (*takes == http.server_takes_zstd()) return {};
  return store.set_server_takes_zstd(url, http.server_takes_zstd());
}

void SyncClient::sample(bool push, std::size_t bytes, std::chrono::steady_clock::duration elapsed) {
  samples_.push_back({push, bytes, elapsed});
}

void SyncClient::recall_link(std::int64_t now_ms) {
  samples_.clear();
  push_rate_ = 0;
  if (options_.target_request_time.count() <= 0 || options_.link_memory.count() <= 0) return;
  auto rates = store_.link_rates(server_);
  if (!rates.ok()) return;  // a hint only: without it the first requests have their fixed sizes
  const std::int64_t memory = std::chrono::duration_cast<std::chrono::milliseconds>(options_.link_memory).count();
  auto fresh = [&](std::int64_t rate, std::int64_t at) { return rate > 0 && now_ms >= at && now_ms - at <= memory; };
  const double target = std::chrono::duration<double>(options_.target_request_time).count();
  if (fresh(rates->push_bytes_per_s, rates->push_at_ms)) {
    batch_bytes_ = std::min(static_cast<std::size_t>(static_cast<double>(rates->push_bytes_per_s) * target),
                            options_.max_batch_bytes);
    summary_.recalled_push_rate = static_cast<std::size_t>(rates->push_bytes_per_s);
    push_rate_ = static_cast<double>(rates->push_bytes_per_s);
  }
  if (fresh(rates->pull_bytes_per_s, rates->pull_at_ms)) {
    pull_bytes_ = std::min(std::max(static_cast<std::size_t>(static_cast<double>(rates->pull_bytes_per_s) * target),
                                    options_.min_pull_bytes),
                           std::max(options_.max_pull_bytes, options_.min_pull_bytes));
    summary_.recalled_pull_rate = static_cast<std::size_t>(rates->pull_bytes_per_s);
  }
}

void SyncClient::remember_link(std::int64_t now_ms) {
  if (options_.target_request_time.count() <= 0 || options_.link_memory.count() <= 0 || samples_.empty()) return;
  // Each request took a round trip plus its bytes at the link's rate (plus the server's time): against
  // the run's smallest request, whose time is mostly the round trip, a request four times its bytes or
  // more gives the rate as the slope between them, when at least a quarter of its time was the
  // difference (noise in a near-empty difference would give anything). Else its bytes over its whole
  // time, the round trip included: a rate below the link's, which is the safe side.
  const Sample& least = *std::min_element(samples_.begin(), samples_.end(),
                                          [](const Sample& a, const Sample& b) { return a.bytes < b.bytes; });
  double push_rate = 0, pull_rate = 0;
  for (const Sample& x : samples_) {
    const double t = std::chrono::duration<double>(x.elapsed).count();
    const double dt = std::chrono::duration<double>(x.elapsed - least.elapsed).count();
    if (t <= 0 || x.bytes < 4096) continue;  // too small to say anything of the rate
    double rate = static_cast<double>(x.bytes) / t;
    if (x.bytes >= 4 * least.bytes && dt >= t / 4)
      rate = std::max(rate, static_cast<double>(x.bytes - least.bytes) / dt);
    (x.push ? push_rate : pull_rate) = std::max(x.push ? push_rate : pull_rate, rate);
  }
  if (push_rate <= 0 && pull_rate <= 0) return;
  auto rates = store_.link_rates(server_);
  if (!rates.ok()) return;
  if (push_rate > 0) {
    rates->push_bytes_per_s = static_cast<std::int64_t>(push_rate);
    rates->push_at_ms = now_ms;
    summary_.measured_push_rate = static_cast<std::size_t>(push_rate);
  }
  if (pull_rate > 0) {
    rates->pull_bytes_per_s = static_cast<std::int64_t>(pull_rate);
    rates->pull_at_ms = now_ms;
    summary_.measured_pull_rate = static_cast<std::size_t>(pull_rate);
  }
  (void)store_.set_link_rates(server_, *rates);  // best effort: a hint for the next sync
}

Result<SyncSummary> SyncClient::sync(std::int64_t now_ms) {
  summary_ = {};
  AKT_TRY(load_device());
  recall_link(now_ms);
  Status st = run_round(now_ms);
  remember_link(now_ms);  // however the round ended: the next sync starts from what it measured
  if (!st.ok()) return st;
  return summary_;
}

Status SyncClient::run_round(std::int64_t now_ms) {
  auto before = store_.rejected();
  if (!before.ok()) return before.status();
  SyncSummary& s = summary_;
  // The rejections, conflicts and edits still waiting, as the store holds them now.
  auto settle = [&]() -> Status {
    auto after = store_.rejected();
    auto stats = store_.stats();
    if (!after.ok()) return after.status();
    if (!stats.ok()) return stats.status();
    s.rejections.assign(after->begin() + static_cast<std::ptrdiff_t>(std::min(before->size(), after->size())),
                        after->end());
    s.rejected = s.rejections.size();
    s.conflicts = stats->conflicts;
    s.unsynced = stats->unsynced;
    return {};
  };
  // A new epoch found by the pull means: re-push, then pull from the start (at most twice in a row).
  for (int round = 0; round < 3; ++round) {
    Status st = push(s);
    if (st.ok()) st = pull(s);
    if (st.code() == Status::Code::kGone) continue;
    if (!st.ok()) {
      (void)settle();  // best effort: the summary says what was done before the failure
      return st;
    }
    AKT_TRY(settle());
    // A new epoch seen on the pull's first page re-queued acknowledged edits: push them in this round.
    if (s.unsynced > 0 && round < 2) continue;
    AKT_TRY(store_.mark_synced(now_ms));
    return {};
  }
  (void)settle();
  return Status::io_error("the server's epoch kept changing during the sync; try again");
}

}  // namespace akt::client

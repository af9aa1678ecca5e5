// Routing, authentication, content encodings. Handlers live in server/handlers/.
#include "server/router.hpp"

#include <cctype>
#include <chrono>
#include <optional>

#include "sync/content_coding.hpp"
#include "sync/gzip.hpp"
#include "sync/hex.hpp"
#include "sync/zstd.hpp"
#include "server/handlers/handlers.hpp"
#include "server/handlers/passwords.hpp"
#include "server/handlers/push_answer.hpp"
#include "server/log.hpp"
#include "server/metrics.hpp"
#include "server/problem.hpp"
#include "server/request_meta.hpp"

namespace akt::server {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

Query parse_query(std::string_view q) {
  Query out;
  while (!q.empty()) {
    std::size_t amp = q.find('&');
    std::string_view item = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (item.empty()) continue;
    std::size_t eq = item.find('=');
    out.emplace(percent_decode(item.substr(0, eq)),
                eq == std::string_view::npos ? std::string() : percent_decode(item.substr(eq + 1)));
  }
  return out;
}

// `target` for the log, with the values of `token` and `code` query parameters masked.
std::string loggable_target(std::string_view target) {
  std::string out(target.substr(0, 200));
  const std::size_t q = out.find('?');
  if (q == std::string::npos) return out;
  std::size_t i = q + 1;
  while (i < out.size()) {
    std::size_t end = out.find('&', i);
    if (end == std::string::npos) end = out.size();
    const std::size_t eq = out.find('=', i);
    if (eq < end) {
      const std::string name = percent_decode(std::string_view(out).substr(i, eq - i));
      if (name == "token" || name == "code") {
        out.replace(eq + 1, end - eq - 1, "***");
        end = eq + 4;
      }
    }
    i = end + 1;
  }
  return out;
}

HttpResponse method_not_allowed(const char* allow) {
  HttpResponse r = problem(405, "method_not_allowed", std::string("this resource allows ") + allow);
  r.headers.emplace_back("Allow", allow);
  return r;
}

// Decodes the body per Content-Encoding. Returns a problem response on failure.
std::optional<HttpResponse> decode_body(const HttpRequest& req, AppState& app, std::string& body) {
  std::string enc(req.header("content-encoding").substr(0, 64));  // case-insensitive (RFC 9110 §8.4.1)
  for (char& ch : enc) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (enc.empty() || enc == "identity") {
    body = req.body;
    return std::nullopt;
  }
  if (enc != "gzip" && enc != "zstd")
    return problem(415, "unsupported_encoding", "Content-Encoding must be zstd, gzip or identity, got '" +
                                                    std::string(enc.substr(0, 40)) + "'");
  const std::size_t limit = app.config.limits.max_decoded_body_bytes;
  auto r = enc == "zstd" ? sync::unzstd(req.body, limit) : sync::gunzip(req.body, limit);
  if (!r.ok()) {
    if (r.status().code() == Status::Code::kTooLarge) return problem(413, "body_too_large", r.status().message());
    return problem(400, "invalid_encoding", r.status().message());
  }
  body = std::move(*r);
  return std::nullopt;
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    std::size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
  }
  return out;
}

HttpResponse forbidden(const std::string& what) { return problem(403, "forbidden", what); }

// /v1/admin/...: admins; the quarantine also supervisors.
HttpResponse dispatch_admin(const HttpRequest& req, const std::vector<std::string_view>& seg, const Query& query,
                            const Principal& who, AppState& app) {
  const std::string_view what = seg.size() > 2 ? seg[2] : std::string_view();
  const bool admin = who.role == sync::Role::kAdmin;
  if (what == "quarantine" && seg.size() == 3) {
    if (!admin && who.role != sync::Role::kSupervisor) return forbidden("the quarantine is for admins and supervisors");
    if (req.method != "GET") return method_not_allowed("GET");
    return handle_quarantine(req, query, who, app);
  }
  if (what == "stats" && seg.size() == 3) {
    if (!admin && who.role != sync::Role::kSupervisor && who.role != sync::Role::kMeOfficer)
      return forbidden("statistics are for admins, supervisors and M&E officers");
    return req.method == "GET" ? handle_stats(who, app) : method_not_allowed("GET");
  }
  if (what == "conflicts") {
    if (!admin && who.role != sync::Role::kSupervisor) return forbidden("the conflict inbox is for admins and supervisors");
    if (seg.size() == 3) return req.method == "GET" ? handle_list_conflicts(query, who, app) : method_not_allowed("GET");
    if (seg.size() == 4) return req.method == "GET" ? handle_get_conflict(seg[3], who, app) : method_not_allowed("GET");
    if (seg.size() == 5 && seg[4] == "resolve")
      return req.method == "POST" ? handle_resolve_conflict(req, seg[3], who, app) : method_not_allowed("POST");
  }
  if (what == "records" && seg.size() == 3) {
    if (!admin && who.role != sync::Role::kSupervisor && who.role != sync::Role::kMeOfficer)
      return forbidden("the submissions list is for admins, M&E officers and supervisors");
    return req.method == "GET" ? handle_list_records(query, who, app) : method_not_allowed("GET");
  }
  if (what == "records" && seg.size() == 4 && seg[3] == "review") {
    if (!admin && who.role != sync::Role::kSupervisor && who.role != sync::Role::kMeOfficer)
      return forbidden("reviewing records is for admins, M&E officers and supervisors");
    return req.method == "POST" ? handle_bulk_review(req, who, app) : method_not_allowed("POST");
  }
  if (what == "records" && seg.size() == 5 && seg[4] == "review") {
    if (!admin && who.role != sync::Role::kSupervisor && who.role != sync::Role::kMeOfficer)
      return forbidden("reviewing records is for admins, M&E officers and supervisors");
    return req.method == "POST" ? handle_review_record(req, percent_decode(seg[3]), who, app)
                                : method_not_allowed("POST");
  }
  if (!admin) return forbidden("administration needs the admin role");
  if (what == "quarantine" && seg.size() == 5 && seg[4] == "release")
    return req.method == "POST" ? handle_release(req, seg[3], who, app) : method_not_allowed("POST");
  if (what == "quarantine" && seg.size() == 5 && seg[4] == "discard")
    return req.method == "POST" ? handle_discard(req, seg[3], who, app) : method_not_allowed("POST");
  if (what == "forms" && seg.size() == 3) {
    if (req.method == "GET") return handle_list_forms(who, true, app);
    if (req.method == "POST") return handle_upload_form(req, who, app);
    return method_not_allowed("GET, POST");
  }
  if (what == "forms" && seg.size() == 6 && (seg[5] == "publish" || seg[5] == "retire"))
    return req.method == "POST"
               ? handle_form_transition(req, percent_decode(seg[3]), seg[4], seg[5] == "publish", who, app)
               : method_not_allowed("POST");
  if (what == "users" && seg.size() == 3) {
    if (req.method == "GET") return handle_list_users(app);
    if (req.method == "POST") return handle_create_user(req, who, app);
    return method_not_allowed("GET, POST");
  }
  if (what == "users" && seg.size() == 5) {
    const std::string user = percent_decode(seg[3]);
    const std::string_view action = seg[4];
    if (action == "role") return req.method == "PUT" ? handle_set_role(req, user, who, app) : method_not_allowed("PUT");
    if (action == "password")
      return req.method == "POST" ? handle_reset_password(req, user, who, app) : method_not_allowed("POST");
    if (action == "supervisor")
      return req.method == "PUT" ? handle_set_supervisor(req, user, who, app) : method_not_allowed("PUT");
    if (action == "assignments")
      return req.method == "PUT" ? handle_set_assignments(req, user, who, app) : method_not_allowed("PUT");
    if (action == "disable" || action == "enable")
      return req.method == "POST" ? handle_set_disabled(req, user, action == "disable", who, app)
                                  : method_not_allowed("POST");
    if (action == "special_category")
      return req.method == "PUT" ? handle_set_special_category(req, user, who, app) : method_not_allowed("PUT");
  }
  if (what == "enrolments" && seg.size() == 3)
    return req.method == "POST" ? handle_create_enrolment(req, who, app) : method_not_allowed("POST");
  if (what == "devices" && seg.size() == 3)
    return req.method == "GET" ? handle_list_devices(app) : method_not_allowed("GET");
  if (what == "devices" && seg.size() == 5 && seg[4] == "revoke")
    return req.method == "POST" ? handle_revoke_device(req, std::string(seg[3]), who, app) : method_not_allowed("POST");
  if (what == "audit" && seg.size() == 3) return req.method == "GET" ? handle_audit(query, app) : method_not_allowed("GET");
  return problem(404, "not_found", "no such resource: " + req.target.substr(0, 200));
}

// The caller of a request that needs a token; when there is none or it is refused, `refused` is set to
// the answer (401, or 500 when the store failed) and the principal returned is empty.
Principal authenticate_caller(const HttpRequest& req, AppState& app, bool& authenticated, std::string& principal,
                              std::optional<HttpResponse>& refused) {
  auto who = app.auth.authenticate(req.header("authorization"), *app.store, app.now_ms());
  if (!who.ok()) {
    refused = who.status().code() != Status::Code::kUnauthenticated
                  ? problem_from(who.status(), "internal")
                  : problem(401, "unauthenticated", who.status().message());
    return {};
  }
  authenticated = true;
  principal = who->is_device() ? "device=" + who->device_actor : "user=" + who->username;
  return std::move(*who);
}

HttpResponse dispatch(const HttpRequest& req, AppState& app, bool& authenticated, std::string& principal) {
  std::string_view target = req.target;
  std::size_t qpos = target.find('?');
  std::string_view path = target.substr(0, qpos);
  Query query = parse_query(qpos == std::string_view::npos ? std::string_view() : target.substr(qpos + 1));
  const std::vector<std::string_view> seg = split_path(path);
  auto not_found = [&] { return problem(404, "not_found", "no such resource: " + std::string(path.substr(0, 200))); };

  if (path == "/healthz") {
    if (req.method != "GET") return method_not_allowed("GET");
    return handle_health(app);
  }
  if (path == "/readyz") return req.method == "GET" ? handle_ready(app) : method_not_allowed("GET");
  if (path == "/metrics") {
    // For a scraper with the configured token, or an admin's token (PROTOCOL §3.2).
    if (req.method != "GET") return method_not_allowed("GET");
    if (is_metrics_token(app.config, req.header("authorization"))) {
      authenticated = true;
      principal = "metrics";
      return handle_metrics(app);
    }
    std::optional<HttpResponse> refused;
    auto who = authenticate_caller(req, app, authenticated, principal, refused);
    if (refused) return std::move(*refused);
    if (who.role != sync::Role::kAdmin) return forbidden("metrics are for admins and the configured scrape token");
    return handle_metrics(app);
  }
  if (auto console = handle_console(req, path)) return std::move(*console);
  if (auto tablet_app = handle_app(req, path)) return std::move(*tablet_app);
  if (seg.size() < 2 || seg[0] != "v1") return not_found();
  // Unauthenticated entry points: they are throttled per user and per address instead.
  if (path == "/v1/login") return req.method == "POST" ? handle_login(req, app) : method_not_allowed("POST");
  if (path == "/v1/enrol") return req.method == "POST" ? handle_enrol(req, app) : method_not_allowed("POST");
  const std::string_view top = seg[1];
  const bool known = top == "push" || top == "changes" || top == "records" || top == "me" || top == "logout" ||
                     top == "admin" || top == "forms" || top == "exports" || top == "indicators" ||
                     top == "uploads" || top == "blobs" || top == "shared-definitions";
  if (!known) return not_found();

  std::optional<HttpResponse> refused;
  const Principal caller = authenticate_caller(req, app, authenticated, principal, refused);
  if (refused) return std::move(*refused);
  const Principal* who = &caller;
  // Keyed by the hash in hex: the shared bucket's key is database text (raw SHA-256 bytes are not UTF-8).
  if (auto wait = app.request_limiter.acquire(sync::to_hex(who->token_hash), std::chrono::steady_clock::now())) {
    HttpResponse r = problem(429, "rate_limited", "too many requests for this token; retry after " +
                                                      std::to_string(wait) + " s");
    r.headers.emplace_back("Retry-After", std::to_string(wait));
    return r;
  }
  if (top == "push" && seg.size() == 2) {
    if (req.method != "POST") return method_not_allowed("POST");
    if (!who->is_device()) return forbidden("pushing needs a device token (enrol the device)");
    note_client_report(req, *who, app);
    std::string_view ct = req.header("content-type");
    if (ct.substr(0, 16) != "application/json")
      return problem(415, "unsupported_media_type", "Content-Type must be application/json");
    HttpRequest decoded = req;
    if (auto err = decode_body(req, app, decoded.body)) return std::move(*err);
    return handle_push(decoded, *who, app);
  }
  if (top == "push" && seg.size() == 3) {
    // The stored answer of a batch whose answer was lost (PROTOCOL §4.3): fetched instead of re-sent.
    if (req.method != "GET") return method_not_allowed("GET");
    if (!who->is_device()) return forbidden("batch answers are for the device that pushed the batch");
    return handle_push_answer(percent_decode(seg[2]), *who, app);
  }
  if (top == "changes" && seg.size() == 2) {
    if (req.method != "GET") return method_not_allowed("GET");
    if (req.allow_wait) note_client_report(req, *who, app);
    return handle_changes(query, req.allow_wait, *who, app);
  }
  if (top == "records" && seg.size() == 3) {
    if (req.method != "GET") return method_not_allowed("GET");
    return handle_record(std::string(seg[2]), *who, app);
  }
  if (top == "records" && seg.size() == 4 && seg[3] == "history") {
    if (req.method != "GET") return method_not_allowed("GET");
    return handle_record_history(std::string(seg[2]), *who, app);
  }
  if (top == "exports" || top == "indicators") {
    if (who->role != sync::Role::kMeOfficer && who->role != sync::Role::kAdmin && who->role != sync::Role::kSupervisor)
      return forbidden("datasets are for M&E officers, supervisors and admins");
    if (top == "exports" && seg.size() == 3)
      return req.method == "GET" ? handle_export(percent_decode(seg[2]), query, *who, app, req.remote) : method_not_allowed("GET");
    if (top == "indicators" && seg.size() == 2)
      return req.method == "GET" ? handle_indicators(query, *who, app) : method_not_allowed("GET");
    return not_found();
  }
  // Attachments (PROTOCOL §14): uploads and the missing-digests query need a device token.
  if (top == "uploads" && (seg.size() == 2 || seg.size() == 3)) {
    const bool create = seg.size() == 2;
    if (create ? req.method != "POST" : req.method != "GET" && req.method != "PATCH")
      return method_not_allowed(create ? "POST" : "GET, HEAD, PATCH");
    if (!who->is_device()) return forbidden("uploading attachments needs a device token (enrol the device)");
    if (!create)
      return req.method == "GET" ? handle_upload_offset(std::string(seg[2]), *who, app)
                                 : handle_upload_append(req, std::string(seg[2]), *who, app);
    HttpRequest decoded = req;
    if (auto err = decode_body(req, app, decoded.body)) return std::move(*err);
    return handle_create_upload(decoded, *who, app);
  }
  if (top == "blobs" && seg.size() == 3 && seg[2] == "missing") {
    if (req.method != "POST") return method_not_allowed("POST");
    if (!who->is_device()) return forbidden("the missing-attachments query needs a device token");
    HttpRequest decoded = req;
    if (auto err = decode_body(req, app, decoded.body)) return std::move(*err);
    return handle_missing_blobs(decoded, *who, app);
  }
  if (top == "blobs" && seg.size() == 3)
    return req.method == "GET" ? handle_get_blob(req, std::string(seg[2]), *who, app) : method_not_allowed("GET");
  if (top == "forms" && seg.size() == 2)
    return req.method == "GET" ? handle_list_forms(*who, false, app) : method_not_allowed("GET");
  if (top == "shared-definitions" && seg.size() == 2)
    return req.method == "GET" ? handle_shared_definitions() : method_not_allowed("GET");
  if (top == "forms" && seg.size() == 4)
    return req.method == "GET" ? handle_get_form(percent_decode(seg[2]), seg[3], *who, app) : method_not_allowed("GET");
  if (top == "me" && seg.size() == 2) return req.method == "GET" ? handle_me(*who) : method_not_allowed("GET");
  if (top == "me" && seg.size() == 3 && seg[2] == "password") {
    if (req.method != "POST") return method_not_allowed("POST");
    HttpRequest decoded = req;
    if (auto err = decode_body(req, app, decoded.body)) return std::move(*err);
    return handle_change_password(decoded, *who, app);
  }
  if (top == "logout" && seg.size() == 2)
    return req.method == "POST" ? handle_logout(*who, req, app) : method_not_allowed("POST");
  if (top == "admin") {
    HttpRequest decoded = req;
    if (auto err = decode_body(req, app, decoded.body)) return std::move(*err);
    return dispatch_admin(decoded, seg, query, *who, app);
  }
  return not_found();
}

// Behind a trusted reverse proxy, the client's address as the proxy forwarded it: the rightmost entry of
// X-Forwarded-For that is not itself a trusted proxy, "<address>:0" (no port is known). nullopt when
// the peer is not a trusted proxy or the header is absent or malformed (the peer's address stands).
std::optional<std::string> forwarded_remote(const HttpRequest& req, const Config& config) {
  if (config.trusted_proxies.empty()) return std::nullopt;
  auto trusted = [&](const std::string& ip) {
    for (const auto& p : config.trusted_proxies)
      if (p == ip) return true;
    return false;
  };
  const std::size_t colon = req.remote.rfind(':');
  auto peer = canonical_ip(std::string_view(req.remote).substr(0, colon));
  if (!peer || !trusted(*peer)) return std::nullopt;
  // All X-Forwarded-For fields, in order, as one list.
  std::string list;
  for (const auto& [k, v] : req.headers)
    if (k == "x-forwarded-for") list += (list.empty() ? "" : ",") + v;
  std::optional<std::string> client;
  std::string_view rest = list;
  std::vector<std::string_view> items;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    items.push_back(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  for (auto it = items.rbegin(); it != items.rend(); ++it) {
    std::string_view item = *it;
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    auto ip = canonical_ip(item);
    if (!ip) return std::nullopt;  // malformed: believe nothing of it
    if (!trusted(*ip)) return *ip + ":0";
  }
  return std::nullopt;
}

}  // namespace

HttpResponse route(const HttpRequest& req_in, AppState& app) {
  std::optional<HttpRequest> forwarded;
  if (auto remote = forwarded_remote(req_in, app.config)) {
    forwarded.emplace(req_in);
    forwarded->remote = std::move(*remote);
  }
  const HttpRequest& req = forwarded ? *forwarded : req_in;
  // A request cut off in transit is acted on only where what arrived is useful alone: an upload chunk.
  if (req.cut && (req.method != "PATCH" || req.target.rfind("/v1/uploads/", 0) != 0))
    return problem(400, "request_cut", "the request was cut off in transit");
  const auto start = std::chrono::steady_clock::now();
  bool authenticated = false;
  std::string principal;
  HttpResponse resp;
  if (req.method == "HEAD") {
    // Answered like GET, without the body (RFC 9110 §9.3.2); never waits.
    HttpRequest get = req;
    get.method = "GET";
    get.allow_wait = false;
    resp = dispatch(get, app, authenticated, principal);
    resp.head = true;
    resp.head_streamed = static_cast<bool>(resp.stream);
    resp.stream = nullptr;
    resp.long_poll.reset();
  } else {
    resp = dispatch(req, app, authenticated, principal);
  }
  resp.authenticated = authenticated;
  resp.principal = std::move(principal);
  resp.route = route_template(req.target);
  if (!req.request_id.empty()) stamp_request_id(resp, req.request_id);  // before compression
  resp.headers.emplace_back("X-Content-Type-Options", "nosniff");
  // Compress larger answers for clients that accept it (slow, metered field links): zstd when asked.
  if (!resp.long_poll && resp.body.size() > 1024) {
    sync::Coding coding = sync::answer_coding(req.header("accept-encoding"));
    if (coding == sync::Coding::kZstd) {
      std::string z = sync::zstd(resp.body, kZstdAnswerLevel, kZstdAnswerFlushEvery);
      if (z.empty()) coding = sync::accepts_gzip(req.header("accept-encoding")) ? sync::Coding::kGzip
                                                                                : sync::Coding::kIdentity;
      else resp.body = std::move(z);
    }
    if (coding == sync::Coding::kGzip) resp.body = sync::gzip(resp.body, kGzipAnswerLevel);
    if (coding != sync::Coding::kIdentity)
      resp.headers.emplace_back("Content-Encoding", std::string(sync::coding_name(coding)));
  }
  resp.headers.emplace_back("Vary", "Accept-Encoding");
  resp.headers.emplace_back("Accept-Encoding", kRequestCodings);
  if (log_enabled(LogLevel::kDebug) || resp.status >= 500) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
    log(resp.status >= 500 ? LogLevel::kError : LogLevel::kDebug,
        req.method + " " + loggable_target(req.target) + " -> " + std::to_string(resp.status) + " " +
            std::to_string(us) + "us from " + req.remote);
  }
  return resp;
}

}  // namespace akt::server

// The aktsync commands. The edge of the program: the wall clock and the random source are read here
// and handed to the store and the sync client as arguments.
#include "clients/cli.hpp"

#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <random>
#include <algorithm>
#include <array>

#include "clients/http_client.hpp"
#include "clients/record_json.hpp"
#include "clients/sync_client.hpp"
#include "sync/uuid.hpp"

#include <nlohmann/json.hpp>

namespace akt::client::cli {
namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::uint64_t random64() {
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

std::string iso_time(std::int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Refuses options the command does not know, so that a typo is not silently ignored.
bool check_opts(const Args& a, std::initializer_list<const char*> known, std::size_t positional, int& code) {
  for (const auto& [name, values] : a.opts) {
    bool ok = false;
    for (const char* k : known) ok = ok || name == k;
    if (!ok) {
      code = fail(kUsage, "unknown option --" + name + " for " + a.command + " (see aktsync " + a.command + " --help)");
      return false;
    }
  }
  if (a.positional.size() != positional) {
    code = fail(kUsage, a.command + (positional ? " takes a RECORD id" : " takes no arguments") + " (see aktsync " +
                            a.command + " --help)");
    return false;
  }
  return true;
}

}  // namespace

bool parse_server(std::string s, std::string& host, std::uint16_t& port, bool& tls) {
  tls = s.rfind("https://", 0) == 0;
  if (tls) s = s.substr(8);
  else if (s.rfind("http://", 0) == 0) s = s.substr(7);
  const std::size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  host = s.substr(0, colon);
  const std::string p = s.substr(colon + 1);
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) return false;
  const int v = std::stoi(p);
  if (v < 1 || v > 65535) return false;
  port = static_cast<std::uint16_t>(v);
  return true;
}

bool parse_duration(const std::string& s, std::chrono::milliseconds& out) {
  std::size_t digits = 0;
  while (digits < s.size() && std::isdigit(static_cast<unsigned char>(s[digits]))) ++digits;
  if (digits == 0 || digits > 9) return false;
  const long long n = std::stoll(s.substr(0, digits));
  const std::string unit = s.substr(digits);
  long long ms = 0;
  if (unit.empty() || unit == "s") ms = n * 1000;
  else if (unit == "ms") ms = n;
  else if (unit == "m" || unit == "min") ms = n * 60000;
  else if (unit == "h") ms = n * 3600000;
  else return false;
  if (ms <= 0) return false;
  out = std::chrono::milliseconds(ms);
  return true;
}

namespace {

// --timeout-ms, --stall-timeout, --ca and --pin into `ho` (the device's stored trust unless --ca or
// --pin is given). An exit code, kOk when fine.
int link_options(const Args& a, const store::TlsTrust& stored, HttpOptions& ho) {
  ho.timeout = std::chrono::seconds(30);  // a field link: fail (and retry) soon rather than wait
  ho.stall_timeout = std::chrono::seconds(30);
  if (const std::string* t = a.opt("timeout-ms")) {
    if (t->empty() || t->size() > 7 || t->find_first_not_of("0123456789") != std::string::npos || std::stoi(*t) < 1)
      return fail(kUsage, "--timeout-ms must be a positive integer");
    ho.timeout = std::chrono::milliseconds(std::stoi(*t));
  }
  if (const std::string* t = a.opt("stall-timeout")) {
    if (!parse_duration(*t, ho.stall_timeout))
      return fail(kUsage, "--stall-timeout must be a duration such as 30s, 2m or 90, got '" + *t + "'");
  }
  const std::string *ca = a.opt("ca"), *pin = a.opt("pin");
  if (ca && pin) return fail(kUsage, "give --ca or --pin, not both");
  ho.ca_pem = stored.ca_pem;
  ho.pin_sha256 = stored.pin_sha256;
  if (ca) {
    ho.ca_file = *ca;  // read by the client, which reports a missing or unreadable file
    ho.ca_pem.clear();
    ho.pin_sha256.clear();
  } else if (pin) {
    if (normalize_pin(*pin).empty())
      return fail(kUsage, "--pin must be the server certificate's SHA-256 fingerprint (64 hex digits, colons "
                          "allowed), got '" + *pin + "'");
    ho.pin_sha256 = normalize_pin(*pin);
    ho.ca_pem.clear();
  }
  return kOk;
}

// The trust to keep at init: the PEM text of --ca FILE, or the --pin. An exit code, kOk when fine.
int trust_to_store(const Args& a, store::TlsTrust& trust) {
  if (const std::string* ca = a.opt("ca")) {
    std::ifstream f(*ca, std::ios::binary);
    std::stringstream text;
    text << f.rdbuf();
    if (!f || text.str().find("-----BEGIN CERTIFICATE-----") == std::string::npos)
      return fail(kUsage, "--ca " + *ca + ": cannot read a PEM certificate from it");
    trust.ca_pem = text.str();
  }
  if (const std::string* pin = a.opt("pin")) trust.pin_sha256 = normalize_pin(*pin);
  return kOk;
}

// The server's per-field problems of a rejected edit (a JSON array of {path, code, message}), one
// "path: code: message" line each.
std::vector<std::string> field_problems(const std::string& fields) {
  std::vector<std::string> out;
  if (fields.empty()) return out;
  auto j = nlohmann::json::parse(fields, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& f : j) {
    if (!f.is_object()) continue;
    auto str = [&f](const char* k) {
      auto it = f.find(k);
      return it != f.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    const std::string path = str("path"), code = str("code"), message = str("message");
    out.push_back((path.empty() ? std::string("(record)") : path) + ": " + code + (message.empty() ? "" : ": " + message));
  }
  return out;
}

int fail_link(const Status& st, const std::string& what) {
  if (st.code() == Status::Code::kInvalidArgument) return fail(kLinkSetup, what + ": " + st.message());
  return fail(kUnreachable, what + ": " + st.message());
}

Result<store::LocalRecord> find_record(store::TabletStore& store, const std::string& id) {
  auto r = store.record(id);
  if (!r.ok()) return r.status();
  if (!*r) return Status::not_found("no record " + id + " in this database (see aktsync list)");
  return std::move(**r);
}

}  // namespace

int fail(int code, const std::string& msg) {
  std::fprintf(stderr, "aktsync: %s\n", msg.c_str());
  return code;
}

int fail_status(const Status& st, const std::string& what) {
  switch (st.code()) {
    case Status::Code::kUnauthenticated:
    case Status::Code::kForbidden: return fail(kAuth, what + ": " + st.message());
    default: return fail(kError, what + ": " + st.message());
  }
}

int cmd_init(const Args& a, store::TabletStore& store) {
  int code = 0;
  if (!check_opts(a, {"server", "actor", "token", "code", "ca", "pin", "timeout-ms", "stall-timeout"}, 0, code))
    return code;
  const std::string *server = a.opt("server"), *actor = a.opt("actor"), *token = a.opt("token"),
                    *enrol_code = a.opt("code");
  if (!server || (enrol_code ? token != nullptr : (!actor || !token)))
    return fail(kUsage,
                "init needs --server HOST:PORT and either --code ENROLMENT-CODE (from an admin) or --actor UUID "
                "and --token TOKEN (see aktsync init --help)");
  std::string host;
  std::uint16_t port = 0;
  HttpOptions ho;
  if (!parse_server(*server, host, port, ho.tls))
    return fail(kUsage, "--server must be HOST:PORT or https://HOST:PORT, got '" + *server + "'");
  if (store.device().ok())
    return fail(kError, a.db + " already is a device; use a new database file for a new device");
  store::TlsTrust trust;
  if (int c = trust_to_store(a, trust); c != kOk) return c;
  if (int c = link_options(a, trust, ho); c != kOk) return c;
  if (!ho.tls && (a.opt("ca") || a.opt("pin")))
    return fail(kUsage, "--ca and --pin are for an https:// server");
  std::string dev_actor = actor ? *actor : std::string(), dev_token = token ? *token : std::string();
  std::string enrolled_as;
  bool takes_zstd = false;  // the enrolment's answer advertised zstd uploads (kept for the first sync)
  if (enrol_code) {
    // DESIGN §2: a new random actor per install, unless the caller brings its own.
    if (dev_actor.empty()) {
      std::random_device rd;
      std::array<std::uint8_t, 16> b{};
      for (auto& x : b) x = static_cast<std::uint8_t>(rd());
      dev_actor = sync::format_uuid(sync::make_uuid_v4(b));
    } else if (!sync::is_uuid(dev_actor)) {
      return fail(kUsage, "--actor must be a UUID, got '" + dev_actor + "'");
    }
    HttpClient http(host, port, ho);
    const nlohmann::json req{{"code", *enrol_code}, {"actor", dev_actor}, {"app_version", "aktsync-cli"}};
    auto r = http.request("POST", "/v1/enrol", req.dump(), {{"Content-Type", "application/json"}});
    if (!r.ok()) {
      if (r.status().code() == Status::Code::kInvalidArgument) return fail_link(r.status(), "enrol");
      return fail(kUnreachable, "enrol: server " + *server + " unreachable: " + r.status().message());
    }
    auto [pcode, detail] = problem_of(r->body);
    const std::string why = pcode.empty() ? "HTTP " + std::to_string(r->status) : pcode + (detail.empty() ? "" : ": " + detail);
    switch (r->status) {
      case 201: break;
      case 401:
        return fail(kAuth, "enrol: the code was not accepted (unknown, already used or expired); ask an admin for a "
                           "new one (" + why + ")");
      case 409:
        return fail(kError, "enrol: the actor id " + dev_actor + " is already registered; " +
                                (actor ? "omit --actor to make a new one" : "run init again") + " (" + why + ")");
      case 429: return fail(kAuth, "enrol: too many failed attempts from this address; wait and try again (" + why + ")");
      case 400: return fail(kUsage, "enrol: the server refused the request (" + why + ")");
      default:
        return fail(r->status >= 500 ? kUnreachable : kError, "enrol: unexpected answer (" + why + ")");
    }
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("token") || !j["token"].is_string() || !j.contains("actor") ||
        !j["actor"].is_string())
      return fail(kError, "enrol: the server's answer has no token");
    takes_zstd = http.server_takes_zstd();
    dev_token = j["token"].get<std::string>();
    dev_actor = j["actor"].get<std::string>();
    if (j.contains("user") && j["user"].is_object())
      enrolled_as = " (user " + j["user"].value("username", std::string("?")) + ", " +
                    j["user"].value("role", std::string("?")) + ", device name '" +
                    j.value("device_name", std::string()) + "')";
  }
  if (Status st = store.init({dev_actor, *server, dev_token}, random64(), now_ms()); !st.ok()) {
    if (enrol_code)  // the code is used up: do not lose the token it bought
      return fail(kError, "init: " + st.message() + "; the device was enrolled: run init again on a working database "
                  "with --actor " + dev_actor + " --token " + dev_token);
    return fail_status(st, "init");
  }
  if (!trust.ca_pem.empty() || !trust.pin_sha256.empty()) {
    if (Status st = store.set_tls_trust(trust); !st.ok()) return fail_status(st, "init");
  }
  if (takes_zstd) {
    if (Status st = store.set_server_takes_zstd(*server, true); !st.ok()) return fail_status(st, "init");
  }
  std::printf("initialised %s as device %s for server %s%s\n", a.db.c_str(), dev_actor.c_str(), server->c_str(),
              enrolled_as.c_str());
  return kOk;
}

// A device whose token expired or was revoked enrols again with a new code under the actor it already
// has, so its unsynced edits stay its own (SECURITY.md §3.1). Only the token changes locally.
int cmd_reenrol(const Args& a, store::TabletStore& store) {
  int code = 0;
  if (!check_opts(a, {"code", "ca", "pin", "timeout-ms", "stall-timeout"}, 0, code)) return code;
  const std::string* enrol_code = a.opt("code");
  if (!enrol_code) return fail(kUsage, "reenrol needs --code ENROLMENT-CODE (a new code an admin issued for your user)");
  auto dev = store.device();
  if (!dev.ok()) return fail_status(dev.status(), "reenrol");
  std::string host;
  std::uint16_t port = 0;
  HttpOptions ho;
  if (!parse_server(dev->config.server, host, port, ho.tls))
    return fail(kError, "reenrol: the device's server '" + dev->config.server + "' is not HOST:PORT");
  auto stored = store.tls_trust();
  if (!stored.ok()) return fail_status(stored.status(), "reenrol");
  if (int c = link_options(a, *stored, ho); c != kOk) return c;
  HttpClient http(host, port, ho);
  const nlohmann::json req{{"code", *enrol_code}, {"actor", dev->config.actor}, {"app_version", "aktsync-cli"}};
  auto r = http.request("POST", "/v1/enrol", req.dump(), {{"Content-Type", "application/json"}});
  if (!r.ok() && r.status().code() == Status::Code::kInvalidArgument) return fail_link(r.status(), "reenrol");
  if (!r.ok()) return fail(kUnreachable, "reenrol: server " + dev->config.server + " unreachable: " + r.status().message());
  auto [pcode, detail] = problem_of(r->body);
  const std::string why = pcode.empty() ? "HTTP " + std::to_string(r->status) : pcode + (detail.empty() ? "" : ": " + detail);
  switch (r->status) {
    case 201: break;
    case 401:
      return fail(kAuth, "reenrol: the code was not accepted (unknown, already used or expired); ask an admin for a "
                         "new one (" + why + ")");
    case 409:
      return fail(kError, "reenrol: the server does not let this code take actor " + dev->config.actor +
                              " (it belongs to another user's device, or is reserved); ask an admin (" + why + ")");
    case 429: return fail(kAuth, "reenrol: too many failed attempts from this address; wait and try again (" + why + ")");
    case 400: return fail(kUsage, "reenrol: the server refused the request (" + why + ")");
    default: return fail(r->status >= 500 ? kUnreachable : kError, "reenrol: unexpected answer (" + why + ")");
  }
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("token") || !j["token"].is_string() ||
      j.value("actor", std::string()) != dev->config.actor)
    return fail(kError, "reenrol: the server's answer has no token for actor " + dev->config.actor);
  const std::string token = j["token"].get<std::string>();
  if (Status st = store.set_token(token); !st.ok())
    return fail(kError, "reenrol: " + st.message() + "; the device was enrolled again: its new token is " + token);
  std::printf("re-enrolled device %s with server %s; unsynced edits will sync under the same actor\n",
              dev->config.actor.c_str(), dev->config.server.c_str());
  return kOk;
}

int cmd_new(const Args& a, store::TabletStore& store) {
  int code = 0;
  if (!check_opts(a, {"form", "version", "municipality", "community", "component", "body", "set"}, 0, code)) return code;
  store::NewRecord nr;
  const std::string *form = a.opt("form"), *version = a.opt("version"), *mun = a.opt("municipality"),
                    *com = a.opt("community"), *comp = a.opt("component");
  if (!form || !version || !mun || !com || !comp)
    return fail(kUsage, "new needs --form, --version, --municipality, --community and --component");
  if (version->empty() || version->size() > 9 || version->find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(*version) < 1)
    return fail(kUsage, "--version must be a form version >= 1, got '" + *version + "'");
  if (*comp != "SO1" && *comp != "SO2" && *comp != "SO3")
    return fail(kUsage, "--component must be SO1, SO2 or SO3, got '" + *comp + "'");
  for (const std::string* v : {form, mun, com})
    if (!is_utf8_text(*v)) return fail(kUsage, "--form, --municipality and --community must be UTF-8 text");
  nr.form_id = *form;
  nr.form_version = std::stoi(*version);
  nr.scope = {*mun, *com, *comp};
  // Every field of a new record counts as set by its first save (DESIGN §2: `changed`).
  BodyEdit be{"{}", {}};
  if (const std::string* body = a.opt("body")) {
    auto d = diff_body("{}", *body);
    if (!d.ok()) return fail(kUsage, "--body: " + d.status().message());
    be = std::move(*d);
  }
  const auto sets = a.opts.count("set") ? a.opts.at("set") : std::vector<std::string>();
  auto s = apply_sets(be.body, sets);
  if (!s.ok()) return fail(kUsage, "--set: " + s.status().message());
  for (const auto& k : s->changed)
    if (std::find(be.changed.begin(), be.changed.end(), k) == be.changed.end()) be.changed.push_back(k);
  if (be.changed.empty()) return fail(kUsage, "nothing to save: give --set key=value or --body JSON");
  nr.body = s->body;
  nr.changed = be.changed;
  // The record id is a UUIDv7: the time orders inserts, 80 random bits keep tablets apart.
  std::uint64_t r1 = random64(), r2 = random64();
  std::array<std::uint8_t, 10> random{};
  for (std::size_t i = 0; i < random.size(); ++i)
    random[i] = static_cast<std::uint8_t>(i < 8 ? r1 >> (8 * i) : r2 >> (8 * (i - 8)));
  auto id = store.create(nr, now_ms(), random);
  if (!id.ok()) return fail_status(id.status(), "new");
  std::printf("%s\n", id->c_str());
  return kOk;
}

int cmd_edit(const Args& a, store::TabletStore& store) {
  int code = 0;
  if (!check_opts(a, {"body", "set"}, 1, code)) return code;
  auto rec = find_record(store, a.positional[0]);
  if (!rec.ok()) return fail_status(rec.status(), "edit");
  if (rec->live.empty() || rec->is_deleted()) return fail(kError, "edit: record " + rec->record_id + " is deleted");
  // The edit starts from the version the user is shown as current (in a conflict, the device's own line).
  BodyEdit be{rec->live[rec->current].body, {}};
  if (const std::string* body = a.opt("body")) {
    auto d = diff_body(be.body, *body);
    if (!d.ok()) return fail(kUsage, "--body: " + d.status().message());
    be = std::move(*d);
  }
  const auto sets = a.opts.count("set") ? a.opts.at("set") : std::vector<std::string>();
  if (sets.empty() && !a.opt("body")) return fail(kUsage, "edit needs --set key=value or --body JSON");
  auto s = apply_sets(be.body, sets);
  if (!s.ok()) return fail(kUsage, "--set: " + s.status().message());
  for (const auto& k : s->changed)
    if (std::find(be.changed.begin(), be.changed.end(), k) == be.changed.end()) be.changed.push_back(k);
  // A --body identical to the current one saves nothing (a --set always counts, even to the same value).
  if (be.changed.empty()) {
    std::printf("nothing changed\n");
    return kOk;
  }
  auto dot = store.edit(rec->record_id, s->body, be.changed, now_ms());
  if (!dot.ok()) return fail_status(dot.status(), "edit");
  std::printf("saved %s (edit %lld, not synced yet)\n", rec->record_id.c_str(), static_cast<long long>(dot->n));
  return kOk;
}

int cmd_delete(const Args& a, store::TabletStore& store) {
  int code = 0;
  if (!check_opts(a, {}, 1, code)) return code;
  auto rec = find_record(store, a.positional[0]);
  if (!rec.ok()) return fail_status(rec.status(), "delete");
  auto dot = store.remove(rec->record_id, now_ms());
  if (!dot.ok()) return fail_status(dot.status(), "delete");
  std::printf("deleted %s (not synced yet)\n", rec->record_id.c_str());
  return kOk;
}

int cmd_show(const Args& a, store::TabletStore& store) {
  int code = 0;
  if (!check_opts(a, {"json", "lang", "form"}, 1, code)) return code;
  auto rec = find_record(store, a.positional[0]);
  if (!rec.ok()) return fail_status(rec.status(), "show");
  if (const std::string* lang = a.opt("lang"); lang != nullptr && !a.opt("json"))
    return show_labelled(*rec, *lang, a.opt("form"));  // record_labels.cpp
  std::printf("%s\n", a.opt("json") ? record_jsonl(*rec).c_str() : describe_record(*rec).c_str());
  return kOk;
}

namespace {

Result<std::vector<store::LocalRecord>> all_records(store::TabletStore& store) {
  auto ids = store.record_ids();
  if (!ids.ok()) return ids.status();
  std::vector<store::LocalRecord> out;
  for (const std::string& id : *ids) {
    auto r = find_record(store, id);
    if (!r.ok()) return r.status();
    out.push_back(std::move(*r));
  }
  return out;
}

}  // namespace

std::string record_state(const store::LocalRecord& r) {
  std::string state = r.is_deleted() ? "deleted" : "active";
  if (r.is_conflict()) state += " CONFLICT";
  if (r.unsynced) state += " unsynced";
  return state;
}

int cmd_list(const Args& a, store::TabletStore& store) {
  int code = 0;
  if (!check_opts(a, {"lang", "form"}, 0, code)) return code;
  auto recs = all_records(store);
  if (!recs.ok()) return fail_status(recs.status(), "list");
  if (const std::string* lang = a.opt("lang")) return list_labelled(*recs, *lang, a.opt("form"));  // record_labels.cpp
  for (const auto& r : *recs) {
    std::printf("%s  %s v%lld  %s/%s/%s  %s\n", r.record_id.c_str(), r.form_id.c_str(),
                static_cast<long long>(r.form_version), r.scope.municipality.c_str(), r.scope.community.c_str(),
                r.scope.component.c_str(), record_state(r).c_str());
  }
  return kOk;
}

namespace {

std::string human_bytes(std::uint64_t b) {
  char buf[32];
  if (b < 10 * 1024) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(b));
  else if (b < 10ull * 1024 * 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(b) / 1024);
  else std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(b) / (1024.0 * 1024));
  return buf;
}

// The progress line of `sync` on a terminal: records and bytes each way, and the recent rate.
class ProgressLine {
 public:
  explicit ProgressLine(bool on) : on_(on), start_(Clock::now()), window_start_(start_) {}
  void bytes(std::size_t sent, std::size_t received) {
    up_ += sent;
    down_ += received;
    window_bytes_ += sent + received;
    draw(false);
  }
  void records(const SyncSummary& s) {
    pushed_ = s.pushed;
    pulled_ = s.pulled;
    draw(true);
  }
  void end() {
    if (on_ && drawn_) std::fprintf(stderr, "\n");
  }

 private:
  using Clock = std::chrono::steady_clock;
  void draw(bool force) {
    if (!on_) return;
    const auto now = Clock::now();
    if (!force && now - last_draw_ < std::chrono::milliseconds(250)) return;
    last_draw_ = now;
    const double window = std::chrono::duration<double>(now - window_start_).count();
    if (window >= 2.0) {  // the rate over the last few seconds
      rate_ = static_cast<double>(window_bytes_) / window;
      window_bytes_ = 0;
      window_start_ = now;
    } else if (rate_ == 0 && window > 0.2) {
      rate_ = static_cast<double>(window_bytes_) / window;
    }
    std::fprintf(stderr, "\rsync: up %zu edits, %s; down %zu records, %s; %s/s; %.0f s   ", pushed_,
                 human_bytes(up_).c_str(), pulled_, human_bytes(down_).c_str(),
                 human_bytes(static_cast<std::uint64_t>(rate_)).c_str(),
                 std::chrono::duration<double>(now - start_).count());
    std::fflush(stderr);
    drawn_ = true;
  }
  bool on_;
  bool drawn_ = false;
  Clock::time_point start_, window_start_, last_draw_{};
  std::uint64_t up_ = 0, down_ = 0, window_bytes_ = 0;
  std::size_t pushed_ = 0, pulled_ = 0;
  double rate_ = 0;
};

}  // namespace

int cmd_sync(const Args& a, store::TabletStore& store) {
  int code = 0;
  if (!check_opts(a, {"attempts", "timeout-ms", "stall-timeout", "retry-for", "ca", "pin", "progress"}, 0, code))
    return code;
  auto dev = store.device();
  if (!dev.ok()) return fail_status(dev.status(), "sync");
  auto trust = store.tls_trust();
  if (!trust.ok()) return fail_status(trust.status(), "sync");
  std::string host;
  std::uint16_t port = 0;
  HttpOptions ho;
  if (!parse_server(dev->config.server, host, port, ho.tls))
    return fail(kError, "bad server in database: " + dev->config.server);
  if (int c = link_options(a, *trust, ho); c != kOk) return c;
  ho.gzip_requests = true;  // field links are slow and metered
  SyncOptions so;
  so.jitter_seed = random64();
  if (const std::string* v = a.opt("attempts")) {
    if (v->empty() || v->size() > 7 || v->find_first_not_of("0123456789") != std::string::npos || std::stoi(*v) < 1)
      return fail(kUsage, "--attempts must be a positive integer");
    so.max_attempts = std::stoi(*v);
  }
  if (const std::string* v = a.opt("retry-for")) {
    if (!parse_duration(*v, so.retry_for))
      return fail(kUsage, "--retry-for must be a duration such as 10m, 90s or 1h, got '" + *v + "'");
  }
  // A progress line only for a person watching: both the summary (stdout) and the line (stderr) go to a
  // terminal. Piped or logged output gets the summary alone, without carriage-return litter.
  bool progress = isatty(fileno(stdout)) == 1 && isatty(fileno(stderr)) == 1;
  if (const std::string* v = a.opt("progress")) {
    if (*v != "on" && *v != "off") return fail(kUsage, "--progress must be on or off");
    progress = *v == "on";
  }
  ProgressLine line(progress);
  ho.on_bytes = [&line](std::size_t sent, std::size_t received) { line.bytes(sent, received); };
  so.on_progress = [&line](const SyncSummary& s) { line.records(s); };
  const auto started = std::chrono::steady_clock::now();
  HttpClient http(host, port, ho);
  so.partial_answer = [&http] { return http.partial_answer(); };  // a cut feed page resumes mid-page
  // Batches and pages sized to ~8 s of the measured link; the first ones from the rates the last sync to
  // this server measured and kept in the tablet store (SyncOptions::link_memory, 3 days).
  so.target_request_time = std::chrono::seconds(8);
  so.upload_rate = [&http](double r) { http.set_upload_rate(r); };  // zstd level from the link's speed
  // A server that took zstd uploads in an earlier run gets this run's first upload zstd too.
  if (Status st = recall_upload_coding(store, dev->config.server, http); !st.ok()) return fail_status(st, "sync");
  SyncClient client(store, http_transport(http), so);
  auto s = client.sync(now_ms());
  line.end();
  (void)remember_upload_coding(store, dev->config.server, http);  // best effort: a hint for the next run
  // What was done is always said, also after a failure: all of it is durable, and the next `sync`
  // continues from there.
  const SyncSummary& done = s.ok() ? *s : client.summary();
  const TransferStats& t = http.stats();
  std::printf("pushed     %zu\napplied    %zu\nconcurrent %zu\nsuperseded %zu\nduplicate  %zu\nrejected   %zu\n"
              "pulled     %zu\nconflicts  %zu\nunsynced   %zu\n",
              done.pushed, done.applied, done.concurrent, done.superseded, done.duplicate, done.rejected, done.pulled,
              done.conflicts, done.unsynced);
  std::printf("sent       %s in %llu request(s)%s\nreceived   %s\ntime       %.1f s\n",
              human_bytes(t.bytes_sent).c_str(), static_cast<unsigned long long>(t.requests),
              t.failed ? (", " + std::to_string(t.failed) + " cut or unanswered (" +
                          human_bytes(t.bytes_sent_failed) + " of them sent again)")
                             .c_str()
                       : "",
              human_bytes(t.bytes_received).c_str(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  std::fflush(stdout);
  if (!s.ok()) {
    switch (s.status().code()) {
      case Status::Code::kIOError: return fail(kUnreachable, "sync: " + s.status().message());
      case Status::Code::kInvalidArgument: return fail(kLinkSetup, "sync: " + s.status().message());
      case Status::Code::kConflict: return fail(kRestored, "sync: " + s.status().message());
      default: return fail_status(s.status(), "sync");
    }
  }
  // Photos after the records: the records are the data, the files may follow (PROTOCOL §14.5).
  if (int rc = sync_attachments(a, store, host, port, ho); rc != kOk) return rc;
  if (s->epoch_reset) std::printf("note: the server has a new epoch; unacknowledged edits were pushed again\n");
  for (const auto& r : s->rejections) {
    std::fprintf(stderr, "aktsync: rejected: record %s edit %lld: %s: %s\n", r.record_id.c_str(),
                 static_cast<long long>(r.dot.n), r.code.c_str(), r.detail.c_str());
    for (const auto& f : field_problems(r.fields)) std::fprintf(stderr, "aktsync:   %s\n", f.c_str());
  }
  return s->rejections.empty() ? kOk : kRejected;
}

int cmd_status(const Args& a, store::TabletStore& store) {
  int code = 0;
  if (!check_opts(a, {}, 0, code)) return code;
  auto dev = store.device();
  auto st = store.stats();
  if (!dev.ok()) return fail_status(dev.status(), "status");
  if (!st.ok()) return fail_status(st.status(), "status");
  std::printf("actor      %s\nserver     %s\nrecords    %zu\nunsynced   %zu\nconflicts  %zu\nrejected   %zu\n"
              "last sync  %s\ncursor     %s\nepoch      %s\n",
              dev->config.actor.c_str(), dev->config.server.c_str(), st->records, st->unsynced, st->conflicts,
              st->rejected, dev->last_sync_ms ? iso_time(dev->last_sync_ms).c_str() : "never",
              dev->cursor.empty() ? "(start)" : dev->cursor.c_str(), dev->epoch.empty() ? "-" : dev->epoch.c_str());
  return kOk;
}

// Exports the local view (server versions plus unsynced edits); the M&E export proper is server-side.
int cmd_pull(const Args& a, store::TabletStore& store) {
  int code = 0;
  if (!check_opts(a, {"format", "out"}, 0, code)) return code;
  const std::string* format = a.opt("format");
  if (!format || (*format != "jsonl" && *format != "csv")) return fail(kUsage, "pull needs --format jsonl or csv");
  auto recs = all_records(store);
  if (!recs.ok()) return fail_status(recs.status(), "pull");
  std::string out;
  if (*format == "csv") {
    out = records_csv(*recs);
  } else {
    for (const auto& r : *recs) out += record_jsonl(r) + "\n";
  }
  if (const std::string* file = a.opt("out")) {
    std::ofstream f(*file, std::ios::binary | std::ios::trunc);
    f << out;
    if (!f.flush()) return fail(kError, "pull: cannot write " + *file);
  } else {
    std::fwrite(out.data(), 1, out.size(), stdout);
  }
  return kOk;
}

int cmd_rejected(const Args& a, store::TabletStore& store) {
  int code = 0;
  if (!check_opts(a, {"json"}, 0, code)) return code;
  auto rej = store.rejected();
  if (!rej.ok()) return fail_status(rej.status(), "rejected");
  if (a.opt("json")) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : *rej) {
      auto fields = nlohmann::json::parse(r.fields.empty() ? "[]" : r.fields, nullptr, false);
      out.push_back({{"record", r.record_id},
                     {"edit", r.dot.n},
                     {"batch", r.batch_id},
                     {"code", r.code},
                     {"detail", r.detail},
                     {"fields", fields.is_array() ? fields : nlohmann::json::array()}});
    }
    std::printf("%s\n", out.dump(1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return kOk;
  }
  for (const auto& r : *rej) {
    std::printf("%s  edit %lld  batch %s  %s: %s\n", r.record_id.c_str(), static_cast<long long>(r.dot.n),
                r.batch_id.c_str(), r.code.c_str(), r.detail.c_str());
    for (const auto& f : field_problems(r.fields)) std::printf("    %s\n", f.c_str());
  }
  if (rej->empty()) std::printf("no rejected edits\n");
  return kOk;
}

}  // namespace akt::client::cli

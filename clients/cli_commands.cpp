// The aktsync commands. The edge of the program: the wall clock and the random source are read here
// and handed to the store and the sync client as arguments.
#include "clients/cli.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
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

namespace {

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
  if (!check_opts(a, {"server", "actor", "token", "code", "ca", "timeout-ms"}, 0, code)) return code;
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
  std::string dev_actor = actor ? *actor : std::string(), dev_token = token ? *token : std::string();
  std::string enrolled_as;
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
    if (const std::string* ca = a.opt("ca")) ho.ca_file = *ca;
    if (const std::string* t = a.opt("timeout-ms")) {
      if (t->empty() || t->size() > 7 || t->find_first_not_of("0123456789") != std::string::npos || std::stoi(*t) < 1)
        return fail(kUsage, "--timeout-ms must be a positive integer");
      ho.timeout = std::chrono::milliseconds(std::stoi(*t));
    }
    HttpClient http(host, port, ho);
    const nlohmann::json req{{"code", *enrol_code}, {"actor", dev_actor}, {"app_version", "aktsync-cli"}};
    auto r = http.request("POST", "/v1/enrol", req.dump(), {{"Content-Type", "application/json"}});
    if (!r.ok()) return fail(kUnreachable, "enrol: server " + *server + " unreachable: " + r.status().message());
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
  std::printf("initialised %s as device %s for server %s%s\n", a.db.c_str(), dev_actor.c_str(), server->c_str(),
              enrolled_as.c_str());
  return kOk;
}

// A device whose token expired or was revoked enrols again with a new code under the actor it already
// has, so its unsynced edits stay its own (SECURITY.md §3.1). Only the token changes locally.
int cmd_reenrol(const Args& a, store::TabletStore& store) {
  int code = 0;
  if (!check_opts(a, {"code", "ca", "timeout-ms"}, 0, code)) return code;
  const std::string* enrol_code = a.opt("code");
  if (!enrol_code) return fail(kUsage, "reenrol needs --code ENROLMENT-CODE (a new code an admin issued for your user)");
  auto dev = store.device();
  if (!dev.ok()) return fail_status(dev.status(), "reenrol");
  std::string host;
  std::uint16_t port = 0;
  HttpOptions ho;
  if (!parse_server(dev->config.server, host, port, ho.tls))
    return fail(kError, "reenrol: the device's server '" + dev->config.server + "' is not HOST:PORT");
  if (const std::string* ca = a.opt("ca")) ho.ca_file = *ca;
  if (const std::string* t = a.opt("timeout-ms")) {
    if (t->empty() || t->size() > 7 || t->find_first_not_of("0123456789") != std::string::npos || std::stoi(*t) < 1)
      return fail(kUsage, "--timeout-ms must be a positive integer");
    ho.timeout = std::chrono::milliseconds(std::stoi(*t));
  }
  HttpClient http(host, port, ho);
  const nlohmann::json req{{"code", *enrol_code}, {"actor", dev->config.actor}, {"app_version", "aktsync-cli"}};
  auto r = http.request("POST", "/v1/enrol", req.dump(), {{"Content-Type", "application/json"}});
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

int cmd_list(const Args& a, store::TabletStore& store) {
  int code = 0;
  if (!check_opts(a, {}, 0, code)) return code;
  auto recs = all_records(store);
  if (!recs.ok()) return fail_status(recs.status(), "list");
  for (const auto& r : *recs) {
    std::string state = r.is_deleted() ? "deleted" : "active";
    if (r.is_conflict()) state += " CONFLICT";
    if (r.unsynced) state += " unsynced";
    std::printf("%s  %s v%lld  %s/%s/%s  %s\n", r.record_id.c_str(), r.form_id.c_str(),
                static_cast<long long>(r.form_version), r.scope.municipality.c_str(), r.scope.community.c_str(),
                r.scope.component.c_str(), state.c_str());
  }
  return kOk;
}

int cmd_sync(const Args& a, store::TabletStore& store) {
  int code = 0;
  if (!check_opts(a, {"attempts", "timeout-ms", "ca"}, 0, code)) return code;
  auto dev = store.device();
  if (!dev.ok()) return fail_status(dev.status(), "sync");
  std::string host;
  std::uint16_t port = 0;
  HttpOptions ho;
  if (!parse_server(dev->config.server, host, port, ho.tls))
    return fail(kError, "bad server in database: " + dev->config.server);
  if (const std::string* ca = a.opt("ca")) ho.ca_file = *ca;  // a private CA's certificate (PEM)
  ho.gzip_requests = true;  // field links are slow and metered
  SyncOptions so;
  so.jitter_seed = random64();
  for (const char* name : {"attempts", "timeout-ms"}) {
    if (const std::string* v = a.opt(name)) {
      if (v->empty() || v->size() > 7 || v->find_first_not_of("0123456789") != std::string::npos || std::stoi(*v) < 1)
        return fail(kUsage, std::string("--") + name + " must be a positive integer");
      if (name == std::string("attempts")) so.max_attempts = std::stoi(*v);
      else ho.timeout = std::chrono::milliseconds(std::stoi(*v));
    }
  }
  HttpClient http(host, port, ho);
  SyncClient client(store, http_transport(http), so);
  auto s = client.sync(now_ms());
  // Whatever was done before a failure is durable; the next `sync` continues from there.
  if (!s.ok()) {
    switch (s.status().code()) {
      case Status::Code::kIOError: return fail(kUnreachable, "sync: " + s.status().message());
      case Status::Code::kConflict: return fail(kRestored, "sync: " + s.status().message());
      default: return fail_status(s.status(), "sync");
    }
  }
  std::printf("pushed     %zu\napplied    %zu\nconcurrent %zu\nsuperseded %zu\nduplicate  %zu\nrejected   %zu\n"
              "pulled     %zu\nconflicts  %zu\n",
              s->pushed, s->applied, s->concurrent, s->superseded, s->duplicate, s->rejected, s->pulled, s->conflicts);
  // Photos after the records: the records are the data, the files may follow (PROTOCOL §14.5).
  if (int rc = sync_attachments(a, store, host, port, ho); rc != kOk) return rc;
  if (s->epoch_reset) std::printf("note: the server has a new epoch; unacknowledged edits were pushed again\n");
  for (const auto& r : s->rejections)
    std::fprintf(stderr, "aktsync: rejected: record %s edit %lld: %s: %s\n", r.record_id.c_str(),
                 static_cast<long long>(r.dot.n), r.code.c_str(), r.detail.c_str());
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
  if (!check_opts(a, {}, 0, code)) return code;
  auto rej = store.rejected();
  if (!rej.ok()) return fail_status(rej.status(), "rejected");
  for (const auto& r : *rej)
    std::printf("%s  edit %lld  batch %s  %s: %s\n", r.record_id.c_str(), static_cast<long long>(r.dot.n),
                r.batch_id.c_str(), r.code.c_str(), r.detail.c_str());
  if (rej->empty()) std::printf("no rejected edits\n");
  return kOk;
}

}  // namespace akt::client::cli

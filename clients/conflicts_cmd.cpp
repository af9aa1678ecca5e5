// Commands that sign in with a user account: the session helpers, and `aktsync conflicts list|show|resolve`,
// the conflict inbox (docs/PROTOCOL.md §11, docs/CONFLICTS.md) from a terminal. Each command signs in for
// itself and signs out after.
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <memory>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "clients/cli.hpp"
#include "clients/http_client.hpp"

namespace akt::client::cli {

using nlohmann::json;

namespace {
std::string option_or_env(const Args& a, const char* opt, const char* env) {
  if (const std::string* v = a.opt(opt)) return *v;
  const char* e = std::getenv(env);
  return e ? e : "";
}

// The terminal's settings while echo is off, restored by the signal handler if the user presses Ctrl-C
// at the prompt (otherwise the shell would be left typing blind).
termios g_saved_tty{};
extern "C" void restore_tty_and_die(int sig) {
  ::tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_tty);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

// Asks for the password on the terminal (stdin), without echoing it. False when stdin is no terminal or
// nothing was typed before end of input.
bool prompt_password(const std::string& user, const std::string& server, std::string& password) {
  if (::isatty(STDIN_FILENO) != 1 || ::tcgetattr(STDIN_FILENO, &g_saved_tty) != 0) return false;
  termios quiet = g_saved_tty;
  quiet.c_lflag &= static_cast<tcflag_t>(~ECHO);
  quiet.c_lflag |= ECHONL;  // the Enter still moves to the next line
  auto old_int = std::signal(SIGINT, restore_tty_and_die);
  auto old_term = std::signal(SIGTERM, restore_tty_and_die);
  // Echo goes off (and what was typed ahead is discarded) before the prompt shows: whatever is typed once
  // the prompt is visible is kept. The other order lost a password typed quickly after the prompt.
  ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  std::fprintf(stderr, "password for %s at %s: ", user.c_str(), server.c_str());
  std::fflush(stderr);
  std::string line;
  bool got = false;
  for (;;) {
    char c = 0;
    const ssize_t n = ::read(STDIN_FILENO, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (c == '\n' || c == '\r') {
      got = true;
      break;
    }
    line.push_back(c);
  }
  ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_saved_tty);
  std::signal(SIGINT, old_int);
  std::signal(SIGTERM, old_term);
  if (!got) std::fprintf(stderr, "\n");
  password = std::move(line);
  return got || !password.empty();
}

}  // namespace

// Maps an HTTP answer that is not 2xx to an exit code, printing the server's problem detail.
int http_fail(const HttpResult& r, const std::string& what) {
  const json p = json::parse(r.body, nullptr, false);
  std::string msg = what + ": HTTP " + std::to_string(r.status);
  if (p.is_object()) msg += " " + p.value("code", std::string()) + ": " + p.value("detail", std::string());
  if (p.is_object() && p.contains("fields") && p["fields"].is_array())
    for (const auto& f : p["fields"])
      msg += "\n  " + f.value("path", std::string()) + " (" + f.value("code", std::string()) +
             "): " + f.value("message", std::string());
  return fail(r.status == 401 || r.status == 403 ? kAuth : r.status >= 500 ? kUnreachable : kError, msg);
}

int open_user_session(const Args& a, UserSession& s) {
  const std::string server = option_or_env(a, "server", "AKTSYNC_SERVER");
  const std::string user = option_or_env(a, "user", "AKTSYNC_USER");
  if (server.empty() || user.empty())
    return fail(kUsage, a.command + " needs --server URL and --user NAME (or $AKTSYNC_SERVER, $AKTSYNC_USER)");
  std::string host;
  std::uint16_t port = 0;
  HttpOptions ho;
  if (!parse_server(server, host, port, ho.tls)) return fail(kUsage, "bad --server (HOST:PORT or https://HOST:PORT): " + server);
  if (const std::string* ca = a.opt("ca")) ho.ca_file = *ca;
  std::string password;
  if (const std::string* f = a.opt("password-file")) {
    std::ifstream in(*f);
    if (!in) return fail(kError, "cannot read the password file " + *f);
    std::getline(in, password);
  } else if (const char* e = std::getenv("AKTSYNC_PASSWORD")) {
    password = e;
  } else if (!prompt_password(user, server, password)) {
    return fail(kUsage, "give the password with --password-file FILE or $AKTSYNC_PASSWORD (or run on a terminal "
                        "to be asked for it)");
  }
  s.http = std::make_unique<HttpClient>(host, port, ho);
  auto r = s.http->request("POST", "/v1/login", json{{"username", user}, {"password", password}}.dump(),
                           {{"Content-Type", "application/json"}});
  if (!r.ok())  // a certificate or scheme problem is no outage: say so (exit 7), as sync does
    return fail(r.status().code() == Status::Code::kInvalidArgument ? kLinkSetup : kUnreachable,
                "login: " + r.status().message());
  if (r->status != 200) return http_fail(*r, "login");
  s.token = json::parse(r->body, nullptr, false).value("token", std::string());
  if (s.token.empty()) return fail(kError, "login: the answer has no token");
  return kOk;
}

void close_user_session(UserSession& s) {
  if (s.http && !s.token.empty()) (void)s.http->request("POST", "/v1/logout", "{}", s.headers());
}

namespace {

std::string text(const json& v) { return v.is_null() ? "(absent)" : v.dump(); }

std::string ms_time(std::int64_t ms) {
  if (ms <= 0) return "-";
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

// GET one entry; fills `entry`. Returns an exit code.
int fetch_entry(UserSession& s, const std::string& id, json& entry) {
  if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos)
    return fail(kUsage, "an entry id is a number (see aktsync conflicts list)");
  auto r = s.http->request("GET", "/v1/admin/conflicts/" + id, {}, s.headers());
  if (!r.ok()) return fail(kUnreachable, "show: " + r.status().message());
  if (r->status != 200) return http_fail(*r, "show " + id);
  entry = json::parse(r->body, nullptr, false)["entry"];
  return entry.is_object() ? kOk : fail(kError, "show: unreadable answer");
}

int list(const Args& a, UserSession& s) {
  std::string q = "?status=" + (a.opt("status") ? *a.opt("status") : std::string("open"));
  for (const char* k : {"kind", "form", "municipality", "before"})
    if (const std::string* v = a.opt(k)) q += std::string("&") + k + "=" + *v;
  auto r = s.http->request("GET", "/v1/admin/conflicts" + q, {}, s.headers());
  if (!r.ok()) return fail(kUnreachable, "list: " + r.status().message());
  if (r->status != 200) return http_fail(*r, "list");
  const json page = json::parse(r->body, nullptr, false);
  if (a.opt("json")) {
    std::printf("%s\n", page.dump(2).c_str());
    return kOk;
  }
  const json& entries = page["entries"];
  if (entries.empty()) {
    std::printf("no entries\n");
    return kOk;
  }
  std::printf("%-6s %-19s %-8s %-22s %-14s %-5s %s\n", "ID", "KIND", "STATUS", "FORM", "MUNICIPALITY", "CANDS",
              "PATH / RECORD");
  for (const auto& e : entries) {
    std::printf("%-6lld %-19s %-8s %-22s %-14s %-5zu %s  %s\n", static_cast<long long>(e["id"].get<std::int64_t>()),
                e["kind"].get<std::string>().c_str(), e["status"].get<std::string>().c_str(),
                e["form"].get<std::string>().c_str(), e["scope"]["municipality"].get<std::string>().c_str(),
                e["candidates"].size(), e["path"].get<std::string>().c_str(), e["record"].get<std::string>().c_str());
  }
  if (page.contains("next_before")) std::printf("(more: --before %lld)\n", static_cast<long long>(page["next_before"]));
  return kOk;
}

int show(const Args& a, UserSession& s) {
  json e;
  if (int code = fetch_entry(s, a.positional.size() > 1 ? a.positional[1] : "", e); code != kOk) return code;
  if (a.opt("json")) {
    std::printf("%s\n", e.dump(2).c_str());
    return kOk;
  }
  const std::string kind = e["kind"];
  std::printf("entry %lld  %s  %s\nrecord %s  form %s  municipality %s\nopened %s, updated %s\n",
              static_cast<long long>(e["id"].get<std::int64_t>()), kind.c_str(), e["status"].get<std::string>().c_str(),
              e["record"].get<std::string>().c_str(), e["form"].get<std::string>().c_str(),
              e["scope"]["municipality"].get<std::string>().c_str(), ms_time(e["opened_at"]).c_str(),
              ms_time(e["updated_at"]).c_str());
  if (kind == "field") {
    std::printf("field %s\n  ancestor:    %s\n  provisional: %s\n", e["path"].get<std::string>().c_str(),
                text(e.value("ancestor", json())).c_str(), text(e.value("provisional", json())).c_str());
  } else if (kind == "semantic") {
    std::printf("the merged record broke the form's rules; fields %s kept the server's values\n",
                e["path"].get<std::string>().c_str());
    for (const auto& r : e["detail"].value("rules", json::array()))
      std::printf("  rule at %s (%s): %s\n", r.value("path", "").c_str(), r.value("code", "").c_str(),
                  r.value("message", "").c_str());
    std::printf("  provisional: %s\n", e["detail"].value("provisional", json::object()).dump().c_str());
  } else if (kind == "delete_edit") {
    std::printf("deleted on one device and edited on another; the record is kept, deletion pending\n");
  } else if (kind == "duplicate_candidate") {
    std::printf("records with the same key %s (never merged; keep both or exclude one)\n",
                e["detail"].value("key", json()).dump().c_str());
  } else if (kind == "locked_change" || kind == "permission") {
    std::printf("%s; held fields kept %s\n", e["detail"].value("reason", "").c_str(),
                e["detail"].value("kept", json::object()).dump().c_str());
  }
  int n = 0;
  for (const auto& c : e["candidates"]) {
    std::string value = kind == "duplicate_candidate" ? "record " + c.value("record", std::string())
                        : kind == "semantic" || kind == "locked_change" || kind == "permission"
                            ? c.value("values", json::object()).dump()
                        : kind == "delete_edit" ? (c.value("deleted", false) ? "delete" : "edit")
                                                : (c.value("absent", false) ? "(removed)" : text(c.value("value", json())));
    if (!c.contains("dot")) {  // duplicate_candidate: a record, not a version
      std::printf("  [%d] %s, last changed %s\n", ++n, value.c_str(), ms_time(c.value("server_time", std::int64_t{0})).c_str());
      continue;
    }
    std::printf("  [%d] %s\n      by %s on device %s (%s:%lld), device time %s, received %s\n", ++n, value.c_str(),
                c.value("user", std::string("?")).c_str(), c.value("device", std::string("?")).c_str(),
                c["dot"]["actor"].get<std::string>().c_str(), static_cast<long long>(c["dot"]["n"].get<std::int64_t>()),
                ms_time(c.value("device_time", std::int64_t{0})).c_str(),
                ms_time(c.value("server_time", std::int64_t{0})).c_str());
  }
  if (e.contains("record_state") && !e["record_state"]["live"].empty())
    std::printf("seen: %s\n", e["record_state"]["live"][0]["clock"].dump().c_str());
  if (e["status"] == "resolved") std::printf("resolved by %s: %s\n", e.value("resolved_by", "").c_str(),
                                             e.value("resolution", json()).dump().c_str());
  return kOk;
}

int resolve(const Args& a, UserSession& s) {
  const std::string id = a.positional.size() > 1 ? a.positional[1] : "";
  json e;
  if (int code = fetch_entry(s, id, e); code != kOk) return code;
  const std::string kind = e["kind"];
  json body = json::object();
  if (const std::string* seen = a.opt("seen")) {
    body["seen"] = json::parse(*seen, nullptr, false);
    if (!body["seen"].is_object()) return fail(kUsage, "--seen is the clock `show` printed, e.g. '{\"...\":3}'");
  } else if (e.contains("record_state") && !e["record_state"]["live"].empty()) {
    body["seen"] = e["record_state"]["live"][0]["clock"];
  } else {
    return fail(kError, "the record of this entry is gone");
  }
  const json& cands = e["candidates"];
  int pick = 0;
  if (const std::string* p = a.opt("pick")) {
    pick = std::atoi(p->c_str());
    if (pick < 1 || static_cast<std::size_t>(pick) > cands.size())
      return fail(kUsage, "--pick N: a candidate number from `aktsync conflicts show " + id + "`");
  }
  if (kind == "field") {
    if (pick) {
      const json& c = cands[static_cast<std::size_t>(pick - 1)];
      if (c.value("absent", false)) body["remove"] = true;
      else body["value"] = c["value"];
    } else if (const std::string* v = a.opt("value")) {
      body["value"] = json::parse(*v, nullptr, false);
      if (body["value"].is_discarded()) return fail(kUsage, "--value is JSON: 45, \"text\", [\"a\",\"b\"]");
    } else if (a.opt("remove")) {
      body["remove"] = true;
    } else {
      return fail(kUsage, "resolve a field entry with --pick N, --value JSON or --remove");
    }
  } else if (kind == "semantic") {
    json values = json::object(), remove = json::array();
    if (pick) {
      const json& c = cands[static_cast<std::size_t>(pick - 1)];
      values = c.value("values", json::object());
      remove = c.value("absent", json::array());
    }
    if (auto it = a.opts.find("set"); it != a.opts.end())
      for (const std::string& kv : it->second) {
        const std::size_t eq = kv.find('=');
        if (eq == std::string::npos) return fail(kUsage, "--set FIELD=JSON");
        json v = json::parse(kv.substr(eq + 1), nullptr, false);
        if (v.is_discarded()) return fail(kUsage, "--set " + kv.substr(0, eq) + ": the value is JSON");
        values[kv.substr(0, eq)] = v;
        remove.erase(std::remove(remove.begin(), remove.end(), json(kv.substr(0, eq))), remove.end());
      }
    if (values.empty() && remove.empty()) return fail(kUsage, "resolve a semantic entry with --pick N and/or --set FIELD=JSON");
    body["values"] = values;
    body["remove"] = remove;
  } else if (kind == "delete_edit") {
    const std::string* action = a.opt("action");
    if (!action) return fail(kUsage, "resolve a delete_edit entry with --action confirm_delete or --action restore");
    body["action"] = *action;
  } else if (kind == "duplicate_candidate") {
    const std::string* action = a.opt("action");
    if (!action || (*action != "keep_both" && *action != "exclude"))
      return fail(kUsage, "resolve a duplicate_candidate entry with --action keep_both or --action exclude --record ID");
    body["action"] = *action;
    if (*action == "exclude") {
      std::string record = a.opt("record") ? *a.opt("record") : "";
      if (pick) record = cands[static_cast<std::size_t>(pick - 1)].value("record", std::string());
      if (record.empty()) return fail(kUsage, "--action exclude needs --record ID or --pick N");
      body["record"] = record;
      if (!a.opt("seen")) {  // the excluded record's own version
        auto r = s.http->request("GET", "/v1/records/" + record, {}, s.headers());
        if (!r.ok()) return fail(kUnreachable, "resolve: " + r.status().message());
        if (r->status != 200) return http_fail(*r, "record " + record);
        const json rec = json::parse(r->body, nullptr, false);
        if (!rec.is_object() || !rec.contains("live") || rec["live"].empty()) return fail(kError, "unreadable record");
        body["seen"] = rec["live"][0]["clock"];
      }
    }
  } else if (kind == "locked_change" || kind == "permission") {
    const std::string* action = a.opt("action");
    if (!action || (*action != "accept" && *action != "reject"))
      return fail(kUsage, "resolve a " + kind + " entry with --action accept or --action reject");
    body["action"] = *action;
    if (*action == "accept" && pick) {
      const json& c = cands[static_cast<std::size_t>(pick - 1)];
      body["values"] = c.value("values", json::object());
      body["remove"] = c.value("absent", json::array());
    }
    if (const std::string* rs = a.opt("review-status")) body["review_status"] = *rs;
  } else {
    return fail(kError, "entries of kind " + kind + " are not resolved from the terminal");
  }
  auto r = s.http->request("POST", "/v1/admin/conflicts/" + id + "/resolve", body.dump(), s.headers());
  if (!r.ok()) return fail(kUnreachable, "resolve: " + r.status().message());
  if (r->status != 200) return http_fail(*r, "resolve " + id);
  const json out = json::parse(r->body, nullptr, false);
  if (out.value("closed", false))
    std::printf("resolved entry %s (%s)\n", id.c_str(), out.value("outcome", std::string()).c_str());
  else
    std::printf("entry %s stays open: a device edit that arrived meanwhile differs again; see `aktsync conflicts show %s`\n",
                id.c_str(), id.c_str());
  return kOk;
}

}  // namespace

int cmd_conflicts(const Args& a) {
  const std::string sub = a.positional.empty() ? "" : a.positional[0];
  if (sub != "list" && sub != "show" && sub != "resolve")
    return fail(kUsage, "conflicts list | show ID | resolve ID ... (see aktsync conflicts --help)");
  if ((sub == "list" && a.positional.size() != 1) || (sub != "list" && a.positional.size() != 2))
    return fail(kUsage, "conflicts " + sub + (sub == "list" ? " takes no arguments" : " takes one entry id"));
  UserSession s;
  if (int code = open_user_session(a, s); code != kOk) return code;
  const int code = sub == "list" ? list(a, s) : sub == "show" ? show(a, s) : resolve(a, s);
  close_user_session(s);
  return code;
}

}  // namespace akt::client::cli

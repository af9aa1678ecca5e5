// Internal to the aktsync CLI (aktsync_main.cpp parses and dispatches, cli_commands.cpp runs commands).
// Commands print results on stdout and errors on stderr, and return one of the exit codes below.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "clients/http_client.hpp"
#include "schema/store/tablet_store.hpp"

namespace akt::client::cli {

enum Exit : int {
  kOk = 0,
  kError = 1,         // a local error: unknown record, bad body, database problem
  kUsage = 2,         // bad command line
  kUnreachable = 3,   // the server could not be reached, or kept failing (5xx)
  kAuth = 4,          // the server rejected the device token (401) or the request (403)
  kRejected = 5,      // the sync finished, but the server rejected some edits (see `aktsync rejected`)
  kRestored = 6,      // 409: this database was restored or cloned; re-initialise with a new actor
  kLinkSetup = 7,     // the link cannot work as set up: certificate not trusted or not valid at this
                      // device's clock, TLS against plain HTTP (retrying does not help; the message says why)
};

struct Args {
  std::string db;                                        // --db FILE (or $AKTSYNC_DB)
  std::string command;
  std::vector<std::string> positional;                   // after the command
  std::map<std::string, std::vector<std::string>> opts;  // --name value (repeatable)
  bool help = false;

  // The last value of --name, or nullptr.
  const std::string* opt(const std::string& name) const {
    auto it = opts.find(name);
    return it == opts.end() || it->second.empty() ? nullptr : &it->second.back();
  }
};

// Prints "aktsync: <msg>" to stderr and returns `code`.
int fail(int code, const std::string& msg);
// Maps a Status from the store or the sync client to an exit code and prints it.
int fail_status(const Status& st, const std::string& what);

// "90" (seconds), "500ms", "30s", "10m", "1h" to milliseconds; false when it is none of these or not > 0.
bool parse_duration(const std::string& s, std::chrono::milliseconds& out);

// "HOST:PORT" (plain HTTP, for loopback or a declared proxy), "http://HOST:PORT" or "https://HOST:PORT".
bool parse_server(std::string s, std::string& host, std::uint16_t& port, bool& tls);

// A signed-in user account (admin, supervisor, M&E officer) for the commands that talk to the server
// as a person, not as a tablet: --server URL --user NAME [--password-file FILE] [--ca FILE], or
// $AKTSYNC_SERVER, $AKTSYNC_USER, $AKTSYNC_PASSWORD.
struct UserSession {
  std::unique_ptr<HttpClient> http;
  std::string token;
  std::vector<std::pair<std::string, std::string>> headers() const {
    return {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
  }
};
int open_user_session(const Args& a, UserSession& s);  // logs in; an exit code
void close_user_session(UserSession& s);               // logs out
// Prints a non-2xx answer's problem (code, detail, fields) and returns the matching exit code.
int http_fail(const HttpResult& r, const std::string& what);

// `aktsync export FORM` and `aktsync indicators`: M&E datasets from the server (docs/EXPORTS.md).
int cmd_export(const Args& a);
int cmd_indicators(const Args& a);

// `aktsync conflicts list|show|resolve`: the admin's conflict inbox from a terminal. Signs in with a user
// account (no device database needed).
int cmd_conflicts(const Args& a);

// `aktsync import FILE --server URL --code CODE`: pushes the unsynced edits of a tablet app's backup file
// under the tablet's own actor, re-enrolled with the code (import_cmd.cpp). No device database needed.
int cmd_import(const Args& a);

// `store` is the opened database; init is the only command that accepts an uninitialised one.
int cmd_init(const Args& a, store::TabletStore& store);
int cmd_reenrol(const Args& a, store::TabletStore& store);
int cmd_new(const Args& a, store::TabletStore& store);
int cmd_edit(const Args& a, store::TabletStore& store);
int cmd_delete(const Args& a, store::TabletStore& store);
int cmd_show(const Args& a, store::TabletStore& store);
// `show RECORD --lang en|sq|sr|sr-Latn [--form FILE]`: the record by its labels (record_labels.hpp).
int show_labelled(const store::LocalRecord& record, const std::string& lang, const std::string* form_file);
// `list --lang en|sq|sr|sr-Latn [--form FILE]`: one line per record, its form and scope by their labels.
int list_labelled(const std::vector<store::LocalRecord>& records, const std::string& lang, const std::string* form_file);
// A record's state as `list` prints it: "active" or "deleted", then " CONFLICT", " unsynced".
std::string record_state(const store::LocalRecord& r);
int cmd_list(const Args& a, store::TabletStore& store);
int cmd_sync(const Args& a, store::TabletStore& store);
int cmd_status(const Args& a, store::TabletStore& store);
int cmd_pull(const Args& a, store::TabletStore& store);
int cmd_rejected(const Args& a, store::TabletStore& store);
// `aktsync attach RECORD FIELD FILE [--type T]` (attach_cmd.cpp): keeps the photo beside the database and
// sets the field to its attachment reference. sync_attachments uploads what the server lacks (run by sync).
int cmd_attach(const Args& a, store::TabletStore& store);
// Its own connection to host:port with `options` (chunks are never gzipped: photos do not compress).
int sync_attachments(const Args& a, store::TabletStore& store, const std::string& host, std::uint16_t port,
                     HttpOptions options);

}  // namespace akt::client::cli

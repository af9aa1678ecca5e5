// aktsync: the tablet CLI. Keeps a device's records in a local SQLite file, edits them offline and
// syncs them with aktsyncd. This file parses the command line and dispatches; commands are in
// cli_commands.cpp. No exception escapes main.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>

#include "clients/cli.hpp"

using namespace akt::client;

namespace {

struct Command {
  const char* name;
  int (*run)(const cli::Args&, akt::store::TabletStore&);
  const char* usage;
};

const Command kCommands[] = {
    {"init", cli::cmd_init,
     "init --server [https://]HOST:PORT --code ENROLMENT-CODE [--actor UUID] [--ca FILE | --pin SHA256]\n"
     "       [--timeout-ms MS] [--stall-timeout DURATION]\n"
     "init --server [https://]HOST:PORT --actor UUID --token TOKEN [--ca FILE | --pin SHA256]\n"
     "  Makes the database a device. With --code (a one-time code an admin issued for a user), enrols\n"
     "  the device with the server (POST /v1/enrol) under a new random actor id and keeps the token it\n"
     "  gets; with --actor and --token, uses a device already registered. Refused when the database\n"
     "  already is a device. Plain HOST:PORT is HTTP (loopback or behind a TLS proxy); https:// verifies\n"
     "  the server's certificate. --ca FILE (a private CA's PEM certificate) or --pin SHA256 (the SHA-256\n"
     "  fingerprint of the server's certificate) is kept in the database and used by every sync.\n"
     "  A failed init leaves no database file behind."},
    {"reenrol", cli::cmd_reenrol,
     "reenrol --code ENROLMENT-CODE [--ca FILE | --pin SHA256] [--timeout-ms MS]\n"
     "  When the device's token expired or was revoked: enrols the device again with a new code an admin\n"
     "  issued for the same user, keeping its actor id, so edits not yet synced stay valid. Then run sync."},
    {"new", cli::cmd_new,
     "new --form F --version N --municipality M --community C --component SO1|SO2|SO3\n"
     "    [--body JSON] [--set key=value ...]\n"
     "  Creates a record and prints its id. Values of --set are JSON when they parse (5, true, \"x\")\n"
     "  and strings otherwise; --set applies on top of --body."},
    {"edit", cli::cmd_edit,
     "edit RECORD (--set key=value ... | --body JSON)\n"
     "  Saves a new version of the record. In a conflict it edits the version holding this device's\n"
     "  latest edit (marked '*' by show)."},
    {"attach", cli::cmd_attach,
     "attach RECORD FIELD FILE [--type image/jpeg|image/png|image/webp]\n"
     "  Keeps the photo FILE beside the database and sets the record's photo FIELD to its reference\n"
     "  (sha256:...;size=...;type=...). The next sync uploads it after the push, resuming after a cut."},
    {"delete", cli::cmd_delete, "delete RECORD\n  Deletes the record (a deletion edit, synced like any other)."},
    {"show", cli::cmd_show,
     "show RECORD [--json] [--lang en|sq|sr|sr-Latn [--form FILE]]\n  Shows the record; concurrent versions are "
     "listed as a conflict. With --lang, questions, answers,\n  form and scope by their labels in that language "
     "(sr: Cyrillic, sr-Latn: Latin), from the\n  programme's instruments built in, or the definition in FILE."},
    {"list", cli::cmd_list,
     "list [--lang en|sq|sr|sr-Latn [--form FILE]]\n  One line per local record: id, form, scope, state. With --lang, "
     "the form by its title and the scope\n  by its names in that language (as show --lang)."},
    {"sync", cli::cmd_sync,
     "sync [--retry-for DURATION] [--stall-timeout DURATION] [--timeout-ms MS] [--attempts N]\n"
     "       [--ca FILE | --pin SHA256] [--progress on|off]\n"
     "  Pushes unsynced edits, then pulls every change, and prints what it did (also when it fails:\n"
     "  everything done is kept, the next sync continues from there). Network failures are retried\n"
     "  with backoff for --retry-for (default 10m; --attempts N also caps the attempts per request).\n"
     "  A transfer in which no byte moved for --stall-timeout (default 30s) is cut and retried;\n"
     "  connecting and the server's first answer byte wait --timeout-ms (default 30000). Certificate\n"
     "  and clock errors stop at once (exit 7). --ca / --pin override the trust kept at init. On a\n"
     "  terminal a progress line shows edits and bytes up, records and bytes down, and the rate. Photos\n"
     "  follow the records, in chunks of about 3 s of link time, resuming at the server's offset."},
    {"status", cli::cmd_status, "status\n  Unsynced edits, last sync, conflicts, rejected edits, cursor and epoch."},
    {"pull", cli::cmd_pull,
     "pull --format jsonl|csv [--out FILE]\n"
     "  Writes the local records (as last synced, plus unsynced edits) as JSON lines or CSV.\n"
     "  Does not contact the server: run sync first."},
    {"conflicts", nullptr,
     "conflicts list [--status open|resolved|all] [--kind K] [--form F] [--municipality M] [--json]\n"
     "conflicts show ID [--json]\n"
     "conflicts resolve ID (--pick N | --value JSON | --remove | --set FIELD=JSON ... |\n"
     "                      --action confirm_delete|restore|accept|reject|keep_both|exclude\n"
     "                      [--pick N] [--record ID]\n"
     "                      [--review-status S]) [--seen CLOCK]\n"
     "  The conflict inbox for admins and supervisors (docs/CONFLICTS.md). Every conflicts command also takes\n"
     "  --server URL --user NAME [--password-file FILE] [--ca FILE] (or $AKTSYNC_SERVER, $AKTSYNC_USER,\n"
     "  $AKTSYNC_PASSWORD; without them it asks for the password on the terminal) and needs no device\n"
     "  database. `show` numbers the candidates for --pick and prints the version you saw (seen); resolve\n"
     "  uses the current version unless --seen is given."},
    {"export", nullptr,
     "export FORM [--format csv|jsonl|xlsx] [--out FILE] [--since CURSOR | --cursor-file FILE]\n"
     "                [--municipality M,..] [--community C,..] [--component SO1,..] [--received-from D]\n"
     "                [--received-to D] [--date-field F --date-from D --date-to D] [--conflicts flag|exclude]\n"
     "                [--labels codes|en|sq|sr|sr-Latn] [--bom]\n"
     "  An M&E dataset from the server (docs/EXPORTS.md), as a signed-in user (same --server/--user options\n"
     "  as conflicts). CSV/JSONL go to stdout unless --out; ZIP/XLSX need --out. The next cursor is printed\n"
     "  on stderr; with --cursor-file the export starts from the saved cursor and saves the next one after\n"
     "  the data was written (incremental exports: changed records and tombstones only)."},
    {"indicators", nullptr,
     "indicators [--format json|csv] [--reporting-date YYYY-MM-DD] [--out FILE]\n"
     "  The logframe indicators (docs/EXPORTS.md §6), as a signed-in user."},
    {"rejected", cli::cmd_rejected,
     "rejected [--json]\n"
     "  Lists the edits the server rejected, with the reason and, for answers that break the form's\n"
     "  rules, every field's problem (path: code: message). --json: the same as a JSON array."},
    {"import", nullptr,
     "import FILE --server [https://]HOST:PORT --code ENROLMENT-CODE [--ca FILE] [--timeout-ms MS]\n"
     "  Pushes the unsynced edits of a tablet app's backup file (its Backup button) when the tablet cannot:\n"
     "  re-enrols the tablet's actor with a new code issued for the same user (the tablet's old token stops\n"
     "  working), then sends the edits exactly as saved. Safe to run again (same batches, same answers).\n"
     "  Needs no device database. Exit 5 when the server rejected some edits (listed on stderr)."},
};

// Prints a command's usage: its synopsis lines (and their continuations) indented by `indent`, its
// description (the lines that start with two spaces) by four more, so that every column lines up.
void print_command_usage(std::FILE* out, const char* usage, const char* indent) {
  std::string text(usage);
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    const bool description = line.size() > 2 && line.compare(0, 2, "  ") == 0 && line[2] != ' ';
    if (description) std::fprintf(out, "%s    %s\n", indent, line.c_str() + 2);
    else std::fprintf(out, "%s%s\n", indent, line.c_str());
    start = end + 1;
  }
}

void print_usage(std::FILE* out) {
  std::fprintf(out,
               "usage: aktsync [--db FILE] COMMAND [options]      (FILE defaults to $AKTSYNC_DB)\n"
               "       aktsync COMMAND --help\n\ncommands:\n");
  for (const Command& c : kCommands) print_command_usage(out, c.usage, "  ");
  std::fprintf(out,
               "\nexit codes: 0 ok, 1 error, 2 usage, 3 server unreachable, 4 token rejected,\n"
               "            5 some edits rejected by the server, 6 database restored or cloned,\n"
               "            7 TLS set-up: certificate not trusted or not valid at this device's clock\n");
}

// Splits argv into the command, positional arguments and --name value options.
bool parse(int argc, char** argv, cli::Args& a, std::string& error) {
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    if (s == "--help" || s == "-h") {
      a.help = true;
    } else if (s.size() > 2 && s.rfind("--", 0) == 0) {
      std::string name = s.substr(2), value;
      if (std::size_t eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      } else if (name == "json" || name == "remove" || name == "bom") {
        value = "1";  // the flags without a value
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        error = "option --" + name + " needs a value";
        return false;
      }
      if (name == "db") a.db = value;
      else a.opts[name].push_back(value);
    } else if (a.command.empty()) {
      a.command = s;
    } else {
      a.positional.push_back(s);
    }
  }
  if (a.db.empty()) {
    if (const char* env = std::getenv("AKTSYNC_DB")) a.db = env;
  }
  return true;
}

int run(int argc, char** argv) {
  cli::Args a;
  std::string error;
  if (!parse(argc, argv, a, error)) return cli::fail(cli::kUsage, error + " (see aktsync --help)");
  if (a.command.empty()) {
    print_usage(a.help ? stdout : stderr);
    return a.help ? cli::kOk : cli::kUsage;
  }
  const Command* cmd = nullptr;
  for (const Command& c : kCommands)
    if (a.command == c.name) cmd = &c;
  if (!cmd) return cli::fail(cli::kUsage, "unknown command '" + a.command + "' (see aktsync --help)");
  if (a.help) {
    std::printf("usage: aktsync [--db FILE] ...\n");
    print_command_usage(stdout, cmd->usage, "  ");
    return cli::kOk;
  }
  // A user account, no device database.
  if (a.command == "conflicts") return cli::cmd_conflicts(a);
  if (a.command == "export") return cli::cmd_export(a);
  if (a.command == "indicators") return cli::cmd_indicators(a);
  if (a.command == "import") return cli::cmd_import(a);
  if (a.db.empty()) return cli::fail(cli::kUsage, "no database: pass --db FILE or set AKTSYNC_DB");
  std::error_code fs_ec;
  const bool existed = std::filesystem::exists(a.db, fs_ec);
  auto store = akt::store::TabletStore::open(a.db);
  if (!store.ok()) return cli::fail_status(store.status(), "open " + a.db);
  if (a.command != "init") {
    if (auto dev = (*store)->device(); !dev.ok())
      return cli::fail(cli::kError, a.db + " is not a device database yet: run `aktsync --db " + a.db + " init`");
  }
  const int code = cmd->run(a, **store);
  if (a.command == "init" && code != cli::kOk && !existed) {
    // A failed init leaves nothing behind: the next attempt starts from a clean slate.
    store->reset();
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(a.db + suffix, fs_ec);
  }
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    return cli::fail(cli::kError, std::string("internal error: ") + e.what());
  } catch (...) {
    return cli::fail(cli::kError, "internal error");
  }
}

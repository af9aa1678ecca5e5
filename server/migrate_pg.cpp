// `aktsyncd migrate-to-postgres` and --check-config's look at a PostgreSQL store (migrate_pg.hpp). The
// copy itself is schema/store/postgres/pg_import.cpp; this file holds the command: its words, the data
// folder's lock (a running server holds it), the exit codes and what is printed.
#include "server/migrate_pg.hpp"

#include <cstdio>

#include "schema/store/blob_store.hpp"
#include "server/backup.hpp"
#include "server/config.hpp"
#ifdef AKT_HAVE_POSTGRES
#include "schema/store/postgres/pg_import.hpp"
#endif

namespace akt::server {
namespace {

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "%s\n", message.c_str());
  return code;
}

constexpr const char* kUsage =
    "usage: aktsyncd migrate-to-postgres --config FILE [--url URL]   (or --data-dir DIR --url URL)";

}  // namespace

int run_migrate_to_postgres(const std::vector<std::string>& args) {
  std::string url;
  std::vector<const char*> rest{"aktsyncd"};
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--url" && i + 1 < args.size()) url = args[++i];
    else rest.push_back(args[i].c_str());
  }
  auto config = config_from_args(static_cast<int>(rest.size()), rest.data());
  if (!config.ok()) return fail(2, config.status().message() + "\n" + kUsage);
  if (url.empty() && config->store.is_postgres()) url = config->store.url;
  if (url.empty()) return fail(2, std::string("the target database is required: --url URL, or store.url in the config\n") + kUsage);
#ifndef AKT_HAVE_POSTGRES
  return fail(2, "migrate-to-postgres refused: this build has no PostgreSQL engine");
#else
  // Held until exit: no server may start on the folder while its database is copied.
  auto lock = lock_data_dir(config->data_dir);
  if (!lock.ok()) {
    const int code = lock.status().code() == Status::Code::kBusy ? 3 : 1;
    return fail(code, "migrate-to-postgres refused: " + lock.status().message() + "; stop it first");
  }
  const std::string target = store::pg::describe_url(url);
  // The data folder's attachment files go into the database too (docs/STORE.md §12).
  auto files = store::FileBlobStore::open(config->data_dir);
  if (!files.ok()) return fail(1, "migrate-to-postgres failed, nothing was written: " + files.status().message());
  auto report = store::pg::import_sqlite(config->database_path(), url, files->get());
  if (!report.ok()) {
    const Status& st = report.status();
    int code = 1;
    std::string message = "migrate-to-postgres failed, nothing was written: " + st.message();
    switch (st.code()) {
      case Status::Code::kInvalidArgument:
      case Status::Code::kCorruption:
      case Status::Code::kNotFound: code = 2; break;
      case Status::Code::kConflict:
        code = 4;
        message = "migrate-to-postgres refused: " + st.message() + " (" + target +
                  "); the copy goes only into a new, empty database (README \"Moving to PostgreSQL\")";
        break;
      default: break;
    }
    return fail(code, message);
  }
  const store::pg::ImportReport& r = *report;
  std::printf("migrated %s (SQLite schema %lld) into %s (PostgreSQL schema %lld): verified\n",
              config->data_dir.c_str(), static_cast<long long>(r.sqlite_schema), target.c_str(),
              static_cast<long long>(r.postgres_schema));
  std::printf("epoch %s, server actor %s, feed head %lld (kept: tablets go on syncing from their cursors)\n",
              r.epoch.c_str(), r.server_actor.c_str(), static_cast<long long>(r.last_seq));
  std::printf("%-14s %10s %10s  %s\n", "table", "sqlite", "postgres", "digest (SHA-256 of the rows)");
  for (const auto& t : r.tables)
    std::printf("%-14s %10lld %10lld  %s\n", t.table.c_str(), static_cast<long long>(t.sqlite_rows),
                static_cast<long long>(t.postgres_rows), t.postgres_digest.c_str());
  std::printf("digest of all tables %s\n", r.digest.c_str());
  std::printf("attachment files %zu (%lld bytes, %zu copied, each SHA-256 checked in the database), digest of "
              "their names %s\n",
              r.blobs.count, static_cast<long long>(r.blobs.bytes), r.blobs.copied,
              r.blobs.count ? r.blobs.digest.c_str() : "-");
  std::printf("next: set \"store\": {\"engine\": \"postgres\", \"url\": ...} in the config and start aktsyncd with "
              "the same data_dir (%s keeps pseudonym.key, which the server on PostgreSQL uses; the attachment "
              "files are in the database now, blobs/ may be archived); "
              "%s is left as it was: do not start a server on it again\n",
              config->data_dir.c_str(), config->database_path().c_str());
  return 0;
#endif
}

Result<std::string> check_postgres_store(const Config& config) {
#ifndef AKT_HAVE_POSTGRES
  (void)config;
  return Status::invalid_argument("store.engine is \"postgres\" and this build has no PostgreSQL engine");
#else
  auto probe = store::pg::probe(config.store.url);
  if (!probe.ok()) return Status::invalid_argument("store.url: " + probe.status().message());
  const std::string where = store::pg::describe_url(config.store.url) + " (PostgreSQL " + probe->server_version + ")";
  if (probe->in_recovery)
    return Status::invalid_argument("store.url: " + where + " is a standby in recovery (read-only): point it at the primary");
  if (probe->schema_version > probe->latest_schema)
    return Status::invalid_argument("store.url: " + where + " has schema version " +
                                    std::to_string(probe->schema_version) + ", newer than this aktsyncd knows (" +
                                    std::to_string(probe->latest_schema) + "): it was upgraded by a later release");
  std::string schema;
  if (probe->schema_version == 0)
    schema = "no aktsync schema yet (made at start)";
  else if (probe->schema_version < probe->latest_schema)
    schema = "schema " + std::to_string(probe->schema_version) + ", upgraded to " +
             std::to_string(probe->latest_schema) + " at start";
  else
    schema = "schema " + std::to_string(probe->schema_version);
  return where + ", " + schema;
#endif
}

}  // namespace akt::server

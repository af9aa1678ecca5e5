// aktsyncd: the sync server. Parses flags and config, opens the store, serves until SIGTERM/SIGINT,
// then stops gracefully (in-flight batches finish and are answered). SIGHUP reloads the TLS certificate.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <string>
#include <vector>

#include "schema/store/store_tx.hpp"
#include "server/backup.hpp"
#include "server/heap.hpp"
#include "server/log.hpp"
#include "server/migrate_pg.hpp"
#include "server/password.hpp"
#include "server/server.hpp"
#include "server/tls.hpp"

using namespace akt::server;

namespace {

// `aktsyncd [server flags] --create-user NAME --role ROLE --password-file FILE`: adds a user to the
// database and exits. This is how the first admin is made; later users come through the admin API.
int create_user(const Config& config, const std::string& username, const std::string& role,
                const std::string& password_file) {
  std::ifstream in(password_file);
  std::string password;
  if (!in || !std::getline(in, password)) {
    std::fprintf(stderr, "cannot read a password from %s\n", password_file.c_str());
    return 2;
  }
  auto parsed_role = akt::sync::role_from_string(role);
  if (!parsed_role) {
    std::fprintf(stderr, "role must be enumerator, supervisor, me_officer or admin\n");
    return 2;
  }
  if (password.size() < config.accounts.min_password_length) {
    std::fprintf(stderr, "password too short (at least %zu characters)\n", config.accounts.min_password_length);
    return 2;
  }
  auto app = make_app_state(config);
  if (!app.ok()) {
    std::fprintf(stderr, "cannot open store: %s\n", app.status().message().c_str());
    return 1;
  }
  akt::store::User u;
  u.username = username;
  u.role = *parsed_role;
  u.password_hash = hash_password(password, {config.accounts.password_kdf_n, 8, 1});
  u.created_at = (*app)->now_ms();
  bool exists = false;
  akt::Status st = (*app)->store->update([&](akt::store::StoreWriter& tx) {
    auto id = tx.insert_user(u);
    if (!id.ok()) {
      exists = id.status().code() == akt::Status::Code::kConflict;
      return id.status();
    }
    return tx.insert_audit(u.created_at, "(command line)", "user_created", username,
                           "{\"role\":\"" + role + "\"}", "local");
  });
  if (exists) {
    std::fprintf(stderr, "user %s already exists\n", username.c_str());
    return 3;
  }
  if (!st.ok()) {
    std::fprintf(stderr, "cannot create user: %s\n", st.message().c_str());
    return 1;
  }
  std::printf("created %s user %s\n", role.c_str(), username.c_str());
  return 0;
}

// `aktsyncd [server flags] --reset-password NAME --password-file FILE`: sets a user's password on the
// server's host (a locked-out first admin) and ends the user's login sessions.
int reset_password(const Config& config, const std::string& username, const std::string& password_file) {
  std::ifstream in(password_file);
  std::string password;
  if (!in || !std::getline(in, password)) {
    std::fprintf(stderr, "cannot read a password from %s\n", password_file.c_str());
    return 2;
  }
  if (password.size() < config.accounts.min_password_length || password.size() > 1024) {
    std::fprintf(stderr, "password must have %zu to 1024 characters\n", config.accounts.min_password_length);
    return 2;
  }
  auto app = make_app_state(config);
  if (!app.ok()) {
    std::fprintf(stderr, "cannot open store: %s\n", app.status().message().c_str());
    return 1;
  }
  const std::string hash = hash_password(password, {config.accounts.password_kdf_n, 8, 1});
  const std::int64_t now = (*app)->now_ms();
  bool missing = false, disabled = false;
  akt::Status st = (*app)->store->update([&](akt::store::StoreWriter& tx) {
    auto u = tx.find_user(username);
    if (!u.ok()) return u.status();
    if (!*u) {
      missing = true;
      return akt::Status::not_found("no user " + username);
    }
    disabled = (*u)->disabled;
    AKT_TRY(tx.set_password_hash((*u)->id, hash));
    AKT_TRY(tx.revoke_sessions((*u)->id, now));
    return tx.insert_audit(now, "(command line)", "password_reset", username, "{\"one_time\":false}", "local");
  });
  if (missing) {
    std::fprintf(stderr, "no user %s\n", username.c_str());
    return 3;
  }
  if (!st.ok()) {
    std::fprintf(stderr, "cannot reset the password: %s\n", st.message().c_str());
    return 1;
  }
  std::printf("password of %s reset%s\n", username.c_str(), disabled ? " (the account is disabled)" : "");
  return 0;
}

// `aktsyncd [server flags] --rotate-pseudonym-key`: replaces the secret key of the M&E pseudonyms
// (SECURITY.md §8), records it in the audit log and exits. Every pseudonym changes from the server's
// next start on.
int rotate_key(Config config) {
  // The store is opened first (it must be reachable), without comparing the old key with the database's
  // check value: a rotation also mends a key file that no longer matches it.
  config.rotating_pseudonym_key = true;
  auto app = make_app_state(config);
  if (!app.ok()) {
    std::fprintf(stderr, "cannot rotate the pseudonym key: cannot open the store: %s\n",
                 app.status().message().c_str());
    return 1;
  }
  if (akt::Status st = rotate_pseudonym_key(config); !st.ok()) {
    std::fprintf(stderr, "cannot rotate the pseudonym key: %s\n", st.message().c_str());
    return 1;
  }
  auto key = load_or_create_pseudonym_key(config);
  akt::Status st = key.status();
  // The new key's check value and the audit entry in one transaction. Should it fail, the key file is
  // new and the database still holds the old check: the server refuses to start until a rotation passes.
  if (st.ok()) st = (*app)->store->update([&](akt::store::StoreWriter& tx) {
    AKT_TRY(tx.put_meta("pseudonym_key_check", akt::server::pseudonym_key_check(*key)));
    return tx.insert_audit((*app)->now_ms(), "(command line)", "pseudonym_key_rotated",
                           config.pseudonym_key_path(), "{}", "local");
  });
  if (!st.ok()) {
    std::fprintf(stderr, "key rotated, but the database was not told (the server will not start until a rotation "
                         "passes: run it again): %s\n", st.message().c_str());
    return 1;
  }
  std::printf("rotated the pseudonym key in %s; restart aktsyncd to use it (every pseudonym changes)\n",
              config.pseudonym_key_path().c_str());
  return 0;
}

// `aktsyncd --check-config FILE [flags]`: validates the configuration as the server would use it, without
// starting or touching the data: exit 0 and a summary when it is usable, 2 and what is wrong otherwise.
int check_config_only(const Config& config) {
  auto invalid = [](const std::string& what) {
    std::fprintf(stderr, "config invalid: %s\n", what.c_str());
    return 2;
  };
  if (auto st = check_config(config); !st.ok()) return invalid(st.message());
  if (config.tls.enabled()) {
    if (auto ctx = make_server_tls_context(config.tls); !ctx.ok()) return invalid(ctx.status().message());
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path dir = config.data_dir;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) return invalid("data_dir " + config.data_dir + " is not a folder");
    if (::access(dir.c_str(), R_OK | W_OK | X_OK) != 0)
      return invalid("data_dir " + config.data_dir + " is not writable by this user");
  } else {
    // The server makes it at start: its nearest existing parent must be writable.
    fs::path parent = fs::absolute(dir, ec).parent_path();
    while (!parent.empty() && !fs::exists(parent, ec) && parent != parent.parent_path()) parent = parent.parent_path();
    if (!fs::is_directory(parent, ec) || ::access(parent.c_str(), W_OK | X_OK) != 0)
      return invalid("data_dir " + config.data_dir + " does not exist and cannot be made (" + parent.string() +
                     " is not writable)");
  }
  if (!config.pseudonym_key_file.empty() && !std::ifstream(config.pseudonym_key_file))
    return invalid("pseudonym_key_file " + config.pseudonym_key_file + " cannot be read");
  // A PostgreSQL store is tried: reachable, its schema one this build can run on (never the password).
  std::string store = "sqlite";
  if (config.store.is_postgres()) {
    auto pg = check_postgres_store(config);
    if (!pg.ok()) return invalid(pg.status().message());
    store = "postgres " + *pg;
  }
  std::printf("config OK: %s://%s:%u, data %s, store %s, log %s/%s, %zu static device(s)\n",
              config.tls.enabled() ? "https" : "http", config.listen_address.c_str(),
              static_cast<unsigned>(config.listen_port), config.data_dir.c_str(), store.c_str(),
              config.log_level.c_str(), config.log_format.c_str(), config.devices.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  configure_heap();  // before any thread starts (README, Memory)
  // `aktsyncd backup ...` and `aktsyncd restore ...` (server/backup.hpp), `aktsyncd migrate-to-postgres ...`
  // (server/migrate_pg.hpp).
  if (argc > 1 && (std::string(argv[1]) == "backup" || std::string(argv[1]) == "restore" ||
                   std::string(argv[1]) == "migrate-to-postgres")) {
    const std::vector<std::string> rest(argv + 2, argv + argc);
    if (std::string(argv[1]) == "migrate-to-postgres") return run_migrate_to_postgres(rest);
    return std::string(argv[1]) == "backup" ? run_backup(rest) : run_restore(rest);
  }
  // Pull out the --create-user triple; everything else is server configuration.
  std::vector<const char*> args{argv[0]};
  std::string new_user, new_role, password_file, reset_user;
  bool rotate = false, check_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--rotate-pseudonym-key" || a == "rotate-pseudonym-key") {
      rotate = true;
    } else if (a == "--check-config" && i + 1 < argc) {
      check_only = true;
      args.push_back("--config");
      args.push_back(argv[++i]);
    } else if ((a == "--create-user" || a == "--role" || a == "--password-file" || a == "--reset-password") &&
               i + 1 < argc) {
      (a == "--create-user" ? new_user : a == "--role" ? new_role : a == "--reset-password" ? reset_user : password_file) =
          argv[++i];
    } else {
      args.push_back(argv[i]);
    }
  }
  auto config = config_from_args(static_cast<int>(args.size()), args.data());
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().message().c_str());
    return 2;
  }
  if (check_only) return check_config_only(*config);
  set_log_level(config->log_level);
  set_log_format(config->log_format);
  if (!reset_user.empty()) {
    if (password_file.empty() || !new_user.empty()) {
      std::fprintf(stderr, "--reset-password needs --password-file (and no --create-user)\n");
      return 2;
    }
    return reset_password(*config, reset_user, password_file);
  }
  if (rotate) return rotate_key(*config);
  if (!new_user.empty()) {
    if (new_role.empty() || password_file.empty()) {
      std::fprintf(stderr, "--create-user needs --role and --password-file\n");
      return 2;
    }
    return create_user(*config, new_user, new_role, password_file);
  }
  if (auto st = check_config(*config); !st.ok()) {
    log(LogLevel::kError, st.message());
    return 2;
  }
  // Held until exit: `aktsyncd restore` refuses to replace the database under a running server.
  if (auto lock = lock_data_dir(config->data_dir); !lock.ok()) {
    log(LogLevel::kError, lock.status().message());
    return 1;
  }
  if (config->devices.empty())
    log(LogLevel::kInfo, "no static device tokens in the config: devices enrol with one-time codes (POST /v1/enrol)");
  auto app = make_app_state(*config);
  if (!app.ok()) {
    log(LogLevel::kError, "cannot open store: " + app.status().message());
    return 1;
  }
  auto server = Server::start(*app);
  if (!server.ok()) {
    log(LogLevel::kError, server.status().message());
    return 1;
  }
  const std::uint16_t port = (*server)->port();
  log(LogLevel::kInfo, std::string("aktsyncd listening on ") + (config->tls.enabled() ? "https://" : "http://") +
                           config->listen_address + ":" + std::to_string(port) +
                           " store=" + (*app)->store->engine() +
                           (config->store.is_postgres() ? std::string() : " data=" + config->database_path()) +
                           " epoch=" + (*app)->store->epoch() +
                           " devices=" + std::to_string(config->devices.size()));
  // Wait for a stop signal on a context of its own; the server's threads keep serving meanwhile.
  // SIGHUP reads the TLS certificate and key again (renewal); anything else in the config needs a restart.
  // The signals are caught from here on, before the port file says the server is up.
  boost::asio::io_context signals_ctx;
  boost::asio::signal_set signals(signals_ctx, SIGINT, SIGTERM, SIGHUP);
  if (!config->port_file.empty()) {
    std::ofstream(config->port_file) << port << "\n";
  }
  // The allocator's free pages go back to the system every few seconds (server/heap.hpp).
  boost::asio::steady_timer trim_timer(signals_ctx);
  int received = 0;
  std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec,
                                                                             int sig) {
    if (!ec && sig == SIGHUP) {
      if (!config->tls.enabled()) {
        log(LogLevel::kInfo, "SIGHUP: no TLS configured, nothing to reload (other settings need a restart)");
      } else if (akt::Status st = ServerTls::reload_all(); st.ok()) {
        log(LogLevel::kInfo, "SIGHUP: TLS certificate " + config->tls.cert_file + " reloaded; new connections use it");
      } else {
        log(LogLevel::kError, "SIGHUP: TLS certificate not reloaded, the previous one stays in use: " + st.message());
      }
      signals.async_wait(on_signal);
      return;
    }
    received = sig;
    trim_timer.cancel();
  };
  signals.async_wait(on_signal);
  std::function<void(const boost::system::error_code&)> on_trim = [&](const boost::system::error_code& ec) {
    if (ec || received != 0) return;
    trim_heap();
    trim_timer.expires_after(std::chrono::seconds(kHeapTrimSeconds));
    trim_timer.async_wait(on_trim);
  };
  trim_timer.expires_after(std::chrono::seconds(kHeapTrimSeconds));
  trim_timer.async_wait(on_trim);
  signals_ctx.run();
  log(LogLevel::kInfo, "signal " + std::to_string(received) + ": stopping gracefully");
  (*server)->stop();
  log(LogLevel::kInfo, "stopped");
  return 0;
}

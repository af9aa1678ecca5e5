#include "server/app_state.hpp"
#include "schema/store/server_store.hpp"
#include "schema/store/store_tx.hpp"
#include "server/handlers/handlers.hpp"
#include "schema/export/redact.hpp"
#include "server/log.hpp"
#include "sync/hex.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <openssl/rand.h>

#ifdef AKT_HAVE_POSTGRES
#include "schema/store/postgres/pg_blobs.hpp"
#include "schema/store/postgres/pg_store.hpp"
#endif

namespace akt::server {
namespace {

constexpr std::size_t kKeyBytes = 32;

std::string new_key_hex() {
  unsigned char buf[kKeyBytes];
  if (RAND_bytes(buf, sizeof buf) != 1) return {};
  return sync::to_hex(buf, sizeof buf);
}

// Writes `hex` to a new file at `path` with mode 0600; fails if the file exists.
Status write_key_file(const std::string& path, const std::string& hex) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::io_error("cannot create pseudonym key " + path + ": " + std::strerror(errno));
  const std::string text = hex + "\n";
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return Status::io_error("cannot write pseudonym key " + path);
  }
  return {};
}

}  // namespace

Result<std::string> load_or_create_pseudonym_key(const Config& config) {
  const std::string path = config.pseudonym_key_path();
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return Status::io_error("cannot read pseudonym key " + path + ": " + std::strerror(errno));
    const std::string hex = new_key_hex();
    if (hex.empty()) return Status::io_error("RAND_bytes failed");
    if (Status w = write_key_file(path, hex); !w.ok()) return w;
    if (::stat(path.c_str(), &st) != 0) return Status::io_error("cannot read pseudonym key " + path);
  }
  if ((st.st_mode & 077) != 0)
    return Status::invalid_argument("pseudonym key " + path + " is accessible by other users: chmod 600 it");
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return Status::io_error("cannot read pseudonym key " + path);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  if (line.size() < 32 || line.size() % 2 != 0)
    return Status::invalid_argument("pseudonym key " + path + " must hold at least 32 hex digits (an even number)");
  auto key = sync::from_hex(line);
  if (!key) return Status::invalid_argument("pseudonym key " + path + " must hold hex digits only");
  return *key;
}

std::string pseudonym_key_check(std::string_view key) {
  // A field key no form can have (keys are [a-z][a-z0-9_]: FORMS.md §2), so this is no record's pseudonym.
  return exports::pseudonym(key, "", "#pseudonym-key-check", "aktsync");
}

Status check_pseudonym_key(store::SyncStore& store, std::string_view key, const std::string& path) {
  constexpr const char* kMetaKey = "pseudonym_key_check";
  const std::string mine = pseudonym_key_check(key);
  std::string held;
  Status st = store.update([&](store::StoreWriter& tx) -> Status {
    auto v = tx.meta_value(kMetaKey);
    if (!v.ok()) return v.status();
    if (*v) {
      held = **v;
      return {};
    }
    held = mine;
    return tx.put_meta(kMetaKey, mine);
  });
  if (!st.ok()) return st;
  if (held == mine) return {};
  return Status::invalid_argument(
      "pseudonym key " + path + " is not the key this database's pseudonyms were made with (another server of "
      "the database, or this one before a move or restore, used another): copy the pseudonym key file from "
      "a server of this database (STORE.md §12), or run --rotate-pseudonym-key to start new pseudonyms");
}

Status rotate_pseudonym_key(const Config& config) {
  const std::string path = config.pseudonym_key_path();
  const std::string tmp = path + ".new";
  ::unlink(tmp.c_str());
  const std::string hex = new_key_hex();
  if (hex.empty()) return Status::io_error("RAND_bytes failed");
  if (Status w = write_key_file(tmp, hex); !w.ok()) return w;
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status::io_error("cannot replace pseudonym key " + path + ": " + std::strerror(errno));
  }
  return {};
}

std::int64_t ServerClock::operator()() const {
  const std::int64_t frozen = frozen_ms_.load();
  if (frozen != kNotFrozen) return frozen;
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
             .count() +
         offset_ms_.load();
}

namespace {

// The one place that knows the engines (docs/STORE.md): everything else sees store::SyncStore and
// store::BlobStore.
Result<std::unique_ptr<store::SyncStore>> open_store(const Config& config, std::function<void(std::int64_t)> on_commit,
                                                     std::shared_ptr<const store::FormRules> rules) {
  if (config.store.is_postgres()) {
#ifdef AKT_HAVE_POSTGRES
    store::PgStoreOptions o;
    o.url = config.store.url;
    o.on_commit = std::move(on_commit);
    o.form_rules = std::move(rules);
    // Other servers may share the database: their commits wake this one's long polls (STORE.md §10).
    o.listen = true;
    o.on_listener_event = [](const std::string& e) {
      log(e == "listening" ? LogLevel::kInfo : LogLevel::kWarn, "postgres feed listener: " + e);
    };
    auto s = store::PgStore::open(std::move(o));
    if (!s.ok()) return s.status();  // its message names the cause, never the url's password
    return std::unique_ptr<store::SyncStore>(std::move(*s));
#else
    return Status::invalid_argument("store.engine \"postgres\": this build has no PostgreSQL engine "
                                    "(configure with -DAKT_POSTGRES=ON and libpq)");
#endif
  }
  store::ServerStoreOptions o;
  o.path = config.database_path();
  o.on_commit = std::move(on_commit);
  o.form_rules = std::move(rules);
  auto s = store::ServerStore::open(std::move(o));
  if (!s.ok()) return s.status();
  return std::unique_ptr<store::SyncStore>(std::move(*s));
}

// The attachment files of the engine config.store names (blob_store.hpp): the data folder's with SQLite,
// the database's with PostgreSQL (every server on it serves every photo and resumes every upload).
Result<std::unique_ptr<store::BlobStore>> open_blob_store(const Config& config) {
  if (config.store.is_postgres()) {
#ifdef AKT_HAVE_POSTGRES
    auto b = store::PgBlobStore::open(config.store.url);
    if (!b.ok()) return b.status();
    return std::unique_ptr<store::BlobStore>(std::move(*b));
#else
    return Status::invalid_argument("store.engine \"postgres\": this build has no PostgreSQL engine");
#endif
  }
  auto b = store::FileBlobStore::open(config.data_dir);
  if (!b.ok()) return b.status();
  return std::unique_ptr<store::BlobStore>(std::move(*b));
}

}  // namespace

Result<std::shared_ptr<AppState>> make_app_state(Config config) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return Status::io_error("cannot create data dir " + config.data_dir + ": " + ec.message());
  // The notifier must exist before the store can call it: hold it through a shared pointer set below.
  auto key = load_or_create_pseudonym_key(config);
  if (!key.ok()) return key.status();
  auto holder = std::make_shared<std::weak_ptr<AppState>>();
  auto on_commit = [holder](std::int64_t last_seq) {
    if (auto app = holder->lock()) app->notifier.notify(last_seq);
  };
  auto rules = make_form_rules(holder);  // handed once: every push consults the registry through it
  auto s = open_store(config, std::move(on_commit), std::move(rules));
  if (!s.ok()) return s.status();
  auto app = std::make_shared<AppState>(std::move(config), std::move(*s));
  *holder = app;
  app->pseudonym_key = std::move(*key);
  if (!app->config.rotating_pseudonym_key) AKT_TRY(check_pseudonym_key(*app->store, app->pseudonym_key, app->config.pseudonym_key_path()));
  // Failed logins and each token's requests count on every server of the database when the engine
  // shares its buckets (STORE.md §12): N servers do not give a token N times its rate.
  app->login_user_limiter.share_through(app->store.get(), "login:");
  app->login_addr_limiter.share_through(app->store.get(), "login:");
  app->request_limiter.share_through(app->store.get(), "request:");
  if (Status st = app->forms.load(*app->store); !st.ok()) return st;
  auto blobs = open_blob_store(app->config);
  if (!blobs.ok()) return blobs.status();
  app->blobs = std::move(*blobs);
  return app;
}

}  // namespace akt::server

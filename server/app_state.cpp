#include "server/app_state.hpp"

#include <chrono>
#include <filesystem>

namespace akt::server {

Result<std::shared_ptr<AppState>> make_app_state(Config config) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return Status::io_error("cannot create data dir " + config.data_dir + ": " + ec.message());
  // The notifier must exist before the store can call it: hold it through a shared pointer set below.
  auto holder = std::make_shared<std::weak_ptr<AppState>>();
  store::ServerStoreOptions o;
  o.path = config.database_path();
  o.on_commit = [holder](std::int64_t last_seq) {
    if (auto app = holder->lock()) app->notifier.notify(last_seq);
  };
  auto s = store::ServerStore::open(std::move(o));
  if (!s.ok()) return s.status();
  auto app = std::make_shared<AppState>(std::move(config), std::move(*s));
  *holder = app;
  if (Status st = app->forms.load(*app->store); !st.ok()) return st;
  app->now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  return app;
}

}  // namespace akt::server

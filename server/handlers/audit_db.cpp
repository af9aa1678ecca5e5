// Transitional (TODO(#20)): an audit entry written over the raw SQLite connection, for the handler that
// does not use the store seam yet (exports.cpp, inside ServerStore::write). Goes with its last caller;
// every other handler writes audit entries through audit(StoreWriter&, ...).
#include "server/handlers/handlers.hpp"

#include <nlohmann/json.hpp>

#include "schema/store/accounts_store.hpp"

namespace akt::server {

Status audit(store::Db& db, AppState& app, const std::string& username, const std::string& action,
             const std::string& target, const nlohmann::json& detail, const std::string& remote) {
  return store::insert_audit(db, app.now_ms(), username, action, target,
                             detail.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), remote);
}

}  // namespace akt::server

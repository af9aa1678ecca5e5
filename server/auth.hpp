// Who is calling: bearer tokens (device tokens from enrolment, login sessions, and static device
// tokens from the config file) resolved to a principal with a role and a scope. Tokens are stored
// only as SHA-256 hashes; static ones are compared in constant time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schema/store/sync_store.hpp"
#include "server/config.hpp"
#include "sync/access.hpp"

namespace akt::server {

struct Principal {
  std::string username;          // "config:<name>" for static config devices
  std::int64_t user_id = 0;      // 0 for static config devices
  sync::Role role = sync::Role::kEnumerator;
  std::string kind;              // "device", "session" or "static"
  std::string device_actor;      // the actor a device token may push as; empty for sessions
  // What the principal may read and write; nullopt = everything (M&E officers, admins, static devices).
  std::optional<std::vector<sync::Assignment>> scope;
  std::int64_t scope_version = 0;
  bool special_category = false; // the user holds the special-category grant (class S in clear)
  std::string token_hash;        // raw SHA-256 of the token (rate limits, logout)

  bool is_device() const { return !device_actor.empty(); }
};

// Lowercase hex SHA-256.
std::string sha256_hex(std::string_view data);
// Raw 32-byte SHA-256.
std::string sha256_raw(std::string_view data);

class Authenticator {
 public:
  explicit Authenticator(std::vector<DeviceCredential> static_devices) : static_(std::move(static_devices)) {}
  // The principal of "Bearer <token>". kUnauthenticated with the reason (missing, unknown, expired,
  // revoked, disabled) otherwise; storage errors as they come.
  Result<Principal> authenticate(std::string_view authorization, store::TransactionalStore& store,
                                 std::int64_t now_ms) const;

 private:
  std::vector<DeviceCredential> static_;
};

}  // namespace akt::server

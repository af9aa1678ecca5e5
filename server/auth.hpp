// Bearer-token authentication of devices (until the accounts issue brings users and roles).
// Tokens are never stored: the config holds their SHA-256; comparison is constant-time.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/config.hpp"

namespace akt::server {

struct Principal {
  std::string actor;  // the device's actor id
  std::string name;
};

// Lowercase hex SHA-256.
std::string sha256_hex(std::string_view data);

class DeviceAuth {
 public:
  explicit DeviceAuth(std::vector<DeviceCredential> devices) : devices_(std::move(devices)) {}
  // The device whose token is in `authorization` ("Bearer <token>"), or nullopt.
  std::optional<Principal> authenticate(std::string_view authorization) const;

 private:
  std::vector<DeviceCredential> devices_;
};

}  // namespace akt::server

#include "server/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace akt::server {

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0xF]);
  }
  return out;
}

std::optional<Principal> DeviceAuth::authenticate(std::string_view authorization) const {
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.size() <= kScheme.size() || authorization.substr(0, kScheme.size()) != kScheme) return {};
  std::string_view token = authorization.substr(kScheme.size());
  if (token.size() > 512) return {};
  const std::string hash = sha256_hex(token);
  // Compare against every credential, in constant time each, so timing tells nothing of which matched.
  const DeviceCredential* found = nullptr;
  for (const DeviceCredential& d : devices_) {
    if (d.token_sha256.size() == hash.size() && CRYPTO_memcmp(d.token_sha256.data(), hash.data(), hash.size()) == 0)
      found = &d;
  }
  if (!found) return {};
  return Principal{found->actor, found->name};
}

}  // namespace akt::server

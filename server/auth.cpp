#include "server/auth.hpp"

#include <cctype>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "schema/store/store_tx.hpp"
#include "sync/hex.hpp"

namespace akt::server {

std::string sha256_raw(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string sha256_hex(std::string_view data) {
  return sync::to_hex(sha256_raw(data));
}

Result<Principal> Authenticator::authenticate(std::string_view authorization, store::TransactionalStore& store,
                                              std::int64_t now_ms) const {
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.empty()) return Status::unauthenticated("a bearer token is required (Authorization: Bearer ...)");
  // The scheme name is case-insensitive (RFC 7235 §2.1).
  auto same_scheme = [&] {
    for (std::size_t i = 0; i < kScheme.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
          std::tolower(static_cast<unsigned char>(kScheme[i])))
        return false;
    return true;
  };
  if (authorization.size() <= kScheme.size() || !same_scheme())
    return Status::unauthenticated("the Authorization header must be 'Bearer <token>'");
  std::string_view token = authorization.substr(kScheme.size());
  if (token.size() > 512) return Status::unauthenticated("unknown token");
  Principal p;
  p.token_hash = sha256_raw(token);

  // Static devices from the config: compare with every entry in constant time.
  const std::string hex = sha256_hex(token);
  const DeviceCredential* found = nullptr;
  for (const DeviceCredential& d : static_) {
    if (d.token_sha256.size() == hex.size() && CRYPTO_memcmp(d.token_sha256.data(), hex.data(), hex.size()) == 0)
      found = &d;
  }
  if (found) {
    p.username = "config:" + found->name;
    p.kind = "static";
    p.device_actor = found->actor;
    return p;
  }

  std::optional<store::TokenInfo> info;
  Status st = store.query([&](store::StoreReader& tx) {
    auto r = tx.lookup_token(p.token_hash);
    if (!r.ok()) return r.status();
    info = std::move(*r);
    return Status();
  });
  if (!st.ok()) return st;
  if (!info) return Status::unauthenticated("unknown token");
  if (info->revoked) return Status::unauthenticated("token revoked");
  if (info->expires_at <= now_ms) return Status::unauthenticated("token expired");
  if (info->user.disabled) return Status::unauthenticated("account disabled");
  p.username = info->user.username;
  p.user_id = info->user.id;
  p.role = info->user.role;
  p.kind = info->kind;
  p.device_actor = info->device_actor;
  p.scope_version = info->user.scope_version;
  p.special_category = info->user.special_category;
  if (!sync::reads_everything(p.role)) p.scope = std::move(info->scope);
  return p;
}

}  // namespace akt::server

// Password hashing with scrypt (memory-hard, through OpenSSL) and random secrets for tokens and
// enrolment codes. Stored form: "scrypt$N$r$p$<salt hex>$<hash hex>".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace akt::server {

struct KdfParams {
  std::uint64_t n = 32768;  // CPU/memory cost: 128 * n * r bytes (32 MiB by default)
  std::uint32_t r = 8;
  std::uint32_t p = 1;
};

std::string hash_password(std::string_view password, const KdfParams& params = {});
// Constant-time comparison of the derived key; false for a malformed stored hash.
bool verify_password(std::string_view password, std::string_view stored);
// `bytes` random bytes from OpenSSL's CSPRNG, as lowercase hex.
std::string random_hex(std::size_t bytes);

}  // namespace akt::server

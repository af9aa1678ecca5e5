#include "server/password.hpp"
#include "sync/hex.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <charconv>
#include <stdexcept>
#include <vector>

namespace akt::server {

namespace {

using sync::to_hex;

bool from_hex(std::string_view h, std::vector<unsigned char>& out) {
  if (h.size() % 2) return false;
  out.clear();
  for (std::size_t i = 0; i < h.size(); i += 2) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(h.data() + i, h.data() + i + 2, v, 16);
    if (ec != std::errc() || p != h.data() + i + 2) return false;
    out.push_back(static_cast<unsigned char>(v));
  }
  return true;
}

bool derive(std::string_view password, const std::vector<unsigned char>& salt, const KdfParams& k,
            unsigned char* out, std::size_t out_len) {
  const std::uint64_t maxmem = 128ull * k.n * k.r * 2 + (1u << 20);
  return EVP_PBE_scrypt(password.data(), password.size(), salt.data(), salt.size(), k.n, k.r, k.p, maxmem, out,
                        out_len) == 1;
}

}  // namespace

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) throw std::runtime_error("RAND_bytes failed");
  return to_hex(buf.data(), buf.size());
}

std::string hash_password(std::string_view password, const KdfParams& k) {
  std::vector<unsigned char> salt(16);
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) throw std::runtime_error("RAND_bytes failed");
  unsigned char key[32];
  if (!derive(password, salt, k, key, sizeof key)) throw std::runtime_error("scrypt failed");
  return "scrypt$" + std::to_string(k.n) + "$" + std::to_string(k.r) + "$" + std::to_string(k.p) + "$" +
         to_hex(salt.data(), salt.size()) + "$" + to_hex(key, sizeof key);
}

bool verify_password(std::string_view password, std::string_view stored) {
  // scrypt$N$r$p$salt$hash
  std::vector<std::string_view> parts;
  std::size_t pos = 0;
  while (parts.size() < 6) {
    std::size_t d = stored.find('$', pos);
    parts.push_back(stored.substr(pos, d == std::string_view::npos ? std::string_view::npos : d - pos));
    if (d == std::string_view::npos) break;
    pos = d + 1;
  }
  if (parts.size() != 6 || parts[0] != "scrypt") return false;
  KdfParams k;
  auto num = [](std::string_view s, auto& v) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && p == s.data() + s.size();
  };
  if (!num(parts[1], k.n) || !num(parts[2], k.r) || !num(parts[3], k.p)) return false;
  if (k.n < 2 || k.n > (1u << 22) || k.r < 1 || k.r > 64 || k.p < 1 || k.p > 16) return false;
  std::vector<unsigned char> salt, expected;
  if (!from_hex(parts[4], salt) || !from_hex(parts[5], expected) || expected.empty() || expected.size() > 64)
    return false;
  std::vector<unsigned char> got(expected.size());
  if (!derive(password, salt, k, got.data(), got.size())) return false;
  return CRYPTO_memcmp(got.data(), expected.data(), got.size()) == 0;
}

}  // namespace akt::server

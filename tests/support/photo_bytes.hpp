// Photo-like bytes for the attachment tests, and the reference a record field holds for them
// (PROTOCOL §14.1: "sha256:<hex>;size=<n>;type=<media type>").
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "schema/store/blob_store.hpp"

namespace akt::test {

// n pseudo-random bytes (incompressible, like a JPEG), the same for the same seed.
inline std::string bytes_of(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng() & 0xff);
  return out;
}

// The field value that references `bytes` as a JPEG photo.
inline std::string ref_of(const std::string& bytes) {
  return "sha256:" + store::sha256_hex_of(bytes) + ";size=" + std::to_string(bytes.size()) + ";type=image/jpeg";
}

}  // namespace akt::test

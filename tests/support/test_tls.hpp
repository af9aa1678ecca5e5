// A throwaway self-signed certificate (EC P-256, CN=localhost, SAN DNS:localhost and IP:127.0.0.1),
// made at start-up for TLS tests and written as PEM files into a folder.
#pragma once

#include <string>

namespace akt::test {

struct TestCert {
  std::string cert_file;  // PEM certificate (also the CA file a client trusts)
  std::string key_file;   // PEM private key
};

// Writes cert.pem and key.pem into `dir`. Throws std::runtime_error on failure (tests only).
TestCert make_test_cert(const std::string& dir);

}  // namespace akt::test

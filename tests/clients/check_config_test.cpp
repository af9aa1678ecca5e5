// `aktsyncd --check-config FILE` (README "Operating aktsync"): validates a configuration without starting;
// exit 0 with a summary, or 2 with a message naming what is wrong. The real binary, run as a child.
#include <doctest/doctest.h>

#include <fstream>

#include "tests/clients/client_support.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;

namespace {

test::Run check(const test::TempDir& dir, const std::string& config_text) {
  std::ofstream(dir.file("c.json")) << config_text;
  return test::run_program(AKTSYNCD_PATH, {"--check-config", dir.file("c.json")}, dir);
}

}  // namespace

TEST_CASE("check-config: a usable config passes, and each kind of mistake is named") {
  test::TempDir dir;
  const std::string data = "\"data_dir\":\"" + dir.file("data") + "\"";
  auto ok = check(dir, "{" + data + ",\"listen\":\"127.0.0.1:0\",\"log_format\":\"json\"}");
  CHECK_MESSAGE(ok.code == 0, ok.err);
  CHECK(ok.out.find("config OK") != std::string::npos);
  // It did not start a server or make the data folder.
  CHECK_FALSE(std::ifstream(dir.file("data") + "/aktsync.db").good());

  struct Bad {
    std::string text, expect;
  };
  std::ofstream(dir.file("a-file")) << "x";
  const Bad bad[] = {
      {"{" + data + ",\"log_format\":\"xml\"}", "log_format"},
      {"{" + data + ",\"workers\":\"many\"}", "workers"},
      {"{" + data + ",\"listen\":\"0.0.0.0:8080\"}", "HTTP"},
      {"{" + data + ",\"tls\":{\"cert_file\":\"/nonexistent/cert.pem\",\"key_file\":\"/nonexistent/key.pem\"}}",
       "/nonexistent/"},
      {"{\"data_dir\":\"" + dir.file("a-file") + "/data\"}", "data_dir"},
      {"{not json", "JSON"},
  };
  for (const Bad& b : bad) {
    auto r = check(dir, b.text);
    CHECK_MESSAGE(r.code == 2, b.text);
    CHECK_MESSAGE(r.err.find(b.expect) != std::string::npos, b.text << " -> " << r.err);
  }
  auto missing = test::run_program(AKTSYNCD_PATH, {"--check-config", dir.file("absent.json")}, dir);
  CHECK(missing.code == 2);
}

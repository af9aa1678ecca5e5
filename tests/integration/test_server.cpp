#include "tests/integration/test_server.hpp"

#include <doctest/doctest.h>

#include "server/auth.hpp"
#include "server/log.hpp"
#include "sync/wire_json.hpp"
#include "tests/support/edits.hpp"
#include "tests/support/test_tls.hpp"

namespace akt::test {

TestServer::TestServer(server::Limits limits, std::string data_dir, bool tls) {
  a = Device{uuid_n(0xA1), "token-device-a-0123456789"};
  b = Device{uuid_n(0xB2), "token-device-b-0123456789"};
  data_dir_ = data_dir.empty() ? dir_.path() : data_dir;
  server::Config c;
  c.listen_address = "127.0.0.1";
  c.listen_port = 0;
  c.data_dir = data_dir_;
  c.io_threads = 2;
  c.workers = 8;
  c.limits = limits;
  c.log_level = "warn";
  if (tls) {
    auto cert = make_test_cert(dir_.path());
    c.tls = {cert.cert_file, cert.key_file};
    cert_file_ = cert.cert_file;
  }
  c.devices = {{a.actor, "tablet-a", server::sha256_hex(a.token)}, {b.actor, "tablet-b", server::sha256_hex(b.token)}};
  server::set_log_level(c.log_level);
  REQUIRE(server::check_config(c).ok());
  auto app = server::make_app_state(c);
  REQUIRE(app.ok());
  auto s = server::Server::start(*app);
  REQUIRE(s.ok());
  server_ = std::move(*s);
}

TestServer::~TestServer() { server_->stop(); }

client::HttpResult push(client::HttpClient& c, const Device& dev, const sync::PushRequest& req) {
  auto r = c.request("POST", "/v1/push", sync::encode_push_request(req), dev.auth());
  REQUIRE(r.ok());
  return std::move(*r);
}

client::HttpResult get(client::HttpClient& c, const Device& dev, const std::string& target) {
  auto r = c.request("GET", target, {}, dev.auth());
  REQUIRE(r.ok());
  return std::move(*r);
}

}  // namespace akt::test

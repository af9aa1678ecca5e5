// TLS over loopback with a throwaway certificate: push and pull over HTTPS; plain HTTP on the TLS port
// fails cleanly; TLS 1.0 and 1.1 are refused; an untrusted certificate is refused by the client.
#include <doctest/doctest.h>

#include <openssl/ssl.h>

#include <nlohmann/json.hpp>

#include "sync/wire_json.hpp"
#include "tests/integration/feed.hpp"
#include "tests/integration/test_server.hpp"
#include "tests/support/edits.hpp"

using namespace akt;

TEST_CASE("tls: push and pull over HTTPS") {
  test::TestServer srv({}, {}, true);
  auto c = srv.client();
  sync::PushRequest req{"tls-1", {test::make_edit(test::uuid7(1, 1), srv.a.actor, 1, {}, R"({"q":"ë"})", {"q"})}};
  auto r = test::push(c, srv.a, req);
  CHECK(r.status == 200);
  CHECK(r.header("strict-transport-security").find("max-age=") == 0);
  auto feed = test::pull_all(c, srv.b, "", 10);
  CHECK(feed.records.size() == 1);
  // A replay over a new TLS connection answers the same bytes.
  auto c2 = srv.client();
  CHECK(test::push(c2, srv.a, req).body == r.body);
}

TEST_CASE("tls: plain HTTP to the TLS port fails cleanly and the server keeps serving") {
  test::TestServer srv({}, {}, true);
  client::HttpClient plain("127.0.0.1", srv.port());  // no TLS
  auto r = plain.request("GET", "/healthz");
  CHECK_FALSE(r.ok());
  auto c = srv.client();
  auto ok = c.request("GET", "/healthz");
  REQUIRE(ok.ok());
  CHECK(ok->status == 200);
}

TEST_CASE("tls: TLS 1.0 and 1.1 are refused") {
  test::TestServer srv({}, {}, true);
  for (int version : {TLS1_VERSION, TLS1_1_VERSION}) {
    client::HttpOptions o;
    o.max_tls_version = version;
    auto c = srv.client(o);
    auto r = c.request("GET", "/healthz");
    CHECK_FALSE(r.ok());
  }
  client::HttpOptions modern;
  modern.max_tls_version = TLS1_2_VERSION;
  auto c12 = srv.client(modern);
  auto r12 = c12.request("GET", "/healthz");
  REQUIRE(r12.ok());
  CHECK(r12->status == 200);
}

TEST_CASE("tls: a client refuses a certificate it does not trust") {
  test::TestServer srv({}, {}, true);
  client::HttpOptions o;
  o.tls = true;
  o.ca_file = "/nonexistent-ca.pem";
  client::HttpClient bad_ca("127.0.0.1", srv.port(), o);
  CHECK_FALSE(bad_ca.request("GET", "/healthz").ok());
  client::HttpOptions system_store;
  system_store.tls = true;  // the system trust store does not know the throwaway certificate
  client::HttpClient untrusted("127.0.0.1", srv.port(), system_store);
  CHECK_FALSE(untrusted.request("GET", "/healthz").ok());
}

TEST_CASE("config: plain HTTP on a public address is refused unless TLS or a proxy is declared") {
  server::Config c;
  c.listen_address = "0.0.0.0";
  CHECK_FALSE(server::check_config(c).ok());
  c.behind_proxy = true;
  CHECK(server::check_config(c).ok());
  c.behind_proxy = false;
  c.tls = {"cert.pem", "key.pem"};
  CHECK(server::check_config(c).ok());
  c.listen_address = "127.0.0.1";
  c.tls = {};
  CHECK(server::check_config(c).ok());
}

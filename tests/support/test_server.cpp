#include "tests/support/test_server.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "schema/store/accounts_store.hpp"
#include "schema/store/store_tx.hpp"
#include "server/auth.hpp"
#include "server/password.hpp"
#include "server/log.hpp"
#include "sync/wire_json.hpp"
#include "tests/support/edits.hpp"
#include "tests/support/test_tls.hpp"

namespace akt::test {

TestServer::TestServer(server::Limits limits, std::string data_dir, bool tls, bool validate_forms,
                       std::string postgres_url) {
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
  c.accounts.password_kdf_n = 1024;  // fast hashing in tests; production uses 32768
  c.forms.validate = validate_forms;  // most tests push free-form bodies; forms_test turns it on
  if (!postgres_url.empty()) {
    c.store = {"postgres", postgres_url};
    // Every server of one database uses one pseudonym key (STORE.md §12): as an operator copies the
    // file, each test server of this database gets the same key, made from the database's url.
    const std::string key_path = c.pseudonym_key_path();
    if (::access(key_path.c_str(), F_OK) != 0) {
      std::ofstream(key_path) << server::sha256_hex(postgres_url) << "\n";
      ::chmod(key_path.c_str(), 0600);
    }
  }
  server::set_log_level(c.log_level);
  REQUIRE(server::check_config(c).ok());
  auto app = server::make_app_state(c);
  REQUIRE_MESSAGE(app.ok(), app.status().message());
  auto s = server::Server::start(*app);
  REQUIRE(s.ok());
  server_ = std::move(*s);
}

TestServer::~TestServer() { server_->stop(); }

store::ServerStore& TestServer::sqlite() {
  auto* s = dynamic_cast<store::ServerStore*>(app().store.get());
  REQUIRE_MESSAGE(s, "the test server does not run on SQLite");
  return *s;
}

void TestServer::create_user(const std::string& username, const std::string& role, const std::string& password,
                             const std::vector<sync::Assignment>& assignments, const std::string& supervisor) {
  store::User u;
  u.username = username;
  u.role = *sync::role_from_string(role);
  u.password_hash = server::hash_password(password, {1024, 8, 1});
  u.created_at = 1;
  // Through the seam: the same on every engine.
  Status st = app().store->update([&](store::StoreWriter& tx) {
    if (!supervisor.empty()) {
      auto sup = tx.find_user(supervisor);
      if (!sup.ok()) return sup.status();
      u.supervisor_id = (*sup)->id;
    }
    auto id = tx.insert_user(u);
    if (!id.ok()) return id.status();
    return tx.set_assignments(*id, assignments);
  });
  REQUIRE(st.ok());
}

std::string TestServer::login(const std::string& username, const std::string& password) {
  auto c = client();
  nlohmann::json body{{"username", username}, {"password", password}};
  auto r = c.request("POST", "/v1/login", body.dump(), {{"Content-Type", "application/json"}});
  REQUIRE(r.ok());
  REQUIRE_MESSAGE(r->status == 200, r->body);
  return nlohmann::json::parse(r->body)["token"].get<std::string>();
}

Device TestServer::enrol(const std::string& admin_token, const std::string& username, const std::string& device_name) {
  auto c = client();
  const std::vector<std::pair<std::string, std::string>> h{{"Authorization", "Bearer " + admin_token},
                                                           {"Content-Type", "application/json"}};
  auto code = c.request("POST", "/v1/admin/enrolments",
                        nlohmann::json{{"username", username}, {"device_name", device_name}}.dump(), h);
  REQUIRE(code.ok());
  REQUIRE_MESSAGE(code->status == 201, code->body);
  static std::uint64_t next_actor = 0x5000;
  Device d{uuid_n(++next_actor), ""};
  auto r = c.request("POST", "/v1/enrol",
                     nlohmann::json{{"code", nlohmann::json::parse(code->body)["code"]}, {"actor", d.actor},
                                    {"app_version", "test"}}
                         .dump(),
                     {{"Content-Type", "application/json"}});
  REQUIRE(r.ok());
  REQUIRE_MESSAGE(r->status == 201, r->body);
  d.token = nlohmann::json::parse(r->body)["token"].get<std::string>();
  return d;
}

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

bool wait_for_waiters(server::AppState& app, std::size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (app.notifier.waiting() < n) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace akt::test

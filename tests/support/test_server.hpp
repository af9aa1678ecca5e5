// An in-process aktsyncd on 127.0.0.1, port 0, with two device tokens, for integration tests.
#pragma once

#include <memory>
#include <string>

#include "clients/http_client.hpp"
#include "schema/store/server_store.hpp"
#include "server/server.hpp"
#include "sync/access.hpp"
#include "sync/wire.hpp"
#include "tests/support/temp_dir.hpp"

namespace akt::test {

struct Device {
  std::string actor;
  std::string token;
  std::vector<std::pair<std::string, std::string>> auth() const {
    return {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
  }
};

class TestServer {
 public:
  // With `tls`, the server speaks HTTPS with a throwaway certificate that client() trusts.
  // With `validate_forms`, pushes are checked against published forms (as in production).
  // With `postgres_url`, the store is PostgreSQL's at that url (config store.engine "postgres"); the
  // data folder still holds the pseudonym key (the attachment files are in the database).
  explicit TestServer(server::Limits limits = {}, std::string data_dir = {}, bool tls = false,
                      bool validate_forms = false, std::string postgres_url = {});
  ~TestServer();
  std::uint16_t port() const { return server_->port(); }
  client::HttpClient client(client::HttpOptions o = {}) const {
    if (!cert_file_.empty()) {
      o.tls = true;
      if (o.ca_file.empty()) o.ca_file = cert_file_;
    }
    return client::HttpClient("127.0.0.1", port(), o);
  }
  const std::string& cert_file() const { return cert_file_; }
  server::AppState& app() { return server_->app(); }
  // The SQLite engine, for tests that look inside its database (REQUIREs that the server runs on it).
  store::ServerStore& sqlite();
  void stop() { server_->stop(); }
  const std::string& data_dir() const { return data_dir_; }

  // Accounts, written straight into the store (the HTTP admin API is tested separately).
  void create_user(const std::string& username, const std::string& role, const std::string& password,
                   const std::vector<sync::Assignment>& assignments = {}, const std::string& supervisor = {});
  // Logs in over HTTP; returns the session token (REQUIREs success).
  std::string login(const std::string& username, const std::string& password);
  // Issues an enrolment code as `admin_token` and enrols a new device with it; returns the device.
  Device enrol(const std::string& admin_token, const std::string& username, const std::string& device_name);

  Device a, b;

 private:
  TempDir dir_;
  std::string data_dir_;
  std::string cert_file_;
  std::unique_ptr<server::Server> server_;
};

// Headers of a user session request: the bearer token and a JSON body.
inline std::vector<std::pair<std::string, std::string>> bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
}

// The whole text of a file ("" when it cannot be read), e.g. a form definition of the repository.
std::string read_text_file(const std::string& path);

// Waits (up to a generous deadline, 120 s) until `n` pulls are parked on the server's change notifier;
// false when they never were.
bool wait_for_waiters(server::AppState& app, std::size_t n);

// Pushes a batch as `dev` and returns the HTTP result (REQUIREs that the request went through).
client::HttpResult push(client::HttpClient& c, const Device& dev, const sync::PushRequest& req);
client::HttpResult get(client::HttpClient& c, const Device& dev, const std::string& target);

}  // namespace akt::test

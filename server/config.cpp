#include "server/config.hpp"

#include <arpa/inet.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "sync/uuid.hpp"

namespace akt::server {

using nlohmann::json;

namespace {

template <class T>
Status read_number(const json& obj, const char* key, T& out) {
  auto it = obj.find(key);
  if (it == obj.end()) return {};
  if constexpr (std::is_floating_point_v<T>) {
    if (!it->is_number() || it->get<double>() < 0)
      return Status::invalid_argument(std::string("config: ") + key + " must be a non-negative number");
    out = it->get<T>();
  } else {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 0)
      return Status::invalid_argument(std::string("config: ") + key + " must be a non-negative integer");
    out = static_cast<T>(it->get<std::int64_t>());
  }
  return {};
}

Status read_string(const json& obj, const char* key, std::string& out) {
  auto it = obj.find(key);
  if (it == obj.end()) return {};
  if (!it->is_string()) return Status::invalid_argument(std::string("config: ") + key + " must be a string");
  out = it->get<std::string>();
  return {};
}

Status parse_listen(const std::string& text, Config& c) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) return Status::invalid_argument("listen must be host:port, got '" + text + "'");
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string port = text.substr(colon + 1);
  if (host.empty() || port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return Status::invalid_argument("listen must be host:port, got '" + text + "'");
  int p = std::stoi(port);
  if (p > 65535) return Status::invalid_argument("listen port out of range: " + port);
  c.listen_address = host;
  c.listen_port = static_cast<std::uint16_t>(p);
  return {};
}

#define AKT_CFG_TRY(expr)       \
  do {                          \
    Status st_ = (expr);        \
    if (!st_.ok()) return st_;  \
  } while (0)

}  // namespace

Result<Config> parse_config(const std::string& text, Config c) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::invalid_argument("config: not a JSON object");
  std::string listen;
  AKT_CFG_TRY(read_string(j, "listen", listen));
  if (!listen.empty()) AKT_CFG_TRY(parse_listen(listen, c));
  AKT_CFG_TRY(read_string(j, "data_dir", c.data_dir));
  AKT_CFG_TRY(read_string(j, "log_level", c.log_level));
  AKT_CFG_TRY(read_string(j, "log_format", c.log_format));
  if (c.log_format != "text" && c.log_format != "json")
    return Status::invalid_argument("config: log_format must be \"text\" or \"json\"");
  AKT_CFG_TRY(read_string(j, "pseudonym_key_file", c.pseudonym_key_file));
  AKT_CFG_TRY(read_string(j, "metrics_token_sha256", c.metrics_token_sha256));
  AKT_CFG_TRY(read_number(j, "io_threads", c.io_threads));
  AKT_CFG_TRY(read_number(j, "ready_min_free_disk_bytes", c.ready_min_free_disk_bytes));
  AKT_CFG_TRY(read_number(j, "workers", c.workers));
  if (auto it = j.find("behind_proxy"); it != j.end()) {
    if (!it->is_boolean()) return Status::invalid_argument("config: behind_proxy must be a boolean");
    c.behind_proxy = it->get<bool>();
  }
  if (auto it = j.find("trusted_proxies"); it != j.end()) {
    if (!it->is_array()) return Status::invalid_argument("config: trusted_proxies must be an array of IP addresses");
    c.trusted_proxies.clear();
    for (const json& a : *it) {
      auto ip = a.is_string() ? canonical_ip(a.get<std::string>()) : std::nullopt;
      if (!ip) return Status::invalid_argument("config: trusted_proxies: " + a.dump() + " is not an IP address");
      c.trusted_proxies.push_back(*ip);
    }
  }
  if (auto it = j.find("limits"); it != j.end()) {
    if (!it->is_object()) return Status::invalid_argument("config: limits must be an object");
    Limits& l = c.limits;
    AKT_CFG_TRY(read_number(*it, "max_body_bytes", l.max_body_bytes));
    AKT_CFG_TRY(read_number(*it, "max_decoded_body_bytes", l.max_decoded_body_bytes));
    AKT_CFG_TRY(read_number(*it, "max_header_bytes", l.max_header_bytes));
    AKT_CFG_TRY(read_number(*it, "max_edits_per_batch", l.max_edits_per_batch));
    AKT_CFG_TRY(read_number(*it, "max_edit_body_bytes", l.max_edit_body_bytes));
    AKT_CFG_TRY(read_number(*it, "max_pull_limit", l.max_pull_limit));
    AKT_CFG_TRY(read_number(*it, "max_wait_ms", l.max_wait_ms));
    AKT_CFG_TRY(read_number(*it, "read_timeout_ms", l.read_timeout_ms));
    AKT_CFG_TRY(read_number(*it, "idle_timeout_ms", l.idle_timeout_ms));
    AKT_CFG_TRY(read_number(*it, "max_connections", l.max_connections));
    AKT_CFG_TRY(read_number(*it, "handshake_timeout_ms", l.handshake_timeout_ms));
    AKT_CFG_TRY(read_number(*it, "max_connections_per_address", l.max_connections_per_address));
    AKT_CFG_TRY(read_number(*it, "reserved_connections", l.reserved_connections));
    AKT_CFG_TRY(read_number(*it, "first_byte_timeout_ms", l.first_byte_timeout_ms));
    AKT_CFG_TRY(read_number(*it, "requests_per_minute", l.requests_per_minute));
    AKT_CFG_TRY(read_number(*it, "request_burst", l.request_burst));
    AKT_CFG_TRY(read_number(*it, "login_attempts_per_15min", l.login_attempts_per_15min));
  }
  if (auto it = j.find("accounts"); it != j.end()) {
    if (!it->is_object()) return Status::invalid_argument("config: accounts must be an object");
    AccountPolicy& a = c.accounts;
    AKT_CFG_TRY(read_number(*it, "device_token_days", a.device_token_days));
    AKT_CFG_TRY(read_number(*it, "session_hours", a.session_hours));
    AKT_CFG_TRY(read_number(*it, "enrolment_hours", a.enrolment_hours));
    AKT_CFG_TRY(read_number(*it, "password_kdf_n", a.password_kdf_n));
    AKT_CFG_TRY(read_number(*it, "min_password_length", a.min_password_length));
    if (a.password_kdf_n < 1024 || (a.password_kdf_n & (a.password_kdf_n - 1)) != 0)
      return Status::invalid_argument("config: accounts.password_kdf_n must be a power of two >= 1024");
  }
  if (auto it = j.find("attachments"); it != j.end()) {
    if (!it->is_object()) return Status::invalid_argument("config: attachments must be an object");
    AttachmentPolicy& a = c.attachments;
    AKT_CFG_TRY(read_number(*it, "max_bytes", a.max_bytes));
    AKT_CFG_TRY(read_number(*it, "upload_expiry_ms", a.upload_expiry_ms));
    AKT_CFG_TRY(read_number(*it, "max_missing_query", a.max_missing_query));
    AKT_CFG_TRY(read_number(*it, "gc_grace_ms", a.gc_grace_ms));
    if (a.max_bytes < 1 || a.upload_expiry_ms < 1 || a.max_missing_query < 1 || a.gc_grace_ms < 1)
      return Status::invalid_argument("config: attachments values must be >= 1");
  }
  if (auto it = j.find("store"); it != j.end()) {
    if (!it->is_object()) return Status::invalid_argument("config: store must be an object");
    AKT_CFG_TRY(read_string(*it, "engine", c.store.engine));
    AKT_CFG_TRY(read_string(*it, "url", c.store.url));
    if (c.store.engine != "sqlite" && c.store.engine != "postgres")
      return Status::invalid_argument("config: store.engine must be \"sqlite\" or \"postgres\", got \"" +
                                      c.store.engine.substr(0, 40) + "\"");
    if (c.store.is_postgres() && c.store.url.empty())
      return Status::invalid_argument("config: store.url is required with store.engine \"postgres\"");
  }
  if (auto it = j.find("tls"); it != j.end()) {
    if (!it->is_object()) return Status::invalid_argument("config: tls must be an object");
    AKT_CFG_TRY(read_string(*it, "cert_file", c.tls.cert_file));
    AKT_CFG_TRY(read_string(*it, "key_file", c.tls.key_file));
    if (c.tls.cert_file.empty() != c.tls.key_file.empty())
      return Status::invalid_argument("config: tls needs both cert_file and key_file");
  }
  if (auto it = j.find("forms"); it != j.end()) {
    if (!it->is_object()) return Status::invalid_argument("config: forms must be an object");
    if (auto v = it->find("validate"); v != it->end()) {
      if (!v->is_boolean()) return Status::invalid_argument("config: forms.validate must be a boolean");
      c.forms.validate = v->get<bool>();
    }
  }
  if (auto it = j.find("devices"); it != j.end()) {
    if (!it->is_array()) return Status::invalid_argument("config: devices must be an array");
    for (std::size_t i = 0; i < it->size(); ++i) {
      const json& d = (*it)[i];
      if (!d.is_object()) return Status::invalid_argument("config: devices[" + std::to_string(i) + "] not an object");
      DeviceCredential cred;
      AKT_CFG_TRY(read_string(d, "actor", cred.actor));
      AKT_CFG_TRY(read_string(d, "name", cred.name));
      AKT_CFG_TRY(read_string(d, "token_sha256", cred.token_sha256));
      c.devices.push_back(std::move(cred));
    }
  }
  return c;
}

std::optional<std::string> canonical_ip(std::string_view text) {
  const std::string s(text.substr(0, 64));
  char out[INET6_ADDRSTRLEN] = {};
  unsigned char buf[sizeof(in6_addr)];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1 && inet_ntop(AF_INET, buf, out, sizeof out)) return std::string(out);
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1 && inet_ntop(AF_INET6, buf, out, sizeof out)) {
    std::string v6(out);
    if (v6.rfind("::ffff:", 0) == 0 && v6.find('.') != std::string::npos) return v6.substr(7);  // mapped IPv4
    return v6;
  }
  return std::nullopt;
}

Result<Config> load_config_file(const std::string& path, Config base) {
  std::ifstream in(path);
  if (!in) return Status::io_error("cannot read config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), std::move(base));
}

const char* usage() {
  return "usage: aktsyncd [--config FILE] [--listen HOST:PORT] [--data-dir DIR] [--port-file FILE]\n"
         "                [--log-level debug|info|warn|error]\n"
         "  --config FILE      JSON configuration (see deploy/aktsyncd.example.json)\n"
         "  --listen HOST:PORT address to serve on; port 0 picks a free port\n"
         "  --data-dir DIR     folder of the SQLite database (created if missing)\n"
         "  --port-file FILE   write the bound port there once listening\n"
         "       aktsyncd [--config FILE | --data-dir DIR] --create-user NAME --role ROLE --password-file FILE\n"
         "  adds a user (enumerator, supervisor, me_officer or admin) and exits: how the first admin is made\n"
         "       aktsyncd [--config FILE | --data-dir DIR] --reset-password NAME --password-file FILE\n"
         "  sets the user's password, ends their login sessions and exits (a locked-out admin)\n"
         "       aktsyncd backup [--config FILE | --data-dir DIR] --to ARCHIVE [--without-blobs]\n"
         "  writes a verified, compressed copy of the data folder while the server runs\n"
         "       aktsyncd restore [--config FILE | --data-dir DIR] --from ARCHIVE\n"
         "  puts a backup in place under a new epoch (the server must be stopped)\n";
}

Result<Config> config_from_args(int argc, const char* const* argv) {
  Config c;
  // --config first, so that the other flags override the file whatever their order.
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--config") {
      auto r = load_config_file(argv[i + 1], c);
      if (!r.ok()) return r.status();
      c = std::move(*r);
    }
  }
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") return Status::invalid_argument(usage());
    if (i + 1 >= argc) return Status::invalid_argument("missing value for " + flag + "\n" + usage());
    std::string value = argv[++i];
    if (flag == "--config") continue;
    if (flag == "--listen") AKT_CFG_TRY(parse_listen(value, c));
    else if (flag == "--data-dir") c.data_dir = value;
    else if (flag == "--port-file") c.port_file = value;
    else if (flag == "--log-level") c.log_level = value;
    else return Status::invalid_argument("unknown flag " + flag + "\n" + usage());
  }
  return c;
}

Status check_config(const Config& c) {
  const bool loopback = c.listen_address == "127.0.0.1" || c.listen_address == "::1" ||
                        c.listen_address == "localhost" || c.listen_address.rfind("127.", 0) == 0;
  if (!loopback && !c.behind_proxy && !c.tls.enabled())
    return Status::invalid_argument("refusing plain HTTP on " + c.listen_address +
                                    ": configure tls (cert_file, key_file), bind to loopback, or set \"behind_proxy\": true "
                                    "when a TLS reverse proxy terminates connections");
  if (c.io_threads < 1 || c.workers < 1) return Status::invalid_argument("io_threads and workers must be >= 1");
  if (c.limits.max_connections < 1 || c.limits.reserved_connections >= c.limits.max_connections)
    return Status::invalid_argument("limits.reserved_connections must be smaller than limits.max_connections");
  if (!c.metrics_token_sha256.empty() && (c.metrics_token_sha256.size() != 64 ||
                                          c.metrics_token_sha256.find_first_not_of("0123456789abcdef") != std::string::npos))
    return Status::invalid_argument("metrics_token_sha256 must be 64 lowercase hex digits (sha256sum of the token)");
  for (const DeviceCredential& d : c.devices) {
    if (!sync::is_uuid(d.actor)) return Status::invalid_argument("device '" + d.name + "': actor is not a UUID");
    if (d.token_sha256.size() != 64 || d.token_sha256.find_first_not_of("0123456789abcdef") != std::string::npos)
      return Status::invalid_argument("device '" + d.name + "': token_sha256 must be 64 lowercase hex digits");
  }
  return {};
}

}  // namespace akt::server

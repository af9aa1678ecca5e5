// Server configuration: a JSON file plus command-line flags that override it. No Beast here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sync/status.hpp"

namespace akt::server {

struct Limits {
  std::size_t max_body_bytes = 8 * 1024 * 1024;          // request body as sent (413 above)
  std::size_t max_decoded_body_bytes = 32 * 1024 * 1024; // after gunzip (413 above)
  std::size_t max_header_bytes = 16 * 1024;              // 431 above
  std::size_t max_edits_per_batch = 1000;
  std::size_t max_edit_body_bytes = 256 * 1024;
  std::size_t max_pull_limit = 5000;                     // records per changes page
  std::int64_t max_wait_ms = 60000;                      // long-poll wait
  std::int64_t read_timeout_ms = 30000;                  // to receive one whole request
  std::int64_t idle_timeout_ms = 120000;                 // keep-alive between requests
  std::size_t max_connections = 2048;                    // beyond: a silent connection is evicted, or the new one closed
  std::size_t max_connections_per_address = 128;         // from one client address (a NAT'd office counts once)
  std::size_t reserved_connections = 256;                // of max_connections, only for authenticated connections
  std::int64_t first_byte_timeout_ms = 5000;             // a new connection must send its first bytes by then
  std::int64_t handshake_timeout_ms = 10000;             // TLS handshake
  double requests_per_minute = 1200;                     // per token (429 + Retry-After beyond); 0 = off
  double request_burst = 300;
  double login_attempts_per_15min = 5;                   // per username and (x4) per client address
};

struct AccountPolicy {
  std::int64_t device_token_days = 180;   // device tokens expire after this
  std::int64_t session_hours = 12;        // login sessions (console, CLI) expire after this
  std::int64_t enrolment_hours = 72;      // one-time enrolment codes expire after this
  std::uint64_t password_kdf_n = 32768;   // scrypt N (r = 8, p = 1): 32 MiB per hash
  std::size_t min_password_length = 10;
};

struct FormPolicy {
  // Validate every pushed edit against its published form version (unknown versions and invalid
  // records are rejected and quarantined). Off only for load tests of the bare sync path.
  bool validate = true;
};

// Attachments (PROTOCOL §14): photo files uploaded in resumable chunks.
struct AttachmentPolicy {
  std::int64_t max_bytes = 32 * 1024 * 1024;      // largest attachment (413 attachment_too_large above)
  std::int64_t upload_expiry_ms = 7 * 86400000LL;  // a partial upload untouched this long is discarded
  std::size_t max_missing_query = 1000;           // digests per POST /v1/blobs/missing
  std::int64_t gc_grace_ms = 30 * 86400000LL;      // an unreferenced file is removed once older than this
};

// HTTPS through OpenSSL: TLS 1.2 minimum, forward-secret AEAD ciphers only.
struct TlsConfig {
  std::string cert_file;  // PEM certificate chain
  std::string key_file;   // PEM private key
  bool enabled() const { return !cert_file.empty(); }
};

struct DeviceCredential {
  std::string actor;         // the device's actor id (UUID)
  std::string name;          // for logs
  std::string token_sha256;  // lowercase hex SHA-256 of the bearer token; the token itself is never stored
};

// Which store engine holds the data (docs/STORE.md): SQLite in data_dir (the default), or a PostgreSQL
// database. `url` is anything libpq accepts (a postgresql:// URL or key=value words); it may hold a
// password, so it is never logged.
struct StoreConfig {
  std::string engine = "sqlite";  // "sqlite" or "postgres"
  std::string url;                // postgres only (required there)
  bool is_postgres() const { return engine == "postgres"; }
};

struct Config {
  std::string listen_address = "127.0.0.1";
  std::uint16_t listen_port = 8080;  // 0 = any free port (tests)
  std::string data_dir = "./data";  // SQLite's database (sqlite engine), attachment files, the pseudonym key
  StoreConfig store;
  std::string port_file;             // when set, the bound port is written there after listening
  bool behind_proxy = false;         // allows plain HTTP on a non-loopback address
  // Reverse proxies whose X-Forwarded-For is believed (IP addresses): requests from them count under
  // the forwarded client address for throttling and audit. Empty: X-Forwarded-For is ignored.
  std::vector<std::string> trusted_proxies;
  int io_threads = 2;
  int workers = 16;                  // request handlers; pushes wait here for their group commit
  std::string log_level = "info";
  std::string log_format = "text";   // "text" or "json" (one JSON object per line)
  // GET /readyz answers 503 when the data folder's file system has less free space than this.
  std::uint64_t ready_min_free_disk_bytes = 512ULL << 20;
  Limits limits;
  TlsConfig tls;
  AccountPolicy accounts;
  FormPolicy forms;
  AttachmentPolicy attachments;
  std::vector<DeviceCredential> devices;
  // The secret key of the M&E pseudonyms (docs/SECURITY.md §8): a file holding at least 32 hex digits,
  // readable by the service user only. Empty: <data_dir>/pseudonym.key, made at first start.
  std::string pseudonym_key_file;
  // Not read from the file: set by `--rotate-pseudonym-key` only, whose store is opened to record the new
  // key's check value, so the old key need not match the database's (SECURITY.md §8).
  bool rotating_pseudonym_key = false;
  // GET /metrics for a scraper (Prometheus): lowercase hex SHA-256 of its bearer token (the token itself
  // is never stored). Empty: only admins' tokens may read /metrics.
  std::string metrics_token_sha256;

  std::string database_path() const { return data_dir + "/aktsync.db"; }
  std::string pseudonym_key_path() const {
    return pseudonym_key_file.empty() ? data_dir + "/pseudonym.key" : pseudonym_key_file;
  }
};

// Parses a config file's JSON text over `base` (fields absent keep base's values). Errors name the field.
Result<Config> parse_config(const std::string& json_text, Config base = {});
// Reads and parses a config file.
Result<Config> load_config_file(const std::string& path, Config base = {});
// Applies flags (--listen host:port, --data-dir, --config, --port-file, --log-level). --config is
// read first, then the other flags override it. Returns kInvalidArgument with usage on a bad flag.
Result<Config> config_from_args(int argc, const char* const* argv);
// Refuses configurations that would be unsafe (plain HTTP on a public address, a device without a
// valid actor or token hash).
Status check_config(const Config& config);

const char* usage();

// The canonical text of an IPv4 or IPv6 address (IPv4-mapped IPv6 as IPv4), or nullopt.
std::optional<std::string> canonical_ip(std::string_view text);

}  // namespace akt::server

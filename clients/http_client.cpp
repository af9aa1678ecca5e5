// The HTTP client (see http_client.hpp). Each operation is started asynchronously and the client's
// io_context runs until it completes; beast::tcp_stream's expiry closes the socket when a deadline
// passes, so run() always returns.
#include "clients/http_client.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "sync/content_coding.hpp"
#include "sync/gzip.hpp"
#include "sync/zstd.hpp"
#include "sync/hex.hpp"

namespace akt::client {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

std::string HttpResult::header(const std::string& name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return {};
}

std::string normalize_pin(const std::string& pin) {
  std::string out;
  for (char c : pin) {
    if (c == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return {};
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out.size() == 64 ? out : std::string();
}

namespace {

std::string asn1_time(const ASN1_TIME* t) {
  if (!t) return "?";
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return "?";
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

std::string sha256_hex(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) != 1) return {};
  return sync::to_hex(md, len);
}

// Bytes a plain-HTTP server answers with, seen by a TLS client as a record header.
bool is_plain_http_answer(const beast::error_code& ec) {
  if (ec.category() != net::error::get_ssl_category()) return false;
  const int reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
  return reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
         reason == SSL_R_RECORD_LENGTH_MISMATCH || reason == SSL_R_UNKNOWN_PROTOCOL;
}

bool is_cut(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
         ec == net::error::broken_pipe || ec == ssl::error::stream_truncated;
}

}  // namespace

struct HttpClient::Impl {
  std::string host;
  std::uint16_t port;
  HttpOptions options;
  std::string pin;  // normalized options.pin_sha256
  net::io_context ioc;
  std::optional<ssl::context> tls_ctx;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  TransferStats stats;
  bool timed_out = false;  // the last exchange ended at a deadline
  std::string partial;     // the body part of a 200 answer cut in transit (see partial_answer())
  bool takes_zstd = false; // an answer of the server advertised zstd request bodies
  bool sent_zstd = false;  // the last request's body went zstd
  // Uploads: zstd -6 takes 0.73x the bytes of gzip -5 on push batches for no more CPU
  // (tests/bench/coding_bench.cpp); higher levels over slow links (zstd_level_for).
  double upload_rate = 0;  // JSON bytes/s the caller expects of uploads (0: unknown)
  int last_level = 0;

  // What the certificate check saw, for the error message.
  struct CertTrouble {
    int error = X509_V_OK;
    std::string subject, not_before, not_after, fingerprint;
    bool pin_mismatch = false;
  } cert;

  bool connected() const { return plain.has_value() || secure.has_value(); }
  void reset() {
    plain.reset();
    secure.reset();
  }
  std::string where() const { return host + ":" + std::to_string(port); }

  // Runs the io_context until the started operation completes (its deadline is on the stream).
  void run() {
    ioc.restart();
    ioc.run();
  }

  Status make_tls_context() {
    tls_ctx.emplace(ssl::context::tls_client);
    SSL_CTX* native = tls_ctx->native_handle();
    SSL_CTX_set_min_proto_version(native, options.max_tls_version ? TLS1_VERSION : TLS1_2_VERSION);
    if (options.max_tls_version) {
      SSL_CTX_set_max_proto_version(native, options.max_tls_version);
      SSL_CTX_set_security_level(native, 0);  // let the test offer what the server must refuse
    }
    boost::system::error_code ec;
    if (!options.verify_peer) {
      tls_ctx->set_verify_mode(ssl::verify_none);
      return {};
    }
    tls_ctx->set_verify_mode(ssl::verify_peer);
    if (!options.pin_sha256.empty()) {
      pin = normalize_pin(options.pin_sha256);
      if (pin.empty())
        return Status::invalid_argument("the certificate pin '" + options.pin_sha256 +
                                        "' is not a SHA-256 fingerprint (64 hex digits, colons allowed)");
      return {};
    }
    if (!options.ca_pem.empty()) {
      tls_ctx->add_certificate_authority(net::buffer(options.ca_pem), ec);
      if (ec) return Status::invalid_argument("the stored CA certificate cannot be used: " + ec.message());
    } else if (options.ca_file.empty()) {
      tls_ctx->set_default_verify_paths(ec);
    } else {
      tls_ctx->load_verify_file(options.ca_file, ec);
      if (ec)
        return Status::invalid_argument("cannot load the CA file " + options.ca_file + ": " + ec.message() +
                                        " (give the PEM certificate of the server's CA with --ca FILE)");
    }
    return {};
  }

  bool verify(bool preverified, ssl::verify_context& vctx) {
    X509_STORE_CTX* c = vctx.native_handle();
    const int depth = X509_STORE_CTX_get_error_depth(c);
    X509* current = X509_STORE_CTX_get_current_cert(c);
    if (!pin.empty()) {
      if (depth > 0) return true;  // the pin names the server's own certificate; its issuers do not matter
      const std::string fp = current ? sha256_hex(current) : std::string();
      if (fp == pin) return true;
      cert.pin_mismatch = true;
      cert.fingerprint = fp;
      return false;
    }
    if (!preverified && cert.error == X509_V_OK) {
      cert.error = X509_STORE_CTX_get_error(c);
      if (current) {
        char name[256] = {};
        X509_NAME_oneline(X509_get_subject_name(current), name, sizeof name - 1);
        cert.subject = name;
        cert.not_before = asn1_time(X509_get0_notBefore(current));
        cert.not_after = asn1_time(X509_get0_notAfter(current));
        cert.fingerprint = sha256_hex(current);
      }
    }
    return preverified;
  }

  // The handshake failed: say why, and whether retrying can help.
  Status handshake_error(const beast::error_code& ec) {
    const std::string with = "TLS handshake with " + where() + ": ";
    if (cert.pin_mismatch)
      return Status::invalid_argument(with + "the server's certificate (SHA-256 " + cert.fingerprint +
                                      ") is not the pinned one (" + pin +
                                      "); if the server's certificate was replaced, ask the admin for the new "
                                      "fingerprint and run init again");
    switch (cert.error) {
      case X509_V_OK: break;
      case X509_V_ERR_CERT_NOT_YET_VALID:
        return Status::invalid_argument(with + "the certificate of " + cert.subject + " is valid only from " +
                                        cert.not_before + ", but this device's clock says " + now_utc() +
                                        ": set the device's date and time, then sync again");
      case X509_V_ERR_CERT_HAS_EXPIRED:
        return Status::invalid_argument(with + "the certificate of " + cert.subject + " expired on " + cert.not_after +
                                        " (this device's clock says " + now_utc() +
                                        "): if the clock is right, the server's certificate must be renewed; "
                                        "otherwise set the device's date and time");
      case X509_V_ERR_HOSTNAME_MISMATCH:
      case X509_V_ERR_IP_ADDRESS_MISMATCH:
        return Status::invalid_argument(with + "the server's certificate (" + cert.subject + ") is not for " + host +
                                        ": check the server address");
      case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
      case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
      case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      case X509_V_ERR_CERT_UNTRUSTED:
      case X509_V_ERR_CERT_SIGNATURE_FAILURE:
        return Status::invalid_argument(
            with + "the server's certificate (" + cert.subject + ", SHA-256 " + cert.fingerprint +
            ") is not signed by a trusted CA (" +
            (!options.ca_pem.empty() ? std::string("the CA stored at init")
                                     : options.ca_file.empty() ? std::string("the system's trust store")
                                                               : "CA file " + options.ca_file) +
            "; " + X509_verify_cert_error_string(cert.error) +
            "): give the programme's CA certificate with --ca FILE, or pin the certificate with --pin SHA256");
      default:
        return Status::invalid_argument(with + "the server's certificate was refused: " +
                                        X509_verify_cert_error_string(cert.error));
    }
    if (is_plain_http_answer(ec))
      return Status::invalid_argument(with + "the server answered in plain HTTP, not TLS: use http://" + where() +
                                      " (or the server's HTTPS port) (" + ec.message() + ")");
    if (ec == beast::error::timeout)
      return Status::io_error(with + "no answer within " + std::to_string(options.timeout.count()) + " ms");
    if (ec.category() == net::error::get_ssl_category())  // an alert: a version or cipher the server refuses
      return Status::invalid_argument(with + ec.message());
    return Status::io_error(with + ec.message());
  }

  Status connect() {
    reset();
    buffer.clear();
    cert = {};
    beast::error_code ec;
    tcp::resolver::results_type results;
    const auto address = net::ip::make_address(host, ec);
    if (!ec) {
      results = tcp::resolver::results_type::create(tcp::endpoint(address, port), host, std::to_string(port));
    } else {
      tcp::resolver resolver(ioc);
      resolver.async_resolve(host, std::to_string(port),
                             [&](beast::error_code e, tcp::resolver::results_type r) {
                               ec = e;
                               results = std::move(r);
                             });
      run();
      if (ec) return Status::io_error("resolve " + host + ": " + ec.message());
    }
    beast::tcp_stream tcp_stream(ioc);
    tcp_stream.expires_after(options.timeout);
    ec = net::error::operation_aborted;
    tcp_stream.async_connect(results, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
    run();
    if (ec == beast::error::timeout)
      return Status::io_error("connect " + where() + ": no answer within " + std::to_string(options.timeout.count()) +
                              " ms");
    if (ec) return Status::io_error("connect " + where() + ": " + ec.message());
    ++stats.connects;
    tcp_stream.socket().set_option(tcp::no_delay(true), ec);
    if (!options.tls) {
      plain.emplace(std::move(tcp_stream));
      return {};
    }
    if (!tls_ctx) {
      if (Status st = make_tls_context(); !st.ok()) {
        tls_ctx.reset();
        return st;
      }
    }
    secure.emplace(std::move(tcp_stream), *tls_ctx);
    SSL* ssl_native = secure->native_handle();
    boost::system::error_code not_ip;
    net::ip::make_address(host, not_ip);
    // SNI carries names, never IP addresses (RFC 6066).
    if (not_ip)
      SSL_ctrl(ssl_native, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(host.c_str()));
    if (options.verify_peer) {
      if (pin.empty()) {  // OpenSSL checks the name (or address) itself and reports a mismatch precisely
        X509_VERIFY_PARAM* param = SSL_get0_param(ssl_native);
        if (not_ip) X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
        else X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
      }
      secure->set_verify_callback([this](bool pre, ssl::verify_context& v) { return verify(pre, v); });
    }
    beast::get_lowest_layer(*secure).expires_after(options.timeout);
    ec = net::error::operation_aborted;
    secure->async_handshake(ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
    run();
    if (ec) {
      secure.reset();
      return handshake_error(ec);
    }
    return {};
  }

  void moved(std::size_t sent, std::size_t received) {
    stats.bytes_sent += sent;
    stats.bytes_received += received;
    if (options.on_bytes && (sent || received)) options.on_bytes(sent, received);
  }

  // One exchange. `answer_started` tells the caller whether any byte of an answer arrived.
  template <class Stream>
  Result<HttpResult> exchange(Stream& stream, const std::string& method, const std::string& target,
                              const std::string& body, const std::vector<std::pair<std::string, std::string>>& headers,
                              std::uint64_t& sent, bool& answer_started) {
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, host);
    req.set(http::field::user_agent, "aktsync-client/0.1");
    if (options.accept_zstd && options.accept_gzip) req.set(http::field::accept_encoding, "zstd, gzip;q=0.5");
    else if (options.accept_gzip) req.set(http::field::accept_encoding, "gzip");
    else if (options.accept_zstd) req.set(http::field::accept_encoding, "zstd");
    for (const auto& [k, v] : headers) req.set(k, v);
    sent_zstd = false;
    if (!body.empty() && options.gzip_requests && options.zstd_requests && takes_zstd) {
      last_level = options.zstd_level > 0 ? std::min(options.zstd_level, 19) : zstd_level_for(upload_rate);
      req.body() = sync::zstd(body, last_level);
      sent_zstd = !req.body().empty();
    }
    if (sent_zstd) {
      ++stats.zstd_uploads;
      req.set(http::field::content_encoding, "zstd");
    } else if (!body.empty() && options.gzip_requests) {
      req.body() = sync::gzip(body, 5);
      req.set(http::field::content_encoding, "gzip");
    } else {
      req.body() = body;
    }
    req.keep_alive(true);
    req.prepare_payload();
    auto& lowest = beast::get_lowest_layer(stream);
    beast::error_code ec;
    std::size_t n = 0;
    auto done = [&](beast::error_code e, std::size_t got) {
      ec = e;
      n = got;
    };
    // The request: each piece must move within stall_timeout.
    http::request_serializer<http::string_body> sr{req};
    while (!sr.is_done()) {
      lowest.expires_after(options.stall_timeout);
      ec = net::error::operation_aborted;
      n = 0;
      http::async_write_some(stream, sr, done);
      run();
      sent += n;
      moved(n, 0);
      timed_out = ec == beast::error::timeout;
      if (timed_out)
        return Status::io_error("send to " + where() + ": no byte moved for " +
                                std::to_string(options.stall_timeout.count()) + " ms");
      if (ec) return Status::io_error("send to " + where() + ": " + ec.message());
    }
    // The answer: it must start within `timeout`, then keep moving.
    http::response_parser<http::string_body> parser;
    parser.body_limit(1ull << 31);
    // Beast reads at most the buffer's free space, and the parser drains the buffer after each read, so
    // a buffer left at its first 512 bytes reads a 2 MB feed page 512 bytes at a time: 64 KiB reads made
    // akt_sync_bench's plain pull 2.3-4.3x faster (docs/STORE.md, "The pull's client side").
    if (buffer.capacity() < 65536) buffer.reserve(65536);
    if (method == "HEAD") parser.skip(true);  // an answer to HEAD has no body, whatever its length says
    while (!parser.is_done()) {
      lowest.expires_after(answer_started || buffer.size() > 0 ? options.stall_timeout : options.timeout);
      ec = net::error::operation_aborted;
      n = 0;
      http::async_read_some(stream, buffer, parser, done);
      run();
      if (n > 0 || buffer.size() > 0) answer_started = true;
      moved(0, n);
      timed_out = ec == beast::error::timeout;
      if ((timed_out || ec) && parser.is_header_done() && parser.get().result_int() == 200) {
        // Keep what arrived of the body: the caller may resume after its last whole part.
        const auto& got = parser.get();
        const auto coding = got[http::field::content_encoding];
        if (beast::iequals(coding, "gzip")) partial = sync::gunzip_prefix(got.body(), 1ull << 31);
        else if (beast::iequals(coding, "zstd")) partial = sync::unzstd_prefix(got.body(), 1ull << 31);
        else partial = got.body();
      }
      if (timed_out)
        return Status::io_error(
            "receive from " + where() + ": " +
            (answer_started ? "no byte moved for " + std::to_string(options.stall_timeout.count()) + " ms"
                            : "no answer within " + std::to_string(options.timeout.count()) + " ms"));
      if (ec) {
        if (!options.tls && !answer_started && is_cut(ec) && stats.bytes_received == 0)
          return Status::io_error("receive from " + where() + ": the server closed the connection without "
                                  "answering (" + ec.message() + "); if it serves HTTPS, the address must "
                                  "start with https://");
        return Status::io_error("receive from " + where() + ": " + ec.message());
      }
    }
    auto& res = parser.get();
    HttpResult out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    out.body = std::move(res.body());
    if (out.header("content-encoding") == "gzip") {
      auto plain_body = sync::gunzip(out.body, 1ull << 31);
      if (!plain_body.ok()) return Status::io_error("bad gzip answer: " + plain_body.status().message());
      out.body = std::move(*plain_body);
    } else if (out.header("content-encoding") == "zstd") {
      auto plain_body = sync::unzstd(out.body, 1ull << 31);
      if (!plain_body.ok()) return Status::io_error("bad zstd answer: " + plain_body.status().message());
      out.body = std::move(*plain_body);
    }
    // The server's word on the request codings it takes (RFC 7694), on any of its answers.
    if (out.status != 415 && sync::coding_q(out.header("accept-encoding"), "zstd") > 0) takes_zstd = true;
    if (!res.keep_alive()) reset();
    return out;
  }

  Result<HttpResult> once(const std::string& method, const std::string& target, const std::string& body,
                          const std::vector<std::pair<std::string, std::string>>& headers, bool& answer_started) {
    ++stats.requests;
    timed_out = false;
    partial.clear();
    std::uint64_t sent = 0;
    answer_started = false;
    auto r = secure ? exchange(*secure, method, target, body, headers, sent, answer_started)
                    : exchange(*plain, method, target, body, headers, sent, answer_started);
    if (!r.ok()) {
      ++stats.failed;
      stats.bytes_sent_failed += sent;
    }
    return r;
  }
};

HttpClient::HttpClient(std::string host, std::uint16_t port, HttpOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->options = std::move(options);
}

HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

Result<HttpResult> HttpClient::request(const std::string& method, const std::string& target, const std::string& body,
                                       const std::vector<std::pair<std::string, std::string>>& headers) {
  const bool reused = impl_->connected();
  if (!reused) {
    if (Status st = impl_->connect(); !st.ok()) return st;
  }
  bool answer_started = false;
  auto r = impl_->once(method, target, body, headers, answer_started);
  if (!r.ok()) {
    impl_->reset();
    // The server may have closed an idle kept-alive connection: try once more on a new one. Not after
    // a deadline (the link is slow or dead: the caller decides) or once an answer began.
    if (impl_->options.retry_stale_connection && reused && !answer_started && !impl_->timed_out) {
      ++impl_->stats.stale_retries;
      if (Status st = impl_->connect(); !st.ok()) return st;
      r = impl_->once(method, target, body, headers, answer_started);
      if (!r.ok()) impl_->reset();
    }
  }
  // A server that advertised zstd and then refused it (downgraded, or a proxy in between): gzip from now on.
  if (r.ok() && r->status == 415 && impl_->sent_zstd) {
    impl_->takes_zstd = false;
    if (!impl_->connected()) {
      if (Status st = impl_->connect(); !st.ok()) return st;
    }
    r = impl_->once(method, target, body, headers, answer_started);
    if (!r.ok()) impl_->reset();
  }
  return r;
}

void HttpClient::close() { impl_->reset(); }

const TransferStats& HttpClient::stats() const { return impl_->stats; }

const std::string& HttpClient::partial_answer() const { return impl_->partial; }

bool HttpClient::server_takes_zstd() const { return impl_->takes_zstd; }

void HttpClient::set_server_takes_zstd(bool takes) { impl_->takes_zstd = takes; }

void HttpClient::set_upload_rate(double json_bytes_per_s) { impl_->upload_rate = json_bytes_per_s; }

int HttpClient::last_zstd_level() const { return impl_->last_level; }

int zstd_level_for(double json_bytes_per_s) {
  // The push batches of akt_link_bench --levels (1,000 survey records, 2.5 MB of JSON in one batch), on
  // the development machine (x86-64, one core): what each level saves against level 6, in wire bytes per
  // JSON byte, and the CPU time it adds per JSON byte (level 6 itself: 65 B/record, 4 ns per JSON byte):
  //   9: 0.26% of the JSON (9.8% of level 6's bytes), 12.5 ns;  12: 0.50% (19%), 79 ns;
  //   15: 0.69% (26%), 146 ns; 19 saves less than 15 on these batches for 2.7 times its CPU time.
  // A level is worth it where its CPU time, taken twice (a slower or busy core), is at most half the link
  // time it saves; of those, the one that saves the most time net. The link moves `json_bytes_per_s` of
  // JSON coded at level 6: 0.0263 wire bytes per JSON byte. So level 15 up to ~95 kbit/s on the wire,
  // 9 up to ~410 kbit/s (12 wins nowhere by much), 6 above.
  struct Level {
    int level;
    double saves, ns;
  };
  static constexpr Level kLevels[] = {{9, 0.002568, 12.5}, {12, 0.004989, 79.0}, {15, 0.006915, 146.0}};
  if (!(json_bytes_per_s > 0)) return 6;
  const double wire = json_bytes_per_s * 0.0263;
  int best = 6;
  double best_net = 0;
  for (const Level& l : kLevels) {
    const double saved = l.saves / wire, cost = 2 * l.ns * 1e-9;  // seconds per JSON byte
    if (cost <= saved / 2 && saved - cost > best_net) {
      best = l.level;
      best_net = saved - cost;
    }
  }
  return best;
}

}  // namespace akt::client

#include "server/metrics.hpp"

#include <chrono>
#include <cctype>
#include <cmath>
#include <cstdio>

#include <openssl/crypto.h>

#include "server/auth.hpp"

namespace akt::server {

namespace {

// Methods outside HTTP's usual set count as "other": a client cannot grow the set of series.
std::string_view method_label(std::string_view m) {
  for (std::string_view known : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
    if (m == known) return known;
  return "other";
}

void number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[32];
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.6g", v);
  out += buf;
}

void header(std::string& out, std::string_view name, std::string_view help, std::string_view type) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void sample(std::string& out, std::string_view name, std::string_view labels, double v) {
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out += ' ';
  number(out, v);
  out += '\n';
}

}  // namespace

std::string prometheus_escape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

Metrics::Metrics()
    : started_unix_s_(std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count()) {}

void Metrics::observe(const RequestLogLine& line) {
  const double s = static_cast<double>(line.ms) / 1000.0;
  std::lock_guard lock(mu_);
  ++requests_[{std::string(method_label(line.method)), line.route, line.status}];
  RouteStats& r = routes_[line.route];
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (s <= kBuckets[i]) {
      ++r.buckets[i];
      break;
    }
  }
  ++r.count;
  r.sum_s += s;
  r.bytes_in += line.bytes_in;
  r.bytes_out += line.bytes_out;
}

void Metrics::set_gauge(const std::string& name, const std::string& help, std::function<double()> read) {
  std::lock_guard lock(mu_);
  gauges_[name] = Gauge{help, std::move(read)};
}

std::string Metrics::render(const std::vector<MetricSample>& extra) const {
  std::string out;
  out.reserve(8192);
  std::lock_guard lock(mu_);
  header(out, "aktsync_http_requests_total", "Requests answered, by method, route template and status.", "counter");
  for (const auto& [key, n] : requests_) {
    const auto& [method, route, status] = key;
    sample(out,
           "aktsync_http_requests_total",
           "method=\"" + method + "\",route=\"" + prometheus_escape(route) + "\",status=\"" + std::to_string(status) +
               "\"",
           static_cast<double>(n));
  }
  header(out, "aktsync_http_request_duration_seconds",
         "Time from a request's first byte to its answer's last byte, by route template (long polls included).",
         "histogram");
  for (const auto& [route, r] : routes_) {
    const std::string l = "route=\"" + prometheus_escape(route) + "\"";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += r.buckets[i];
      std::string le;
      number(le, kBuckets[i]);
      sample(out, "aktsync_http_request_duration_seconds_bucket", l + ",le=\"" + le + "\"",
             static_cast<double>(cumulative));
    }
    sample(out, "aktsync_http_request_duration_seconds_bucket", l + ",le=\"+Inf\"", static_cast<double>(r.count));
    sample(out, "aktsync_http_request_duration_seconds_sum", l, r.sum_s);
    sample(out, "aktsync_http_request_duration_seconds_count", l, static_cast<double>(r.count));
  }
  header(out, "aktsync_http_request_bytes_total", "Request body bytes as received, by route template.", "counter");
  for (const auto& [route, r] : routes_)
    sample(out, "aktsync_http_request_bytes_total", "route=\"" + prometheus_escape(route) + "\"",
           static_cast<double>(r.bytes_in));
  header(out, "aktsync_http_response_bytes_total", "Answer body bytes as sent, by route template.", "counter");
  for (const auto& [route, r] : routes_)
    sample(out, "aktsync_http_response_bytes_total", "route=\"" + prometheus_escape(route) + "\"",
           static_cast<double>(r.bytes_out));
  for (const auto& [name, g] : gauges_) {
    header(out, name, g.help, "gauge");
    sample(out, name, "", g.read());
  }
  header(out, "aktsync_start_time_seconds", "When this server process started, Unix time.", "gauge");
  sample(out, "aktsync_start_time_seconds", "", static_cast<double>(started_unix_s_));
  std::string last;
  for (const MetricSample& m : extra) {
    if (m.name != last) header(out, m.name, m.help, m.type);
    last = m.name;
    sample(out, m.name, m.labels, m.value);
  }
  return out;
}

bool is_metrics_token(const Config& config, std::string_view authorization) {
  if (config.metrics_token_sha256.empty()) return false;
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.size() <= kScheme.size() || authorization.size() > kScheme.size() + 512) return false;
  for (std::size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
        std::tolower(static_cast<unsigned char>(kScheme[i])))
      return false;
  const std::string hex = sha256_hex(authorization.substr(kScheme.size()));
  return hex.size() == config.metrics_token_sha256.size() &&
         CRYPTO_memcmp(hex.data(), config.metrics_token_sha256.data(), hex.size()) == 0;
}

}  // namespace akt::server

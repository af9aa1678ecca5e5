// GET /metrics (PROTOCOL §3.2, README "Operating aktsync"): the server's counters in the Prometheus text
// format, for Prometheus, Grafana Agent or a plain `curl` during an incident. Requests are counted by
// method, route template and status (templates, never ids: the set of series stays small whatever
// clients send), with a duration histogram per route; gauges are read at each scrape. No Beast here.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "server/config.hpp"
#include "server/log.hpp"

namespace akt::server {

// One value of a gauge family, with its labels already written ("" or `name="value",...`).
struct MetricSample {
  std::string name, help, type;  // type: "gauge" or "counter"
  std::string labels;
  double value = 0;
};

class Metrics {
 public:
  // Request duration buckets, seconds (a long poll lasts up to limits.max_wait_ms: 60 s by default).
  static constexpr std::array<double, 13> kBuckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

  Metrics();
  // Counts one answered request (from the request log line the session writes). Thread-safe.
  void observe(const RequestLogLine& line);
  // A gauge read at each scrape, e.g. open connections. Replaces a gauge of the same name. Thread-safe.
  void set_gauge(const std::string& name, const std::string& help, std::function<double()> read);
  // The whole exposition: the request counters, the registered gauges, then `extra` (read by the caller
  // at this scrape: store, process, disk). Thread-safe.
  std::string render(const std::vector<MetricSample>& extra) const;
  std::int64_t started_unix_s() const { return started_unix_s_; }

 private:
  struct RouteStats {
    std::array<std::uint64_t, kBuckets.size()> buckets{};  // cumulative at render, per bucket here
    std::uint64_t count = 0;
    double sum_s = 0;
    std::uint64_t bytes_in = 0, bytes_out = 0;
  };
  struct Gauge {
    std::string help;
    std::function<double()> read;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;  // (method, route, status)
  std::map<std::string, RouteStats> routes_;
  std::map<std::string, Gauge> gauges_;
  std::int64_t started_unix_s_ = 0;
};

// Whether `authorization` ("Bearer <token>") carries the scrape token configured as
// config.metrics_token_sha256 (compared in constant time). False when none is configured.
bool is_metrics_token(const Config& config, std::string_view authorization);

// A label value escaped for the text format (backslash, double quote, newline).
std::string prometheus_escape(std::string_view value);

}  // namespace akt::server

// Small pieces the benchmarks share: a streamed GET that counts and discards, and medians with ranges.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace akt::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

[[noreturn]] inline void die(const std::string& what) {
  std::fprintf(stderr, "failed: %s\n", what.c_str());
  std::exit(1);
}

// A GET of a chunked answer over a bare socket on 127.0.0.1: decodes the chunks and counts bytes and
// lines, keeping nothing (the figure is the server's, not a client's).
struct Fetched {
  std::size_t bytes = 0, lines = 0;
  bool complete = false;
};

inline Fetched fetch_chunked(std::uint16_t port, const std::string& target, const std::string& token) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("connect");
  const std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token +
                          "\r\nConnection: close\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) die("send");
  std::string buf;
  std::size_t pos = 0;
  char tmp[1 << 16];
  auto fill = [&] {
    const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    if (pos > (1u << 20)) {
      buf.erase(0, pos);
      pos = 0;
    }
    buf.append(tmp, static_cast<std::size_t>(n));
    return true;
  };
  Fetched f;
  while (buf.find("\r\n\r\n") == std::string::npos)
    if (!fill()) die("no header");
  if (buf.compare(9, 3, "200") != 0) die("status " + buf.substr(0, 12));
  pos = buf.find("\r\n\r\n") + 4;
  for (;;) {
    std::size_t eol;
    while ((eol = buf.find("\r\n", pos)) == std::string::npos)
      if (!fill()) goto done;
    {
      const std::size_t size = std::strtoul(buf.c_str() + pos, nullptr, 16);
      if (size == 0) {
        f.complete = true;
        break;
      }
      while (buf.size() < eol + 2 + size + 2) {
        const std::size_t keep = eol - pos;  // `fill` may move the buffer: keep offsets relative
        const std::size_t before = pos;
        if (!fill()) goto done;
        if (pos != before) eol = pos + keep;
      }
      const char* d = buf.data() + eol + 2;
      f.bytes += size;
      f.lines += static_cast<std::size_t>(std::count(d, d + size, '\n'));
      pos = eol + 2 + size + 2;
    }
  }
done:
  ::close(fd);
  return f;
}

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// "median (min–max)" of a figure over runs.
inline std::string spread(const std::vector<double>& v, const char* fmt = "%.0f") {
  if (v.empty()) return "-";
  char a[64], b[64], c[64];
  std::snprintf(a, sizeof a, fmt, median(v));
  std::snprintf(b, sizeof b, fmt, *std::min_element(v.begin(), v.end()));
  std::snprintf(c, sizeof c, fmt, *std::max_element(v.begin(), v.end()));
  return std::string(a) + " (" + b + "-" + c + ")";
}

}  // namespace akt::bench

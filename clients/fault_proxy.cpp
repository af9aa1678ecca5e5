// The fault proxy (see fault_proxy.hpp). Threads: one acceptor, one per client connection; the shared
// state (RNG, counts, the held push, the open sockets) is under one mutex, never held across I/O.
#include "clients/fault_proxy.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "sync/gzip.hpp"
#include "sync/zstd.hpp"

namespace akt::client {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr std::size_t kMaxMessage = 64u << 20;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The value of header `name` (lower case) in `head`, or nullopt.
std::optional<std::string> header_value(const std::string& head, const std::string& name) {
  std::size_t pos = head.find("\r\n");
  while (pos != std::string::npos && pos + 2 < head.size()) {
    const std::size_t start = pos + 2;
    const std::size_t end = head.find("\r\n", start);
    if (end == std::string::npos || end == start) break;
    const std::string line = head.substr(start, end - start);
    const auto colon = line.find(':');
    if (colon != std::string::npos && lower(line.substr(0, colon)) == name) {
      std::string v = line.substr(colon + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.erase(v.begin());
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
      return v;
    }
    pos = end;
  }
  return std::nullopt;
}

// Length of a chunked body starting at `from`, 0 when incomplete, -1 when malformed.
long long chunked_length(const std::string& d, std::size_t from) {
  std::size_t pos = from;
  for (;;) {
    const std::size_t eol = d.find("\r\n", pos);
    if (eol == std::string::npos) return 0;
    std::size_t size = 0, i = pos;
    bool any = false;
    for (; i < eol && std::isxdigit(static_cast<unsigned char>(d[i])); ++i) {
      any = true;
      size = size * 16 + static_cast<std::size_t>(std::isdigit(static_cast<unsigned char>(d[i]))
                                                      ? d[i] - '0'
                                                      : std::tolower(static_cast<unsigned char>(d[i])) - 'a' + 10);
      if (size > kMaxMessage) return -1;
    }
    if (!any || (i < eol && d[i] != ';' && d[i] != ' ')) return -1;
    pos = eol + 2;
    if (size == 0) {  // trailers, then an empty line
      for (;;) {
        const std::size_t t = d.find("\r\n", pos);
        if (t == std::string::npos) return 0;
        if (t == pos) return static_cast<long long>(t + 2 - from);
        pos = t + 2;
      }
    }
    if (d.size() < pos + size + 2) return 0;
    if (d.compare(pos + size, 2, "\r\n") != 0) return -1;
    pos += size + 2;
  }
}

}  // namespace

long long http_message_length(const std::string& data, bool response) {
  const std::size_t head_end = data.find("\r\n\r\n");
  if (head_end == std::string::npos) return data.size() > 65536 ? -1 : 0;
  const std::size_t body_start = head_end + 4;
  const std::string head = data.substr(0, head_end + 2);
  if (head.find(' ') == std::string::npos) return -1;
  if (response) {
    // 1xx, 204 and 304 have no body.
    if (head.size() < 12 || head.compare(0, 5, "HTTP/") != 0) return -1;
    const std::string code = head.substr(9, 3);
    if (code[0] == '1' || code == "204" || code == "304") return static_cast<long long>(body_start);
  }
  if (auto te = header_value(head, "transfer-encoding"); te && lower(*te).find("chunked") != std::string::npos) {
    const long long n = chunked_length(data, body_start);
    return n <= 0 ? n : static_cast<long long>(body_start) + n;
  }
  if (auto cl = header_value(head, "content-length")) {
    if (cl->empty() || cl->size() > 12 || !std::all_of(cl->begin(), cl->end(), [](char c) { return c >= '0' && c <= '9'; }))
      return -1;
    const std::size_t n = std::stoull(*cl);
    if (n > kMaxMessage) return -1;
    return data.size() >= body_start + n ? static_cast<long long>(body_start + n) : 0;
  }
  return response ? -1 : static_cast<long long>(body_start);  // a request without a body
}

namespace {

// Reads one message from `s` into `out`, keeping extra bytes in `buf`. False on EOF/error/malformed.
bool read_message(tcp::socket& s, std::string& buf, std::string& out, bool response) {
  char chunk[16384];
  for (;;) {
    const long long n = http_message_length(buf, response);
    if (n < 0) return false;
    if (n > 0) {
      out = buf.substr(0, static_cast<std::size_t>(n));
      buf.erase(0, static_cast<std::size_t>(n));
      return true;
    }
    boost::system::error_code ec;
    const std::size_t got = s.read_some(net::buffer(chunk), ec);
    if (ec || got == 0) return false;
    buf.append(chunk, got);
    if (buf.size() > kMaxMessage + 65536) return false;
  }
}

bool write_all(tcp::socket& s, const std::string& bytes) {
  boost::system::error_code ec;
  net::write(s, net::buffer(bytes), ec);
  return !ec;
}

// The body of an answer as the client would see it (decoded), for comparing a replay.
std::string answer_body(const std::string& msg) {
  const std::size_t he = msg.find("\r\n\r\n");
  if (he == std::string::npos) return msg;
  const std::string head = msg.substr(0, he + 2);
  std::string body = msg.substr(he + 4);
  if (auto te = header_value(head, "transfer-encoding"); te && lower(*te).find("chunked") != std::string::npos) {
    std::string plain;
    std::size_t pos = 0;
    for (;;) {
      const std::size_t eol = body.find("\r\n", pos);
      if (eol == std::string::npos) break;
      const std::size_t size = std::stoull(body.substr(pos, eol - pos), nullptr, 16);
      if (size == 0) break;
      plain.append(body, eol + 2, size);
      pos = eol + 2 + size + 2;
    }
    body = std::move(plain);
  }
  if (auto ce = header_value(head, "content-encoding"); ce && lower(*ce) == "gzip") {
    auto g = sync::gunzip(body, kMaxMessage);
    if (g.ok()) body = std::move(*g);
  } else if (ce && lower(*ce) == "zstd") {
    auto z = sync::unzstd(body, kMaxMessage);
    if (z.ok()) body = std::move(*z);
  }
  return msg.substr(0, msg.find("\r\n")) + "\n" + body;
}

}  // namespace

struct FaultProxy::Impl {
  FaultOptions options;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::uint16_t port = 0;
  std::atomic<std::uint16_t> upstream_port{0};
  std::thread accept_thread;
  // Several upstreams (set_upstream_ports): each new upstream connection goes to the next in turn.
  std::mutex upstreams_mu;
  std::vector<std::uint16_t> upstreams;
  std::size_t next_upstream = 0;
  std::function<void(std::uint16_t)> on_forwarded;  // set_on_forwarded (under upstreams_mu)

  mutable std::mutex mu;
  bool stopping = false;
  bool faults = true;
  std::mt19937_64 rng;
  FaultCounts counts;
  struct Session {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::list<Session> sessions;
  std::list<int> fds;  // native handles of open client sockets, to wake them on stop()
  std::optional<std::string> held;  // a push held back for reordering
  bool silent = false;
  std::condition_variable stop_cv;  // wakes naps and the cut thread on stop()
  std::thread cut_thread;

  // The link: when each direction is next free (rate limit shared by every connection).
  using Clock = std::chrono::steady_clock;
  Clock::time_point up_free{}, down_free{};

  void trace(const std::string& event) {
    if (options.trace) options.trace(event);
  }

  // Sleeps `d` unless stop() comes first; false when stopping.
  bool nap(std::chrono::milliseconds d) {
    std::unique_lock lock(mu);
    return !stop_cv.wait_for(lock, d, [this] { return stopping; });
  }

  // Blocks until the link carried `bytes` in one direction. `continuing`: the bytes follow others of the
  // same message, so they start where the link's schedule stands even when this thread woke late (on a
  // loaded machine every late wake-up would otherwise add its delay to the transfer, piece after piece,
  // which a real link does not); a new message starts no earlier than now (no burst credit).
  bool pace(Clock::time_point& next_free, std::size_t bytes, bool continuing) {
    const std::uint64_t rate = options.link.rate_bytes_per_s;
    if (rate == 0 || bytes == 0) return true;
    Clock::time_point done;
    {
      std::lock_guard lock(mu);
      const auto start = continuing ? next_free : std::max(Clock::now(), next_free);
      done = start + std::chrono::microseconds(bytes * 1000000ull / rate);
      next_free = done;
    }
    std::unique_lock lock(mu);
    return !stop_cv.wait_until(lock, done, [this] { return stopping; });
  }

  // read_message() through the link: a request arrives no faster than the link's rate.
  bool read_request(tcp::socket& s, std::string& buf, std::string& out) {
    char chunk[4096];
    for (;;) {
      const long long n = http_message_length(buf, false);
      if (n < 0) return false;
      if (n > 0) {
        out = buf.substr(0, static_cast<std::size_t>(n));
        buf.erase(0, static_cast<std::size_t>(n));
        return true;
      }
      boost::system::error_code ec;
      const std::size_t got = s.read_some(net::buffer(chunk), ec);
      if (ec || got == 0 || !pace(up_free, got, !buf.empty())) return deliver_cut(buf);
      buf.append(chunk, got);
      {
        std::lock_guard lock(mu);
        counts.bytes_up += got;
      }
      if (buf.size() > kMaxMessage + 65536) return false;
    }
  }

  // A request cut off mid-way: with LinkOptions::deliver_cut_requests, what crossed the link reaches the
  // server (forward_prefix). Always false (no whole request was read).
  bool deliver_cut(const std::string& partial) {
    if (options.link.deliver_cut_requests && partial.find("\r\n\r\n") != std::string::npos)
      forward_prefix(partial, partial.size());
    return false;
  }

  // Writes an answer through the link: at the link's rate, with a stall in the middle when `stall`.
  bool write_answer(tcp::socket& s, const std::string& bytes, bool stall) {
    const std::size_t piece = options.link.rate_bytes_per_s ? 1024 : bytes.size();
    bool continuing = false;
    for (std::size_t at = 0; at < bytes.size(); at += piece) {
      if (stall && at >= bytes.size() / 2) {
        stall = false;
        continuing = false;  // the link stood still: what follows starts now
        if (!nap(std::chrono::milliseconds(options.link.stall_ms))) return false;
      }
      const std::size_t n = std::min(piece, bytes.size() - at);
      if (!pace(down_free, n, continuing)) return false;
      continuing = true;
      if (at == 0 && options.trace) trace("proxy: answer's first piece written (one-way delay done)");
      boost::system::error_code ec;
      net::write(s, net::buffer(bytes.data() + at, n), ec);
      if (ec) return false;
      std::lock_guard lock(mu);
      counts.bytes_down += n;
    }
    return true;
  }

  // Cuts every open client connection every cut_every_ms.
  void cut_loop() {
    const auto period = std::chrono::milliseconds(options.link.cut_every_ms);
    auto next = Clock::now() + period;
    std::unique_lock lock(mu);
    for (;;) {
      if (stop_cv.wait_until(lock, next, [this] { return stopping; })) return;
      for (int fd : fds) ::shutdown(fd, SHUT_RDWR);
      counts.link_cuts += fds.size();
      next += period;
    }
  }

  double roll() {  // REQUIRES: mu held
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  }

  // Connects `up` to the upstream: the one port, or the next of several in turn. A port that refuses the
  // connection is skipped for the next one (nothing was sent yet), as a load balancer skips a dead
  // backend; `ec` is set when every one refused.
  std::uint16_t connect_upstream(tcp::socket& up, boost::system::error_code& ec) {
    std::vector<std::uint16_t> order;
    {
      std::lock_guard lock(upstreams_mu);
      if (upstreams.empty()) {
        order.push_back(upstream_port.load());
      } else {
        const std::size_t first = next_upstream++ % upstreams.size();
        for (std::size_t i = 0; i < upstreams.size(); ++i) order.push_back(upstreams[(first + i) % upstreams.size()]);
      }
    }
    for (std::size_t i = 0; i < order.size(); ++i) {
      if (i > 0) {
        boost::system::error_code ignored;
        up.close(ignored);
        std::lock_guard lock(mu);
        ++counts.upstream_failovers;
      }
      ec.clear();
      up.connect(tcp::endpoint(net::ip::make_address_v4("127.0.0.1"), order[i]), ec);
      if (!ec) return order[i];
    }
    return 0;
  }

  // Forwards `request` on a fresh upstream connection; nullopt when the upstream fails.
  std::optional<std::string> forward(const std::string& request) {
    try {
      net::io_context io;
      tcp::socket up(io);
      boost::system::error_code ec;
      const std::uint16_t to_port = connect_upstream(up, ec);
      if (ec) return std::nullopt;
      up.set_option(tcp::no_delay(true), ec);
      if (!write_all(up, request)) return std::nullopt;
      {
        std::function<void(std::uint16_t)> hook;
        {
          std::lock_guard lock(upstreams_mu);
          hook = on_forwarded;
        }
        if (hook) hook(to_port);
      }
      std::string buf, answer;
      if (!read_message(up, buf, answer, true)) return std::nullopt;
      up.shutdown(tcp::socket::shutdown_both, ec);
      return answer;
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }

  // Delivers the held push, if any (its answer goes nowhere: its client retries and gets a replay).
  void release_held() {
    std::optional<std::string> h;
    {
      std::lock_guard lock(mu);
      h.swap(held);
    }
    if (!h) return;
    const bool ok = forward(*h).has_value();
    std::lock_guard lock(mu);
    if (ok) ++counts.reorder;
    else ++counts.upstream_errors;
  }

  // Sends the first `n` bytes of `request` upstream and closes: the server sees the link cut there.
  void forward_prefix(const std::string& request, std::size_t n) {
    try {
      net::io_context io;
      tcp::socket up(io);
      boost::system::error_code ec;
      connect_upstream(up, ec);
      if (!ec) write_all(up, request.substr(0, n));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let the server read what arrived
      up.close(ec);
    } catch (const std::exception&) {
    }
  }

  enum class Act { kForward, kDropBefore, kHold, kHeldDrop, kCutRequest };
  struct Plan {
    Act act = Act::kForward;
    std::size_t cut_at = 0;
    bool delay = false, duplicate = false, drop_after = false, cut = false, release = false, stall = false;
    int delay_ms = 0;
  };

  Plan decide(const std::string& req) {
    std::lock_guard lock(mu);
    ++counts.requests;
    Plan p;
    const bool push = req.rfind("POST /v1/push", 0) == 0;
    if (options.link.stall > 0 && roll() < options.link.stall) {
      ++counts.stalls;
      p.stall = true;
    }
    if (!faults) return p;
    if (push && held) {
      if (*held == req) {  // the held push's retry: it must not overtake itself
        ++counts.held_drops;
        p.act = Act::kHeldDrop;
        return p;
      }
      p.release = true;  // a later push: deliver the held one after it
    }
    if (roll() < options.drop_before) {
      ++counts.drop_before;
      p.act = Act::kDropBefore;
      return p;
    }
    if (options.cut_request > 0 && req.size() > 1 && roll() < options.cut_request) {
      ++counts.cut_request;
      p.act = Act::kCutRequest;
      p.cut_at = 1 + static_cast<std::size_t>(rng() % (req.size() - 1));
      return p;
    }
    if (push && !held && !p.release && roll() < options.reorder) {
      held = req;
      p.act = Act::kHold;
      return p;
    }
    if (roll() < options.delay) {
      ++counts.delay;
      p.delay = true;
      p.delay_ms = static_cast<int>(rng() % static_cast<std::uint64_t>(std::max(options.max_delay_ms, 1)));
    }
    if (push && roll() < options.duplicate) {
      ++counts.duplicate;
      p.duplicate = true;
    }
    if (roll() < options.drop_after) {
      ++counts.drop_after;
      p.drop_after = true;
    } else if (roll() < options.cut_response) {
      ++counts.cut_response;
      p.cut = true;
    }
    return p;
  }

  void serve(tcp::socket client) {
    std::string buf, req;
    const auto one_way = std::chrono::milliseconds(options.link.delay_ms);
    // The answer leaves in pieces at the link's rate: each is sent at once (Nagle would hold a piece
    // until the client's delayed ACK of the one before, time a real link does not spend).
    boost::system::error_code nodelay_ec;
    client.set_option(tcp::no_delay(true), nodelay_ec);
    // A new connection costs a round trip before its first request can leave the client.
    bool ok = one_way.count() == 0 || nap(2 * one_way);
    if (options.trace) trace("proxy: connection open (handshake round trip done)");
    while (ok && read_request(client, buf, req)) {
      if (options.trace) trace("proxy: request arrived whole at link rate, " + std::to_string(req.size()) + " B: " +
                               req.substr(0, std::min(req.find(' ', req.find(' ') + 1), req.find('?'))));
      {
        std::unique_lock lock(mu);
        if (options.link.silent_after > 0 && counts.requests >= options.link.silent_after) silent = true;
        if (silent) {  // read on, answer nothing, until the client gives up or the link is cut
          ++counts.requests;
          lock.unlock();
          std::string ignored;
          while (read_request(client, buf, ignored)) {
            std::lock_guard again(mu);
            ++counts.requests;
          }
          break;
        }
      }
      const Plan p = decide(req);
      if (p.act == Act::kCutRequest) forward_prefix(req, p.cut_at);
      if (p.act != Act::kForward) break;  // drop: close the connection without an answer
      if (p.delay) std::this_thread::sleep_for(std::chrono::milliseconds(p.delay_ms));
      if (one_way.count() && !nap(one_way)) break;  // the request's last byte reaches the server
      if (options.trace) trace("proxy: request forwarded (one-way delay done)");
      auto answer = forward(req);
      if (options.trace && answer) trace("proxy: server answered whole, " + std::to_string(answer->size()) + " B");
      if (!answer) {
        std::lock_guard lock(mu);
        ++counts.upstream_errors;
        break;
      }
      if (p.release) release_held();
      if (p.duplicate) {
        auto again = forward(req);
        std::lock_guard lock(mu);
        if (!again) ++counts.upstream_errors;
        else if (answer_body(*again) != answer_body(*answer)) ++counts.replay_mismatch;
      }
      if (p.drop_after) break;
      if (one_way.count() && !nap(one_way)) break;  // the answer's first byte reaches the client
      if (p.cut) {
        write_answer(client, answer->substr(0, answer->size() / 2), false);
        break;
      }
      if (!write_answer(client, *answer, p.stall)) break;
      if (options.trace) trace("proxy: answer's last piece written");
    }
    boost::system::error_code ec;
    client.shutdown(tcp::socket::shutdown_both, ec);
    std::lock_guard lock(mu);
    fds.remove(client.native_handle());
    client.close(ec);
  }

  void accept_loop() {
    for (;;) {
      tcp::socket s(ioc);
      boost::system::error_code ec;
      acceptor.accept(s, ec);
      std::lock_guard lock(mu);
      if (stopping) return;
      if (ec) continue;
      // Reap finished sessions, then serve this one.
      for (auto it = sessions.begin(); it != sessions.end();) {
        if (it->done->load()) {
          it->thread.join();
          it = sessions.erase(it);
        } else {
          ++it;
        }
      }
      fds.push_back(s.native_handle());
      ++counts.connections;
      auto done = std::make_shared<std::atomic<bool>>(false);
      sessions.push_back({std::thread([this, done, sock = std::move(s)]() mutable {
                            serve(std::move(sock));
                            *done = true;
                          }),
                          done});
    }
  }
};

FaultProxy::FaultProxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<FaultProxy>> FaultProxy::start(std::uint16_t upstream_port, const FaultOptions& options,
                                                      std::uint16_t listen_port) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->rng.seed(options.seed);
  impl->upstream_port = upstream_port;
  try {
    const tcp::endpoint ep(net::ip::make_address_v4("127.0.0.1"), listen_port);
    impl->acceptor.open(ep.protocol());
    impl->acceptor.set_option(tcp::acceptor::reuse_address(true));
    impl->acceptor.bind(ep);
    impl->acceptor.listen();
    impl->port = impl->acceptor.local_endpoint().port();
  } catch (const std::exception& e) {
    return Status::io_error(std::string("fault proxy: cannot listen: ") + e.what());
  }
  Impl* raw = impl.get();
  impl->silent = options.link.silent;
  impl->accept_thread = std::thread([raw] { raw->accept_loop(); });
  if (options.link.cut_every_ms > 0) impl->cut_thread = std::thread([raw] { raw->cut_loop(); });
  return std::unique_ptr<FaultProxy>(new FaultProxy(std::move(impl)));
}

FaultProxy::~FaultProxy() { stop(); }

std::uint16_t FaultProxy::port() const { return impl_->port; }
void FaultProxy::set_upstream_port(std::uint16_t port) { impl_->upstream_port = port; }

void FaultProxy::set_on_forwarded(std::function<void(std::uint16_t port)> hook) {
  std::lock_guard lock(impl_->upstreams_mu);
  impl_->on_forwarded = std::move(hook);
}

void FaultProxy::set_upstream_ports(std::vector<std::uint16_t> ports) {
  std::lock_guard lock(impl_->upstreams_mu);
  impl_->upstreams = std::move(ports);
}

void FaultProxy::set_silent(bool on) {
  std::lock_guard lock(impl_->mu);
  impl_->silent = on;
}

void FaultProxy::set_faults(bool on) {
  if (!on) impl_->release_held();
  std::lock_guard lock(impl_->mu);
  impl_->faults = on;
}

FaultCounts FaultProxy::counts() const {
  std::lock_guard lock(impl_->mu);
  return impl_->counts;
}

void FaultProxy::stop() {
  if (!impl_) return;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
    for (int fd : impl_->fds) ::shutdown(fd, SHUT_RDWR);
  }
  impl_->stop_cv.notify_all();
  if (impl_->cut_thread.joinable()) impl_->cut_thread.join();
  ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
  // Wake a blocking accept() for good measure: connect once.
  try {
    net::io_context io;
    tcp::socket s(io);
    boost::system::error_code ec;
    s.connect(tcp::endpoint(net::ip::make_address_v4("127.0.0.1"), impl_->port), ec);
  } catch (const std::exception&) {
  }
  if (impl_->accept_thread.joinable()) impl_->accept_thread.join();
  std::list<Impl::Session> sessions;
  {
    std::lock_guard lock(impl_->mu);
    sessions.swap(impl_->sessions);
    for (int fd : impl_->fds) ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& s : sessions)
    if (s.thread.joinable()) s.thread.join();
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
}

}  // namespace akt::client

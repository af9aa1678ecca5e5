// FeedListener (pg_listen.hpp): one libpq connection in LISTEN, polled with poll(2) beside a pipe that
// stop() writes to.
#include "schema/store/postgres/pg_listen.hpp"

#include <libpq-fe.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "schema/store/postgres/pg_conn.hpp"
#include "schema/store/postgres/pg_feed.hpp"

namespace akt::store::pg {

FeedListener::FeedListener(ListenerOptions options) : o_(std::move(options)) {
  if (::pipe(wake_) != 0) wake_[0] = wake_[1] = -1;  // then stop() is noticed within one wait's bound
  thread_ = std::thread([this] { run(); });
}

FeedListener::~FeedListener() {
  stop();
  for (int fd : wake_)
    if (fd >= 0) ::close(fd);
}

void FeedListener::stop() {
  if (stop_.exchange(true)) {
    if (thread_.joinable()) thread_.join();
    return;
  }
  if (wake_[1] >= 0) {
    const char b = 1;
    (void)!::write(wake_[1], &b, 1);
  }
  if (thread_.joinable()) thread_.join();
}

bool FeedListener::wait(int fd, std::chrono::milliseconds d) {
  pollfd fds[2];
  nfds_t n = 0;
  if (wake_[0] >= 0) fds[n++] = {wake_[0], POLLIN, 0};
  const nfds_t conn_at = n;
  if (fd >= 0) fds[n++] = {fd, POLLIN, 0};
  // Bounded at a second, so that stop() is seen even without the pipe.
  const int ms = static_cast<int>(std::clamp<std::int64_t>(d.count(), 0, 1000));
  if (::poll(fds, n, ms) <= 0) return false;
  return fd >= 0 && (fds[conn_at].revents & (POLLIN | POLLERR | POLLHUP)) != 0;
}

void FeedListener::run() {
  const auto event = [this](const std::string& e) {
    if (o_.on_event) o_.on_event(e);
  };
  bool was_up = true;  // the first failure is reported too
  while (!stop_.load()) {
    auto conn = PgConn::connect(o_.url);
    Status st = conn.ok() ? (*conn)->exec_script(std::string("LISTEN ") + kFeedChannel) : conn.status();
    if (!st.ok()) {
      if (was_up) event("lost: " + st.message() + " (reading the feed head every " +
                        std::to_string(o_.fallback_interval.count()) + " ms until it is back)");
      was_up = false;
      // Down: no notification can come, so the head is read the other way, then connecting is tried again.
      if (o_.read_head)
        if (auto h = o_.read_head(); h.ok()) o_.on_head(*h);
      wait(-1, o_.fallback_interval);
      continue;
    }
    PgConn& c = **conn;
    PGconn* pc = c.native();
    // The FATAL notice of a terminated backend is not for stderr: the loss is reported below.
    PQsetNoticeProcessor(pc, [](void*, const char*) {}, nullptr);
    // From here every commit is heard; one read of the head covers those made before LISTEN.
    auto head = feed_head(c);
    if (!head.ok()) {
      wait(-1, o_.fallback_interval);
      continue;
    }
    backend_pid_.store(PQbackendPID(pc));
    ++connects_;
    was_up = true;
    event("listening");
    o_.on_head(*head);
    auto quiet_since = std::chrono::steady_clock::now();
    std::string why = "connection closed";
    while (!stop_.load()) {
      const int fd = PQsocket(pc);
      if (fd < 0) break;
      if (wait(fd, o_.fallback_interval)) {
        if (PQconsumeInput(pc) == 0) {
          why = PQerrorMessage(pc);
          break;
        }
        std::int64_t best = -1;
        while (PGnotify* n = PQnotifies(pc)) {
          std::int64_t v = 0;
          const char* s = n->extra ? n->extra : "";
          const auto [p, ec] = std::from_chars(s, s + std::strlen(s), v);
          if (ec == std::errc() && p != s) best = std::max(best, v);
          PQfreemem(n);
          ++notifications_;
        }
        if (best >= 0) {
          o_.on_head(best);
          quiet_since = std::chrono::steady_clock::now();
        }
        if (PQstatus(pc) != CONNECTION_OK) break;
      } else if (std::chrono::steady_clock::now() - quiet_since >= o_.idle_check) {
        auto h = feed_head(c);
        if (!h.ok()) {
          why = h.status().message();
          break;
        }
        o_.on_head(*h);
        quiet_since = std::chrono::steady_clock::now();
      }
    }
    backend_pid_.store(0);
    if (!stop_.load()) {
      while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
      for (char& ch : why)
        if (ch == '\n' || ch == '\t') ch = ' ';
      event("lost: " + why + " (reading the feed head every " + std::to_string(o_.fallback_interval.count()) +
            " ms until it is back)");
      was_up = false;
      // The head now, at once: a commit between the loss and the next LISTEN is not missed.
      if (o_.read_head)
        if (auto h = o_.read_head(); h.ok()) o_.on_head(*h);
    }
  }
}

}  // namespace akt::store::pg

// GET /metrics (PROTOCOL §3.2): the request counters of server/metrics.hpp plus what is read at each
// scrape: the store's feed position, the database's size on disk, free disk space, the process's memory
// and open files. Nothing here names a record, a user or a device.
#include "server/handlers/handlers.hpp"

#include <sys/statvfs.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <filesystem>
#include <fstream>

#include "schema/store/db.hpp"
#include "server/metrics.hpp"

namespace akt::server {

namespace {

double file_bytes(const std::string& path) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(path, ec);
  return ec ? 0.0 : static_cast<double>(n);
}

// Resident set size from /proc/self/statm (pages), 0 where there is no /proc.
double resident_bytes() {
  std::ifstream in("/proc/self/statm");
  long long size = 0, resident = 0;
  if (!(in >> size >> resident)) return 0;
  return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

double open_fds() {
  std::error_code ec;
  double n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec))
    ++n;
  return n;
}

}  // namespace

HttpResponse handle_metrics(AppState& app) {
  std::vector<MetricSample> extra;
  auto add = [&](std::string name, std::string help, std::string labels, double v, std::string type = "gauge") {
    extra.push_back(MetricSample{std::move(name), std::move(help), std::move(type), std::move(labels), v});
  };
  add("aktsync_store_last_seq", "The change feed's last sequence number (grows with every committed change).", "",
      static_cast<double>(app.store->last_seq()));
  if (!app.config.store.is_postgres()) {  // SQLite's files; PostgreSQL's are its own server's to report
    const std::string db = app.config.database_path();
    add("aktsync_store_file_bytes", "Size of the database's files on disk.", "file=\"database\"", file_bytes(db));
    add("aktsync_store_file_bytes", "Size of the database's files on disk.", "file=\"wal\"", file_bytes(db + "-wal"));
  }
  for (const auto& c : app.store->engine_counters()) add(c.name, c.help, c.labels, c.value, "counter");
  struct statvfs fs {};
  if (::statvfs(app.config.data_dir.c_str(), &fs) == 0)
    add("aktsync_data_dir_free_bytes", "Free space for the server on the data folder's file system.", "",
        static_cast<double>(fs.f_bavail) * static_cast<double>(fs.f_frsize));
  add("aktsync_stopping", "1 while the server stops (SIGTERM received), else 0.", "", app.stopping ? 1 : 0);
  add("process_resident_memory_bytes", "Resident memory size in bytes.", "", resident_bytes());
  add("process_open_fds", "Number of open file descriptors.", "", open_fds());
  // What holds the resident memory (README, Memory): the allocator's bytes in use and those it keeps
  // freed, and SQLite's own share of the in-use bytes (page caches, statements).
#if defined(__GLIBC__)
  const struct mallinfo2 m = mallinfo2();
  const char* heap_help = "Bytes of the C allocator: in use (mmapped blocks included), or freed and kept.";
  add("aktsync_heap_bytes", heap_help, "state=\"in_use\"", static_cast<double>(m.uordblks + m.hblkhd));
  add("aktsync_heap_bytes", heap_help, "state=\"free\"", static_cast<double>(m.fordblks));
#endif
  add("aktsync_sqlite_memory_bytes", "Bytes SQLite has allocated (page caches, statements, schema).", "",
      static_cast<double>(store::sqlite_memory().used));
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = app.metrics.render(extra);
  return r;
}

}  // namespace akt::server

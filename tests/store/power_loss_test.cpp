// Power loss, in the spirit of SQLite's crash tests: a test VFS wraps the default one and keeps, for each
// database, WAL and journal file, its content as of the last fsync. At a random write, truncate, sync or
// delete the power goes: that operation and every later one fail, the store is closed, and every file
// is put back as of its last fsync (writes not yet synced are lost, the shared-memory index with them).
// The reopened store must hold every edit whose push was acknowledged, and pass integrity_check.
#include <doctest/doctest.h>

#include <sqlite3.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <random>
#include <vector>

#include "schema/store/server_store.hpp"
#include "tests/support/edits.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;

namespace {

// ---- The power-loss VFS ---------------------------------------------------------------------------------

struct PendingOp {
  bool truncate = false;
  sqlite3_int64 offset = 0;  // write offset, or the new size of a truncate
  std::string data;
};

struct FileState {
  bool durable = true;   // false once deleted: a created file exists (empty until its first fsync)
  std::string image;     // its content as of the last fsync
  std::vector<PendingOp> pending;
};

struct PowerState {
  std::mutex mu;
  std::map<std::string, FileState> files;
  long long ops = 0;        // writes, truncates, syncs and deletes so far
  long long fail_at = -1;   // the operation at which the power goes (-1: never)
  bool off = false;
};

PowerState g_power;
sqlite3_vfs* g_real = nullptr;
sqlite3_vfs g_vfs;
sqlite3_io_methods g_methods;

struct PlFile {
  sqlite3_file base;
  sqlite3_file* real;
  std::string* path;  // null for files not tracked (temporary files)
};

sqlite3_file* real_of(sqlite3_file* f) { return reinterpret_cast<PlFile*>(f)->real; }

// Counts one mutating operation; false when the power is (now) off.
bool power_on_locked() {
  if (g_power.off) return false;
  if (++g_power.ops == g_power.fail_at) g_power.off = true;
  return !g_power.off;
}

void apply(std::string& image, const PendingOp& op) {
  if (op.truncate) {
    image.resize(static_cast<std::size_t>(op.offset));
    return;
  }
  const std::size_t end = static_cast<std::size_t>(op.offset) + op.data.size();
  if (image.size() < end) image.resize(end, '\0');
  std::memcpy(image.data() + op.offset, op.data.data(), op.data.size());
}

int pl_close(sqlite3_file* f) {
  auto* p = reinterpret_cast<PlFile*>(f);
  int rc = p->real->pMethods ? p->real->pMethods->xClose(p->real) : SQLITE_OK;
  delete p->path;
  p->path = nullptr;
  return rc;
}
int pl_read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  return real_of(f)->pMethods->xRead(real_of(f), buf, n, off);
}
int pl_write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  auto* p = reinterpret_cast<PlFile*>(f);
  std::lock_guard lock(g_power.mu);
  if (!power_on_locked()) return SQLITE_IOERR_WRITE;
  int rc = p->real->pMethods->xWrite(p->real, buf, n, off);
  if (rc == SQLITE_OK && p->path)
    g_power.files[*p->path].pending.push_back({false, off, std::string(static_cast<const char*>(buf), static_cast<std::size_t>(n))});
  return rc;
}
int pl_truncate(sqlite3_file* f, sqlite3_int64 size) {
  auto* p = reinterpret_cast<PlFile*>(f);
  std::lock_guard lock(g_power.mu);
  if (!power_on_locked()) return SQLITE_IOERR_TRUNCATE;
  int rc = p->real->pMethods->xTruncate(p->real, size);
  if (rc == SQLITE_OK && p->path) g_power.files[*p->path].pending.push_back({true, size, {}});
  return rc;
}
int pl_sync(sqlite3_file* f, int flags) {
  auto* p = reinterpret_cast<PlFile*>(f);
  std::lock_guard lock(g_power.mu);
  if (!power_on_locked()) return SQLITE_IOERR_FSYNC;
  int rc = p->real->pMethods->xSync(p->real, flags);
  if (rc == SQLITE_OK && p->path) {
    FileState& fs = g_power.files[*p->path];
    for (const PendingOp& op : fs.pending) apply(fs.image, op);
    fs.pending.clear();
  }
  return rc;
}
int pl_file_size(sqlite3_file* f, sqlite3_int64* size) { return real_of(f)->pMethods->xFileSize(real_of(f), size); }
int pl_lock(sqlite3_file* f, int l) { return real_of(f)->pMethods->xLock(real_of(f), l); }
int pl_unlock(sqlite3_file* f, int l) { return real_of(f)->pMethods->xUnlock(real_of(f), l); }
int pl_check_reserved(sqlite3_file* f, int* out) { return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out); }
int pl_file_control(sqlite3_file* f, int op, void* arg) { return real_of(f)->pMethods->xFileControl(real_of(f), op, arg); }
int pl_sector_size(sqlite3_file* f) { return real_of(f)->pMethods->xSectorSize(real_of(f)); }
int pl_device_characteristics(sqlite3_file* f) { return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f)); }
int pl_shm_map(sqlite3_file* f, int pg, int sz, int extend, void volatile** out) {
  return real_of(f)->pMethods->xShmMap(real_of(f), pg, sz, extend, out);
}
int pl_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return real_of(f)->pMethods->xShmLock(real_of(f), offset, n, flags);
}
void pl_shm_barrier(sqlite3_file* f) { real_of(f)->pMethods->xShmBarrier(real_of(f)); }
int pl_shm_unmap(sqlite3_file* f, int del) { return real_of(f)->pMethods->xShmUnmap(real_of(f), del); }

std::string read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

int pl_open(sqlite3_vfs*, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  auto* p = reinterpret_cast<PlFile*>(f);
  p->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(p) + sizeof(PlFile));
  p->path = nullptr;
  p->base.pMethods = nullptr;
  const bool tracked = name && (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL));
  int existed = 0;
  if (tracked) g_real->xAccess(g_real, name, SQLITE_ACCESS_EXISTS, &existed);
  int rc = g_real->xOpen(g_real, name, p->real, flags, out_flags);
  if (rc != SQLITE_OK) return rc;
  p->base.pMethods = &g_methods;
  if (tracked) {
    p->path = new std::string(name);
    std::lock_guard lock(g_power.mu);
    auto it = g_power.files.find(*p->path);
    if (it == g_power.files.end() || !it->second.durable)  // first seen, or made anew after a delete
      g_power.files[*p->path] = FileState{true, existed ? read_whole(*p->path) : std::string(), {}};
  }
  return SQLITE_OK;
}

int pl_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  std::lock_guard lock(g_power.mu);
  if (!power_on_locked()) return SQLITE_IOERR_DELETE;
  int rc = g_real->xDelete(g_real, name, sync_dir);
  if (rc == SQLITE_OK) g_power.files[name] = FileState{false, {}, {}};  // gone, durably (a simplification)
  return rc;
}

// Registers the VFS as the default while alive; the store opens its files through it unchanged.
struct PowerLossVfs {
  PowerLossVfs() {
    g_real = sqlite3_vfs_find(nullptr);
    REQUIRE(g_real != nullptr);
    g_vfs = *g_real;
    g_vfs.zName = "akt_power_loss";
    g_vfs.szOsFile = static_cast<int>(sizeof(PlFile)) + g_real->szOsFile;
    g_vfs.pNext = nullptr;
    g_vfs.xOpen = pl_open;
    g_vfs.xDelete = pl_delete;
    g_methods = {};
    g_methods.iVersion = 2;  // no memory-mapped I/O: every page write goes through xWrite
    g_methods.xClose = pl_close;
    g_methods.xRead = pl_read;
    g_methods.xWrite = pl_write;
    g_methods.xTruncate = pl_truncate;
    g_methods.xSync = pl_sync;
    g_methods.xFileSize = pl_file_size;
    g_methods.xLock = pl_lock;
    g_methods.xUnlock = pl_unlock;
    g_methods.xCheckReservedLock = pl_check_reserved;
    g_methods.xFileControl = pl_file_control;
    g_methods.xSectorSize = pl_sector_size;
    g_methods.xDeviceCharacteristics = pl_device_characteristics;
    g_methods.xShmMap = pl_shm_map;
    g_methods.xShmLock = pl_shm_lock;
    g_methods.xShmBarrier = pl_shm_barrier;
    g_methods.xShmUnmap = pl_shm_unmap;
    REQUIRE(sqlite3_vfs_register(&g_vfs, 1) == SQLITE_OK);
    reset(-1);
  }
  ~PowerLossVfs() {
    sqlite3_vfs_unregister(&g_vfs);
    sqlite3_vfs_register(g_real, 1);
  }
  static void reset(long long fail_at) {
    std::lock_guard lock(g_power.mu);
    g_power.files.clear();
    g_power.ops = 0;
    g_power.fail_at = fail_at;
    g_power.off = false;
  }
  static long long ops() {
    std::lock_guard lock(g_power.mu);
    return g_power.ops;
  }
  static bool off() {
    std::lock_guard lock(g_power.mu);
    return g_power.off;
  }
  // After the power loss: every tracked file as of its last fsync; the shared-memory index is gone.
  static void restore_synced_state() {
    std::lock_guard lock(g_power.mu);
    for (const auto& [path, fs] : g_power.files) {
      std::remove((path + "-shm").c_str());
      if (!fs.durable) {
        std::remove(path.c_str());
        continue;
      }
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out.write(fs.image.data(), static_cast<std::streamsize>(fs.image.size()));
    }
    g_power.files.clear();
    g_power.off = false;
    g_power.fail_at = -1;
  }
};

// ---- The workload -----------------------------------------------------------------------------------------

const std::string kDev = test::uuid_n(0xF00D);
constexpr int kBatches = 24, kEdits = 8, kReopenAfter = 12;

std::string record_of(int batch, int i) { return test::uuid_n(static_cast<std::uint64_t>(batch) * 100 + i + 1); }
std::string body_of(int batch, int i) { return R"({"b":)" + std::to_string(batch) + R"(,"i":)" + std::to_string(i) + "}"; }

// Pushes the batches (closing and reopening the store halfway, which checkpoints the WAL into the
// database file) until the first failure; returns how many pushes were acknowledged. The store's
// checkpoint thread runs often (a PASSIVE checkpoint after every few pages, TRUNCATE after 5 ms idle),
// so the power also goes in the middle of checkpoints, on a thread of their own.
int run_workload(const std::string& path) {
  store::ServerStoreOptions o;
  o.path = path;
  o.checkpoint_pages = 2;
  o.idle_checkpoint_ms = 5;
  auto s = store::ServerStore::open(o);
  if (!s.ok()) return 0;
  std::int64_t n = 0;
  for (int b = 0; b < kBatches; ++b) {
    if (b == kReopenAfter) {
      s->reset();
      s = store::ServerStore::open(o);
      if (!s.ok()) return b;
    }
    sync::PushRequest req;
    req.batch_id = "pl" + std::to_string(b);
    for (int i = 0; i < kEdits; ++i) {
      req.edits.push_back(test::make_edit(record_of(b, i), kDev, ++n, {}, body_of(b, i), {"b", "i"}));
    }
    store::PushInput in{kDev, &req, 1};
    if (!(*s)->push(in).ok()) return b;
  }
  return kBatches;
}

}  // namespace

TEST_CASE("durability: a power loss at a random write or sync keeps every acknowledged edit, intact") {
  PowerLossVfs vfs;
  test::TempDir dir;
  // A run without power loss measures how many operations the workload makes.
  PowerLossVfs::reset(-1);
  REQUIRE(run_workload(dir.file("dry.db")) == kBatches);
  const long long total = PowerLossVfs::ops();
  REQUIRE(total > 50);
  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  int lost = 0;  // rounds where the power went (checkpoints run on their own thread, so a round can
                 // make fewer operations than the dry run and finish before its failure point)
  for (int round = 0; round < 12; ++round) {
    const long long fail_at = 1 + static_cast<long long>(rng() % static_cast<unsigned>(total));
    INFO("seed " << seed << ", round " << round << ": power lost at operation " << fail_at << " of " << total);
    const std::string path = dir.file("crash" + std::to_string(round) + ".db");
    PowerLossVfs::reset(fail_at);
    const int acked = run_workload(path);
    if (PowerLossVfs::off()) ++lost;
    PowerLossVfs::restore_synced_state();

    store::ServerStoreOptions o;
    o.path = path;
    auto s = store::ServerStore::open(o);
    REQUIRE_MESSAGE(s.ok(), s.status().message());
    CHECK((*s)->integrity_check().ok());
    for (int b = 0; b < acked; ++b) {
      for (int i = 0; i < kEdits; ++i) {
        auto r = (*s)->record(record_of(b, i));
        REQUIRE(r.ok());
        REQUIRE_MESSAGE(r->has_value(), "batch " << b << " edit " << i << " was acknowledged but is gone");
        CHECK((*r)->live[0].body == body_of(b, i));
      }
    }
    // The feed is dense up to what survived.
    auto page = (*s)->changes(0, 1000000);
    REQUIRE(page.ok());
    CHECK(page->records.size() == static_cast<std::size_t>((*s)->last_seq()));
    CHECK(page->records.size() >= static_cast<std::size_t>(acked * kEdits));
  }
  CHECK(lost >= 6);  // most rounds did lose the power
}

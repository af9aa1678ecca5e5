// The SQLite adapter: connection, cached prepared statements, RAII transactions. With store.cpp and
// tablet_store.cpp, the only code that includes <sqlite3.h>. Not thread-safe: one Db per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sync/status.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace akt::store {

// A prepared statement owned by a Db's cache. Use through StmtGuard so it is reset after use.
class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  void bind(int i, std::int64_t v);
  void bind(int i, std::string_view text);
  void bind_blob(int i, const void* data, std::size_t n);
  void bind_null(int i);
  // Steps once. Returns true when a row is available, false when done; an error Status otherwise.
  Result<bool> step();
  // Runs to completion, ignoring rows.
  Status run();
  std::int64_t int64(int col) const;
  std::string_view text(int col) const;
  std::string_view blob(int col) const;
  bool is_null(int col) const;
  void reset();
  sqlite3_stmt* raw() const { return s_; }

 private:
  sqlite3_stmt* s_;
};

// Resets and clears a cached statement when it goes out of scope.
class StmtGuard {
 public:
  explicit StmtGuard(Stmt& s) : s_(s) {}
  ~StmtGuard() { s_.reset(); }
  StmtGuard(const StmtGuard&) = delete;
  StmtGuard& operator=(const StmtGuard&) = delete;
  Stmt* operator->() { return &s_; }
  Stmt& operator*() { return s_; }

 private:
  Stmt& s_;
};

struct DbOptions {
  bool read_only = false;
  bool synchronous_full = true;     // FULL: an acknowledged commit survives power loss
  int busy_timeout_ms = 5000;
  int page_size = 16384;            // applied only when the file is created
  int wal_autocheckpoint = 10000;   // pages
  // Page cache of this connection (PRAGMA cache_size=-N), in KiB. SQLite allocates it as pages are
  // read, up to this bound, and keeps it until the connection closes: with a connection pool, the
  // server's SQLite memory is about (writer + open readers) x this (README "Operating aktsync").
  int cache_kib = 2048;
};

class Db {
 public:
  // Opens (creating when allowed) the database at `path` in WAL mode. kIOError when it cannot.
  static Result<std::unique_ptr<Db>> open(const std::string& path, const DbOptions& options);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Executes one or more statements with no bound values (DDL, pragmas, savepoints).
  Status exec(const std::string& sql);
  // A cached statement (prepared once with SQLITE_PREPARE_PERSISTENT). On a prepare error, returns
  // the Status; such errors are programming errors in a fixed SQL string.
  Result<Stmt*> stmt(const char* sql);
  // Runs PRAGMA integrity_check; OK when it answers "ok".
  Status integrity_check();
  std::int64_t changes() const;
  std::int64_t last_insert_rowid() const;
  sqlite3* handle() const { return db_; }
  // Turns an SQLite result code into a Status (kBusy for BUSY/LOCKED, kCorruption, kIOError...).
  Status status_from(int rc, std::string_view what) const;

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<const char*, std::unique_ptr<Stmt>> cache_;
};

// RAII write transaction: BEGIN IMMEDIATE at construction, ROLLBACK in the destructor unless commit()
// succeeded. Check status() after constructing.
class Tx {
 public:
  explicit Tx(Db& db);
  ~Tx();
  Tx(const Tx&) = delete;
  Tx& operator=(const Tx&) = delete;
  const Status& status() const { return begin_; }
  Status commit();

 private:
  Db& db_;
  Status begin_;
  bool done_ = false;
};

// SQLite's own allocations in this process, all connections together (sqlite3_memory_used and its
// high-water mark): page caches, prepared statements, schema. For /metrics and the memory benchmark.
struct SqliteMemory {
  std::int64_t used = 0, highwater = 0;
};
SqliteMemory sqlite_memory();

}  // namespace akt::store

// AKT_TRY lives in sync/status.hpp (every module returns Status).
// Declares `var`, a StmtGuard over the cached statement for `sql`, returning the Status on failure.
#define AKT_STMT(var, db, sql)                \
  auto var##_r = (db).stmt(sql);              \
  if (!var##_r.ok()) return var##_r.status(); \
  ::akt::store::StmtGuard var(**var##_r)

// SQLite adapter: statement cache, status mapping, transactions.
#include "schema/store/db.hpp"

#include <sqlite3.h>

namespace akt::store {

void Stmt::bind(int i, std::int64_t v) { sqlite3_bind_int64(s_, i, v); }
void Stmt::bind(int i, std::string_view t) {
  sqlite3_bind_text(s_, i, t.data(), static_cast<int>(t.size()), SQLITE_TRANSIENT);
}
void Stmt::bind_blob(int i, const void* d, std::size_t n) {
  sqlite3_bind_blob(s_, i, d, static_cast<int>(n), SQLITE_TRANSIENT);
}
void Stmt::bind_null(int i) { sqlite3_bind_null(s_, i); }

Result<bool> Stmt::step() {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3* db = sqlite3_db_handle(s_);
  std::string msg = std::string(sqlite3_errmsg(db)) + " in: " + sqlite3_sql(s_);
  int primary = rc & 0xFF;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return Status::busy(msg);
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) return Status::corruption(msg);
  if (primary == SQLITE_CONSTRAINT) return Status::conflict(msg);
  return Status::io_error(msg);
}

Status Stmt::run() {
  for (;;) {
    Result<bool> r = step();
    if (!r.ok()) return r.status();
    if (!*r) return {};
  }
}

std::int64_t Stmt::int64(int col) const { return sqlite3_column_int64(s_, col); }
std::string_view Stmt::text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
  return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col))) : std::string_view();
}
std::string_view Stmt::blob(int col) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(s_, col));
  return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col))) : std::string_view();
}
bool Stmt::is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
void Stmt::reset() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
}

Status Db::status_from(int rc, std::string_view what) const {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return {};
  std::string msg = std::string(what) + ": " + sqlite3_errmsg(db_);
  int primary = rc & 0xFF;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return Status::busy(msg);
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) return Status::corruption(msg);
  if (primary == SQLITE_CONSTRAINT) return Status::conflict(msg);
  return Status::io_error(msg);
}

Result<std::unique_ptr<Db>> Db::open(const std::string& path, const DbOptions& o) {
  sqlite3* raw = nullptr;
  int flags = o.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  flags |= SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  std::unique_ptr<Db> db(new Db(raw));
  if (rc != SQLITE_OK) return Status::io_error("open " + path + ": " + (raw ? sqlite3_errmsg(raw) : "out of memory"));
  sqlite3_busy_timeout(raw, o.busy_timeout_ms);
  sqlite3_extended_result_codes(raw, 1);
  std::string pragmas;
  if (!o.read_only) {
    pragmas += "PRAGMA page_size=" + std::to_string(o.page_size) + ";";
    pragmas += "PRAGMA journal_mode=WAL;";
    pragmas += "PRAGMA wal_autocheckpoint=" + std::to_string(o.wal_autocheckpoint) + ";";
  }
  pragmas += o.synchronous_full ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;";
  pragmas += "PRAGMA foreign_keys=ON;";
  pragmas += "PRAGMA cache_size=-" + std::to_string(o.cache_kib) + ";";
  if (Status st = db->exec(pragmas); !st.ok()) return st;
  return db;
}

Db::~Db() {
  for (auto& [sql, s] : cache_) sqlite3_finalize(s->raw());
  cache_.clear();
  sqlite3_close_v2(db_);
}

Status Db::exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : "";
    sqlite3_free(err);
    return status_from(rc, "exec '" + sql.substr(0, 60) + "' (" + msg + ")");
  }
  return {};
}

Result<Stmt*> Db::stmt(const char* sql) {
  // Cached by the address of the literal: every call site passes a string literal.
  auto it = cache_.find(sql);
  if (it != cache_.end()) return it->second.get();
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
  if (rc != SQLITE_OK) return status_from(rc, std::string("prepare ") + sql);
  auto [pos, inserted] = cache_.emplace(sql, std::make_unique<Stmt>(s));
  return pos->second.get();
}

Status Db::integrity_check() {
  auto s = stmt("PRAGMA integrity_check");
  if (!s.ok()) return s.status();
  StmtGuard g(**s);
  auto row = g->step();
  if (!row.ok()) return row.status();
  if (!*row || g->text(0) != "ok") return Status::corruption("integrity_check: " + std::string(g->text(0)));
  return {};
}

SqliteMemory sqlite_memory() { return {sqlite3_memory_used(), sqlite3_memory_highwater(0)}; }

std::int64_t Db::changes() const { return sqlite3_changes64(db_); }
std::int64_t Db::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

Tx::Tx(Db& db) : db_(db), begin_(db.exec("BEGIN IMMEDIATE")) {}

Tx::~Tx() {
  if (!done_ && begin_.ok()) db_.exec("ROLLBACK");
}

Status Tx::commit() {
  Status st = db_.exec("COMMIT");
  if (st.ok()) {
    done_ = true;
  }
  return st;
}

}  // namespace akt::store

// The PostgreSQL adapter's connection: one libpq connection, statements prepared once per connection
// and cached by their text, every value bound as a parameter (never formatted into SQL), results read in
// binary (so bytea and text are byte-exact). Only schema/store/postgres/*.cpp include <libpq-fe.h>.
// Not thread-safe: one PgConn is used by one caller at a time (PgStore's pool hands it out).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sync/status.hpp"

struct pg_conn;
struct pg_result;

namespace akt::store::pg {

// One bound parameter: text (also integers, sent as their decimal text), raw bytes (bytea), or NULL.
struct Param {
  enum class Kind { kText, kBytes, kNull };
  Kind kind = Kind::kNull;
  std::string value;
};
inline Param text(std::string_view v) { return {Param::Kind::kText, std::string(v)}; }
inline Param bytes(std::string_view v) { return {Param::Kind::kBytes, std::string(v)}; }
inline Param int64(std::int64_t v) { return {Param::Kind::kText, std::to_string(v)}; }
inline Param boolean(bool v) { return {Param::Kind::kText, v ? "true" : "false"}; }
inline Param null() { return {}; }
// A canonical UUID for a uuid column; "" binds NULL.
inline Param uuid_or_null(const std::string& v) { return v.empty() ? null() : text(v); }

// A query's rows, in binary format. Owns the libpq result.
class PgResult {
 public:
  explicit PgResult(pg_result* r) : r_(r) {}
  PgResult(PgResult&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  PgResult& operator=(PgResult&&) = delete;
  PgResult(const PgResult&) = delete;
  ~PgResult();

  int rows() const;
  // Rows an INSERT/UPDATE/DELETE touched.
  std::int64_t affected() const;
  bool is_null(int row, int col) const;
  // bigint, integer, smallint or boolean columns; 0 for NULL.
  std::int64_t int64(int row, int col) const;
  bool boolean(int row, int col) const { return int64(row, col) != 0; }
  // text or bytea columns, byte for byte; "" for NULL.
  std::string str(int row, int col) const;
  // The same bytes as a view into the result (valid while it lives).
  std::string_view view(int row, int col) const;

 private:
  pg_result* r_;
};

class PgConn {
 public:
  // Connects with a libpq URL or keyword string ("postgresql://user@host/db", "host=/run/x dbname=y").
  // kBusy when the server does not answer (it may be restarting), kIOError otherwise.
  static Result<std::unique_ptr<PgConn>> connect(const std::string& url);
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  // Runs one statement with bound parameters; prepares it on first use on this connection.
  Result<PgResult> exec(const std::string& sql, std::initializer_list<Param> params = {});
  // Runs SQL text without parameters (migrations, BEGIN/COMMIT): may hold several statements.
  Status exec_script(const std::string& sql);
  // Whether the connection is usable and outside any transaction (safe to hand to the next caller).
  bool is_idle() const;
  // Whether libpq still has the connection (false once the server closed it).
  bool is_connected() const;
  // The server process serving this connection: unique among the connections open at once.
  int backend_pid() const;
  // Quotes an identifier (a database name) for the few statements that cannot bind one.
  Result<std::string> quote_identifier(const std::string& name);
  // The libpq connection, for the LISTEN loop (pg_listen.cpp) that waits on its socket.
  pg_conn* native() const { return c_; }

  // The feed head the current transaction stamped (PgPushPort::stamp_feed), 0 when it moved no record;
  // PgStore resets it at BEGIN and reads it after COMMIT (last_seq, on_commit).
  std::int64_t stamped_head = 0;

 private:
  explicit PgConn(pg_conn* c) : c_(c) {}
  pg_conn* c_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL text -> statement name
};

// The Status of a failed libpq result (by SQLSTATE): class 23 (constraint) -> kConflict, class 22 (bad
// data) -> kInvalidArgument, serialization failure, deadlock, connection loss, shutdown and lack of
// resources -> kBusy (try again), data corruption -> kCorruption, anything else -> kIOError.
Status status_from_sqlstate(const std::string& sqlstate, const std::string& message);

}  // namespace akt::store::pg

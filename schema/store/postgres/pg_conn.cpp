// libpq behind PgConn: prepared statements cached per connection, binary results, SQLSTATE -> Status.
#include "schema/store/postgres/pg_conn.hpp"

#include <libpq-fe.h>

#include <cstring>
#include <vector>

namespace akt::store::pg {

PgResult::~PgResult() {
  if (r_) PQclear(r_);
}

int PgResult::rows() const { return PQntuples(r_); }

std::int64_t PgResult::affected() const {
  const char* n = PQcmdTuples(r_);
  return (n && *n) ? std::stoll(n) : 0;
}

bool PgResult::is_null(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }

std::int64_t PgResult::int64(int row, int col) const {
  if (is_null(row, col)) return 0;
  // Binary format: network byte order, as wide as the column's type.
  const auto* p = reinterpret_cast<const unsigned char*>(PQgetvalue(r_, row, col));
  const int n = PQgetlength(r_, row, col);
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  if (n >= 2 && n < 8 && (p[0] & 0x80)) v |= ~std::uint64_t{0} << (8 * n);  // sign-extend int2/int4
  return static_cast<std::int64_t>(v);
}

std::string_view PgResult::view(int row, int col) const {
  return {PQgetvalue(r_, row, col), static_cast<std::size_t>(PQgetlength(r_, row, col))};
}

std::string PgResult::str(int row, int col) const {
  if (is_null(row, col)) return {};
  return std::string(PQgetvalue(r_, row, col), static_cast<std::size_t>(PQgetlength(r_, row, col)));
}

Status status_from_sqlstate(const std::string& sqlstate, const std::string& message) {
  const std::string cls = sqlstate.substr(0, 2);
  if (cls == "23") return Status::conflict(message);
  if (cls == "22") return Status::invalid_argument(message);
  if (sqlstate == "40001" || sqlstate == "40P01" || cls == "08" || cls == "53" || sqlstate == "57P01" ||
      sqlstate == "57P02" || sqlstate == "57P03")
    return Status::busy(message);
  if (cls == "XX" && (sqlstate == "XX001" || sqlstate == "XX002")) return Status::corruption(message);
  return Status::io_error(message);
}

namespace {

// The Status of a result that is not a success (or of a missing result: the connection failed).
Status status_of(PGresult* r, PGconn* c, const std::string& what) {
  std::string msg = what + ": " + (r ? PQresultErrorMessage(r) : PQerrorMessage(c));
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  // No SQLSTATE: libpq lost the connection (or never had it).
  if (!state) return PQstatus(c) == CONNECTION_OK ? Status::io_error(msg) : Status::busy(msg);
  return status_from_sqlstate(state, msg);
}

bool succeeded(PGresult* r) {
  const ExecStatusType t = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  return t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK;
}

// libpq's message as one line, with every copy of `secret` (the url's password) masked: the message
// goes to the log.
std::string one_line(std::string msg, const std::string& secret) {
  if (!secret.empty())
    for (std::size_t at = msg.find(secret); at != std::string::npos; at = msg.find(secret, at + 3))
      msg.replace(at, secret.size(), "***");
  std::string out;
  for (char ch : msg) {
    if (ch == '\n' || ch == '\t' || ch == '\r') ch = ' ';
    if (ch != ' ' || (!out.empty() && out.back() != ' ')) out.push_back(ch);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

Result<std::unique_ptr<PgConn>> PgConn::connect(const std::string& url) {
  // Parsed first, so that a malformed url is refused without libpq echoing a piece of it (which could be
  // the password) and the password is known, to be masked in the messages below.
  char* parse_error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &parse_error);
  if (!options) {
    if (parse_error) PQfreemem(parse_error);
    return Status::invalid_argument("postgres: the url is neither a postgresql:// URL nor a key=value string");
  }
  std::string password;
  for (PQconninfoOption* o = options; o->keyword; ++o)
    if (std::strcmp(o->keyword, "password") == 0 && o->val) password = o->val;
  PQconninfoFree(options);
  PGconn* c = PQconnectdb(url.c_str());
  if (!c) return Status::io_error("postgres: out of memory connecting");
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = "postgres: cannot connect: " + one_line(PQerrorMessage(c), password);
    PQfinish(c);
    return Status::busy(msg);
  }
  std::unique_ptr<PgConn> conn(new PgConn(c));
  // Integers and times are int64 everywhere; timestamps are never read from the server's clock.
  // Notices (e.g. "already exists, skipping") are not errors and are not printed.
  if (Status st = conn->exec_script("SET client_encoding = 'UTF8'; SET client_min_messages = warning"); !st.ok())
    return st;
  return conn;
}

PgConn::~PgConn() { PQfinish(c_); }

Result<PgResult> PgConn::exec(const std::string& sql, std::initializer_list<Param> params) {
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    const std::string name = "s" + std::to_string(prepared_.size() + 1);
    PGresult* r = PQprepare(c_, name.c_str(), sql.c_str(), 0, nullptr);
    const bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    Status st = ok ? Status() : status_of(r, c_, "prepare " + sql);
    if (r) PQclear(r);
    if (!st.ok()) return st;
    it = prepared_.emplace(sql, name).first;
  }
  // libpq sends text parameters NUL-terminated: a NUL inside would silently cut the value. PostgreSQL's
  // text cannot hold one anyway, so such a value is refused, never stored shortened.
  int index = 0;
  for (const Param& p : params) {
    ++index;
    if (p.kind == Param::Kind::kText && p.value.find('\0') != std::string::npos)
      return Status::invalid_argument("text value $" + std::to_string(index) + " holds a NUL byte");
  }
  std::vector<const char*> values;
  std::vector<int> lengths, formats;
  values.reserve(params.size());
  for (const Param& p : params) {
    values.push_back(p.kind == Param::Kind::kNull ? nullptr : p.value.data());
    lengths.push_back(static_cast<int>(p.value.size()));
    formats.push_back(p.kind == Param::Kind::kBytes ? 1 : 0);
  }
  // Text parameters must be NUL-terminated for libpq: std::string's data() is.
  PGresult* r = PQexecPrepared(c_, it->second.c_str(), static_cast<int>(values.size()), values.data(),
                               lengths.data(), formats.data(), 1);
  if (!succeeded(r)) {
    Status st = status_of(r, c_, sql);
    if (r) PQclear(r);
    return st;
  }
  return PgResult(r);
}

Status PgConn::exec_script(const std::string& sql) {
  PGresult* r = PQexec(c_, sql.c_str());
  Status st = succeeded(r) ? Status() : status_of(r, c_, sql.substr(0, 80));
  if (r) PQclear(r);
  return st;
}

bool PgConn::is_idle() const {
  return PQstatus(c_) == CONNECTION_OK && PQtransactionStatus(c_) == PQTRANS_IDLE;
}

bool PgConn::is_connected() const { return PQstatus(c_) == CONNECTION_OK; }

int PgConn::backend_pid() const { return PQbackendPID(c_); }

Result<std::string> PgConn::quote_identifier(const std::string& name) {
  char* q = PQescapeIdentifier(c_, name.data(), name.size());
  if (!q) return Status::invalid_argument(std::string("bad identifier: ") + PQerrorMessage(c_));
  std::string out(q);
  PQfreemem(q);
  return out;
}

}  // namespace akt::store::pg

// SQLite -> PostgreSQL copy (pg_import.hpp). Notes:
//  1. One table list drives everything: the SQLite read, the PostgreSQL insert, the read-back and both
//     digests. It is every table of SQLite's schema (migrations.cpp) at its latest version; a table added
//     to both engines must be added here (the test "migrate-to-postgres: every table of the schema is
//     copied" fails until it is).
//  2. Rows go to PostgreSQL as JSON arrays of objects, a chunk per statement, through
//     json_populate_recordset: one bound parameter per chunk, PostgreSQL's own input functions for uuid,
//     bytea ("\x" hex), boolean. Explicit ids go into the identity columns; the sequences are moved past
//     them afterwards, so the next id the server makes is free.
//  3. users.supervisor_id points into users: the rows go in without it, then one UPDATE sets it.
//  4. users.resolver_actor NULL (a user created before SQLite's migration 11) becomes the actor the server
//     derives for it (server/handlers/accounts.cpp resolver_actor_of): the versions that user wrote carry
//     that actor, and PostgreSQL's column is NOT NULL.
//  5. The read-back pages by primary key (keyset, the key bound as one JSON object), so that neither side
//     holds a whole table in memory; a digest keeps 32 bytes per row.
#include "schema/store/postgres/pg_import.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "schema/store/db.hpp"
#include "schema/store/migrations.hpp"
#include "schema/store/postgres/pg_blobs.hpp"
#include "schema/store/postgres/pg_conn.hpp"
#include "schema/store/postgres/pg_migrations.hpp"
#include "schema/store/push_engine.hpp"
#include "schema/store/stored_answer.hpp"
#include "sync/uuid.hpp"

namespace akt::store::pg {
namespace {

using nlohmann::json;

// kAnswer: a stored push answer, text or compressed in SQLite (stored_answer.hpp), text in PostgreSQL; its
// canonical form is the answer's text, so the digests compare what the answers say, not how they were stored.
enum class Kind { kInt, kBool, kText, kBytes, kUuid, kAnswer };

struct Column {
  const char* name;
  Kind kind;
};

struct Table {
  const char* name;
  std::vector<Column> columns;
  std::vector<const char*> key;  // primary key columns (keyset paging of the read-back)
  bool identity = false;         // an `id` identity column whose sequence must move past the copied ids
};

// Note 1: copy order respects the foreign keys (users first).
const std::vector<Table>& tables() {
  static const std::vector<Table> t = {
      {"meta", {{"key", Kind::kText}, {"value", Kind::kText}}, {"key"}},
      {"users",
       {{"id", Kind::kInt}, {"username", Kind::kText}, {"display_name", Kind::kText}, {"role", Kind::kText},
        {"password_hash", Kind::kText}, {"supervisor_id", Kind::kInt}, {"disabled", Kind::kBool},
        {"scope_version", Kind::kInt}, {"created_at", Kind::kInt}, {"special_category", Kind::kBool},
        {"resolver_actor", Kind::kUuid}},
       {"id"},
       true},
      {"assignments",
       {{"id", Kind::kInt}, {"user_id", Kind::kInt}, {"municipality", Kind::kText}, {"community", Kind::kText},
        {"component", Kind::kText}, {"form_id", Kind::kText}},
       {"id"},
       true},
      {"tokens",
       {{"hash", Kind::kBytes}, {"kind", Kind::kText}, {"user_id", Kind::kInt}, {"device_actor", Kind::kUuid},
        {"created_at", Kind::kInt}, {"expires_at", Kind::kInt}, {"revoked_at", Kind::kInt}},
       {"hash"}},
      {"enrolments",
       {{"code_hash", Kind::kBytes}, {"user_id", Kind::kInt}, {"device_name", Kind::kText},
        {"created_by", Kind::kInt}, {"created_at", Kind::kInt}, {"expires_at", Kind::kInt}, {"used_at", Kind::kInt},
        {"used_by", Kind::kUuid}},
       {"code_hash"}},
      {"devices",
       {{"actor", Kind::kUuid}, {"user_id", Kind::kInt}, {"name", Kind::kText}, {"registered_at", Kind::kInt},
        {"revoked_at", Kind::kInt}, {"app_version", Kind::kText}, {"last_cursor", Kind::kInt},
        {"last_push", Kind::kInt}, {"last_pull", Kind::kInt}, {"client_app", Kind::kText}, {"unsynced", Kind::kInt},
        {"reported_at", Kind::kInt}},
       {"actor"}},
      {"forms",
       {{"form_id", Kind::kText}, {"version", Kind::kInt}, {"status", Kind::kText}, {"title", Kind::kText},
        {"definition", Kind::kText}, {"created_by", Kind::kText}, {"created_at", Kind::kInt},
        {"published_at", Kind::kInt}, {"retired_at", Kind::kInt}},
       {"form_id", "version"}},
      {"records",
       {{"id", Kind::kUuid}, {"form_id", Kind::kText}, {"form_version", Kind::kInt}, {"municipality", Kind::kText},
        {"community", Kind::kText}, {"component", Kind::kText}, {"seq", Kind::kInt}, {"live_count", Kind::kInt},
        {"deleted", Kind::kBool}, {"created_at", Kind::kInt}, {"updated_at", Kind::kInt},
        {"conflicted", Kind::kText}, {"deletion_pending", Kind::kBool}, {"pending_upload", Kind::kText}},
       {"id"}},
      {"versions",
       {{"id", Kind::kInt}, {"record_id", Kind::kUuid}, {"actor", Kind::kUuid}, {"n", Kind::kInt},
        {"clock", Kind::kText}, {"parents", Kind::kText}, {"changed", Kind::kText}, {"body", Kind::kText},
        {"deleted", Kind::kBool}, {"is_live", Kind::kBool}, {"form_version", Kind::kInt},
        {"device_time", Kind::kInt}, {"server_time", Kind::kInt}, {"digest", Kind::kBytes},
        {"municipality", Kind::kText}, {"community", Kind::kText}, {"component", Kind::kText}},
       {"id"},
       true},
      {"batches",
       {{"device", Kind::kUuid}, {"batch_id", Kind::kText}, {"digest", Kind::kBytes}, {"response", Kind::kAnswer},
        {"created_at", Kind::kInt}},
       {"device", "batch_id"}},
      {"record_scopes",
       {{"record_id", Kind::kUuid}, {"municipality", Kind::kText}, {"community", Kind::kText},
        {"component", Kind::kText}},
       {"record_id", "municipality", "community", "component"}},
      {"record_keys", {{"record_id", Kind::kUuid}, {"form_id", Kind::kText}, {"key", Kind::kText}}, {"record_id"}},
      {"conflicts",
       {{"id", Kind::kInt}, {"record_id", Kind::kUuid}, {"kind", Kind::kText}, {"path", Kind::kText},
        {"status", Kind::kText}, {"ancestor", Kind::kText}, {"candidates", Kind::kText}, {"form_id", Kind::kText},
        {"municipality", Kind::kText}, {"opened_at", Kind::kInt}, {"updated_at", Kind::kInt},
        {"resolved_at", Kind::kInt}, {"resolved_by", Kind::kText}, {"resolution", Kind::kText},
        {"detail", Kind::kText}},
       {"id"},
       true},
      {"quarantine",
       {{"id", Kind::kInt}, {"device", Kind::kUuid}, {"batch_id", Kind::kText}, {"record_id", Kind::kUuid},
        {"actor", Kind::kUuid}, {"n", Kind::kInt}, {"code", Kind::kText}, {"detail", Kind::kText},
        {"edit", Kind::kText}, {"received_at", Kind::kInt}, {"fields", Kind::kText}, {"released_at", Kind::kInt},
        {"discarded_at", Kind::kInt}, {"args", Kind::kText}},
       {"id"},
       true},
      {"blob_refs", {{"digest", Kind::kText}, {"record_id", Kind::kUuid}, {"actor", Kind::kUuid}},
       {"digest", "record_id", "actor"}},
      {"blob_holders", {{"digest", Kind::kText}, {"actor", Kind::kUuid}, {"at", Kind::kInt}}, {"digest", "actor"}},
      {"uploads",
       {{"id", Kind::kText}, {"actor", Kind::kUuid}, {"digest", Kind::kText}, {"size", Kind::kInt},
        {"media_type", Kind::kText}, {"created_at", Kind::kInt}},
       {"id"}},
      {"clock_actors", {{"actor", Kind::kText}}, {"actor"}},
      {"audit",
       {{"id", Kind::kInt}, {"at", Kind::kInt}, {"username", Kind::kText}, {"action", Kind::kText},
        {"target", Kind::kText}, {"detail", Kind::kText}, {"remote", Kind::kText}},
       {"id"},
       true},
  };
  return t;
}

std::string hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

std::string quoted(const char* name) { return std::string("\"") + name + "\""; }

// One value in its canonical form (the digest's) and as JSON (the insert's).
struct Value {
  bool null = true;
  std::string canon;  // integers: decimal; booleans: "0"/"1"; uuid: lowercase text; text and bytes: raw
};

json to_json(Kind kind, const Value& v) {
  if (v.null) return nullptr;
  switch (kind) {
    case Kind::kInt: return std::stoll(v.canon);
    case Kind::kBool: return v.canon == "1";
    case Kind::kBytes: return "\\x" + hex(v.canon);
    case Kind::kText:
    case Kind::kAnswer:
    case Kind::kUuid: return v.canon;
  }
  return nullptr;
}

// A row's digest input: every value tagged with its nullness and length, so no two rows encode alike.
void add_to_row(std::string& row, const Value& v) {
  if (v.null) {
    row += "N;";
    return;
  }
  row += "V" + std::to_string(v.canon.size()) + ":";
  row += v.canon;
  row += ';';
}

// Sorted row hashes -> the table's digest (order-independent: the engines order text differently).
std::string table_digest(std::vector<std::string>& row_hashes) {
  std::sort(row_hashes.begin(), row_hashes.end());
  std::string all;
  all.reserve(row_hashes.size() * 32);
  for (const std::string& h : row_hashes) all += h;
  return hex(sha256(all));
}

// A SQLite value as the canonical form of `kind`. UUIDs are stored as 16 bytes; text is taken as it is.
Result<Value> read_sqlite(Stmt& s, int col, Kind kind) {
  Value v;
  if (s.is_null(col)) return v;
  v.null = false;
  switch (kind) {
    case Kind::kInt: v.canon = std::to_string(s.int64(col)); break;
    case Kind::kBool: v.canon = s.int64(col) != 0 ? "1" : "0"; break;
    case Kind::kText: v.canon = std::string(s.text(col)); break;
    case Kind::kBytes: v.canon = std::string(s.blob(col)); break;
    case Kind::kAnswer: {
      auto answer = stored_answer_of(s, col);
      if (!answer.ok()) return answer.status();
      v.canon = std::move(*answer);
      break;
    }
    case Kind::kUuid: {
      // 16 bytes as stored; a 36-character text (never written so, but readable) is parsed.
      const std::string_view b = s.blob(col);
      if (b.size() == 16) {
        sync::UuidBytes u{};
        std::memcpy(u.data(), b.data(), 16);
        v.canon = sync::format_uuid(u);
      } else if (auto u = sync::parse_uuid(s.text(col))) {
        v.canon = sync::format_uuid(*u);
      } else {
        return Status::corruption("a value of a uuid column is not a UUID");
      }
      break;
    }
  }
  return v;
}

// Note 4.
std::string derived_resolver_actor(const std::string& server_actor, const std::string& username) {
  const std::string h = sha256("resolver:" + server_actor + ":" + username);
  std::array<std::uint8_t, 16> b{};
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(h[i]);
  return sync::format_uuid(sync::make_uuid_v4(b));
}

// The SQLite SELECT of `t`. Db::stmt caches statements by the address of their text: these texts live as
// long as the process, one per table, so no two tables ever share an address.
const char* sqlite_select(const Table& t) {
  static const std::vector<std::string> selects = [] {
    std::vector<std::string> out;
    for (const Table& table : tables()) {
      std::string sql = "SELECT ";
      for (std::size_t i = 0; i < table.columns.size(); ++i) sql += (i ? ", " : "") + std::string(table.columns[i].name);
      out.push_back(sql + " FROM " + table.name);
    }
    return out;
  }();
  return selects[static_cast<std::size_t>(&t - tables().data())].c_str();
}

// The PostgreSQL select list of `t`: uuid columns as text, so every value reads back in canonical form.
std::string pg_select_list(const Table& t) {
  std::string out;
  for (const Column& c : t.columns) {
    if (!out.empty()) out += ", ";
    out += quoted(c.name);
    if (c.kind == Kind::kUuid) out += "::text";
  }
  return out;
}

std::string column_list(const Table& t) {
  std::string out;
  for (const Column& c : t.columns) out += (out.empty() ? "" : ", ") + quoted(c.name);
  return out;
}

Value read_pg(const PgResult& r, int row, int col, Kind kind) {
  Value v;
  if (r.is_null(row, col)) return v;
  v.null = false;
  switch (kind) {
    case Kind::kInt: v.canon = std::to_string(r.int64(row, col)); break;
    case Kind::kBool: v.canon = r.boolean(row, col) ? "1" : "0"; break;
    case Kind::kText:
    case Kind::kAnswer:
    case Kind::kBytes:
    case Kind::kUuid: v.canon = r.str(row, col); break;
  }
  return v;
}

constexpr std::size_t kChunkRows = 2000;
constexpr std::size_t kChunkBytes = 8u << 20;

struct Copier {
  Db& db;
  PgConn& conn;
  std::string server_actor;

  Status insert_chunk(const Table& t, json& rows) {
    if (rows.empty()) return {};
    std::string text;
    try {
      text = rows.dump();
    } catch (const json::exception& e) {
      return Status::corruption(std::string("table ") + t.name + " holds text that is not UTF-8: " + e.what());
    }
    const std::string cols = column_list(t);
    auto r = conn.exec("INSERT INTO " + quoted(t.name) + "(" + cols + ") SELECT " + cols +
                         " FROM json_populate_recordset(NULL::" + quoted(t.name) + ", $1::json)",
                     {pg::text(text)});
    rows = json::array();
    if (!r.ok()) return r.status();
    return {};
  }

  // Copies `t` from SQLite; fills the SQLite side of `check`.
  Status copy(const Table& t, TableCheck& check) {
    auto st = db.stmt(sqlite_select(t));
    if (!st.ok()) return st.status();
    StmtGuard g(**st);
    json chunk = json::array();
    json supervisors = json::array();  // note 3
    std::size_t bytes = 0;
    std::vector<std::string> hashes;
    const bool users = std::strcmp(t.name, "users") == 0;
    for (;;) {
      auto more = g->step();
      if (!more.ok()) return more.status();
      if (!*more) break;
      json obj = json::object();
      std::string row;
      std::string username;
      for (std::size_t i = 0; i < t.columns.size(); ++i) {
        const Column& c = t.columns[i];
        auto v = read_sqlite(*g, static_cast<int>(i), c.kind);
        if (!v.ok()) return Status::corruption(std::string(t.name) + "." + c.name + ": " + v.status().message());
        if (users && std::strcmp(c.name, "username") == 0) username = v->canon;
        if (users && std::strcmp(c.name, "resolver_actor") == 0 && v->null) {
          v->null = false;
          v->canon = derived_resolver_actor(server_actor, username);
        }
        add_to_row(row, *v);
        if (users && std::strcmp(c.name, "supervisor_id") == 0) {
          if (!v->null) supervisors.push_back({{"id", obj["id"]}, {"supervisor_id", to_json(c.kind, *v)}});
          obj[c.name] = nullptr;
        } else {
          obj[c.name] = to_json(c.kind, *v);
        }
        bytes += v->canon.size();
      }
      hashes.push_back(sha256(row));
      chunk.push_back(std::move(obj));
      if (chunk.size() >= kChunkRows || bytes >= kChunkBytes) {
        AKT_TRY(insert_chunk(t, chunk));
        bytes = 0;
      }
    }
    AKT_TRY(insert_chunk(t, chunk));
    if (!supervisors.empty()) {
      auto r = conn.exec(
          "UPDATE users u SET supervisor_id = j.supervisor_id FROM json_populate_recordset(NULL::users, $1::json) j "
          "WHERE u.id = j.id",
          {pg::text(supervisors.dump())});
      if (!r.ok()) return r.status();
    }
    check.table = t.name;
    check.sqlite_rows = static_cast<std::int64_t>(hashes.size());
    check.sqlite_digest = table_digest(hashes);
    return {};
  }

  // Reads `t` back from PostgreSQL (inside the copy's transaction); fills the PostgreSQL side of `check`.
  Status read_back(const Table& t, TableCheck& check) {
    std::vector<std::string> hashes;
    std::string order;
    std::string key_tuple;
    for (const char* k : t.key) {
      order += (order.empty() ? "" : ", ") + quoted(k);
      key_tuple += (key_tuple.empty() ? "" : ", ") + std::string("k.") + quoted(k);
    }
    const std::string base = "SELECT " + pg_select_list(t) + " FROM " + quoted(t.name) + " t";
    const std::string first = base + " ORDER BY " + order + " LIMIT 1000";
    // Note 5: the key of the last row read, as one JSON object.
    std::string qualified;
    for (const char* k : t.key) qualified += (qualified.empty() ? "" : ", ") + std::string("t.") + quoted(k);
    const std::string next = base + " WHERE (" + qualified + ") > (SELECT " + key_tuple +
                             " FROM json_populate_record(NULL::" + quoted(t.name) + ", $1::json) k) ORDER BY " +
                             order + " LIMIT 1000";
    json last;
    for (bool start = true;; start = false) {
      auto r = start ? conn.exec(first) : conn.exec(next, {pg::text(last.dump())});
      if (!r.ok()) return r.status();
      const int n = r->rows();
      for (int row = 0; row < n; ++row) {
        std::string enc;
        for (std::size_t i = 0; i < t.columns.size(); ++i)
          add_to_row(enc, read_pg(*r, row, static_cast<int>(i), t.columns[i].kind));
        hashes.push_back(sha256(enc));
      }
      if (n < 1000) break;
      last = json::object();
      for (std::size_t i = 0; i < t.columns.size(); ++i)
        for (const char* k : t.key)
          if (std::strcmp(k, t.columns[i].name) == 0)
            last[k] = to_json(t.columns[i].kind, read_pg(*r, n - 1, static_cast<int>(i), t.columns[i].kind));
    }
    check.postgres_rows = static_cast<std::int64_t>(hashes.size());
    check.postgres_digest = table_digest(hashes);
    return {};
  }
};

// The tables of the connection's schema that hold rows they should not in a fresh database: "" when
// the database is empty enough to receive a copy (its schema, the feed head at 0, the meta identity a
// server's first start writes), else the first such table's name.
Result<std::string> first_non_empty(PgConn& c) {
  auto list = c.exec(
      "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY 1");
  if (!list.ok()) return list.status();
  for (int i = 0; i < list->rows(); ++i) {
    const std::string table = list->str(i, 0);
    // The schema's bookkeeping, and the failed-login throttles of servers that started on it (state of
    // the running servers, not data: STORE.md §12), do not make a database non-empty.
    // Attachment files without the tables are only garbage (a copy that failed after them, STORE.md §12).
    if (table == "schema_migrations" || table == "rate_buckets" || table == "blob_files" ||
        table == "blob_chunks" || table == "upload_parts" || table == "upload_part_chunks")
      continue;
    auto name = c.quote_identifier(table);
    if (!name.ok()) return name.status();
    std::string sql = "SELECT EXISTS(SELECT 1 FROM " + *name;
    if (table == "feed_head") sql += " WHERE last_seq <> 0";
    if (table == "meta") sql += " WHERE key NOT IN ('epoch', 'server_actor', 'pseudonym_key_check')";
    auto r = c.exec(sql + ")");
    if (!r.ok()) return r.status();
    if (r->boolean(0, 0)) return table;
  }
  return std::string();
}

Result<std::string> sqlite_meta(Db& db, const char* key) {
  AKT_STMT(s, db, "SELECT value FROM meta WHERE key = ?1");
  s->bind(1, std::string_view(key));
  auto row = s->step();
  if (!row.ok()) return row.status();
  return *row ? std::string(s->text(0)) : std::string();
}

Status copy_all(Db& db, PgConn& pg, ImportReport& report) {
  Copier copier{db, pg, report.server_actor};
  // The epoch, server actor and pseudonym key check a server's first start may have written give way to
  // SQLite's (the key file moves with the data folder).
  if (auto r = pg.exec("DELETE FROM meta WHERE key IN ('epoch', 'server_actor', 'pseudonym_key_check')"); !r.ok())
    return r.status();
  for (const Table& t : tables()) {
    TableCheck check;
    AKT_TRY(copier.copy(t, check));
    report.tables.push_back(std::move(check));
  }
  for (const Table& t : tables()) {
    if (!t.identity) continue;
    auto r = pg.exec("SELECT setval(pg_get_serial_sequence('" + std::string(t.name) +
                     "', 'id'), GREATEST(COALESCE(max(id), 0), 1), max(id) IS NOT NULL) FROM " + quoted(t.name));
    if (!r.ok()) return r.status();
  }
  auto head = pg.exec("UPDATE feed_head SET last_seq = (SELECT COALESCE(max(seq), 0) FROM records) RETURNING last_seq");
  if (!head.ok()) return head.status();
  if (head->rows() != 1) return Status::corruption("feed_head has no row");
  report.last_seq = head->int64(0, 0);
  for (std::size_t i = 0; i < tables().size(); ++i) AKT_TRY(copier.read_back(tables()[i], report.tables[i]));
  std::string all;
  bool ok = true;
  for (const TableCheck& c : report.tables) {
    all += c.table + "=" + std::to_string(c.sqlite_rows) + ":" + c.sqlite_digest + "\n";
    ok = ok && c.matches();
  }
  report.digest = hex(sha256(all));
  if (!ok) {
    std::string which;
    for (const TableCheck& c : report.tables)
      if (!c.matches()) which += (which.empty() ? "" : ", ") + c.table;
    return Status::io_error("the copy does not verify (tables " + which + " differ after the copy); rolled back");
  }
  return {};
}

}  // namespace

Result<ImportReport> import_sqlite(const std::string& sqlite_path, const std::string& url, const BlobStore* files) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(sqlite_path, ec))
    return Status::corruption("no SQLite database at " + sqlite_path);
  auto db = Db::open(sqlite_path, DbOptions{});
  if (!db.ok()) return db.status();
  Db& d = **db;
  ImportReport report;
  {
    auto v = store::schema_version(d);
    if (!v.ok()) return v.status();
    report.sqlite_schema = *v;
  }
  if (report.sqlite_schema != store::latest_schema_version())
    return Status::corruption(sqlite_path + " has schema version " + std::to_string(report.sqlite_schema) +
                              ", this aktsyncd's is " + std::to_string(store::latest_schema_version()) +
                              ": start this aktsyncd on it once (it upgrades the database), stop it, and migrate");
  auto conn = PgConn::connect(url);
  if (!conn.ok()) return conn.status();
  PgConn& pg = **conn;
  // Refused before anything is written, then checked again inside the copy's transaction.
  if (auto busy = first_non_empty(pg); !busy.ok()) {
    return busy.status();
  } else if (!busy->empty()) {
    return Status::conflict("the target database is not empty (table " + *busy + " holds data)");
  }
  AKT_TRY(pg::migrate(pg));
  {
    auto v = pg::schema_version(pg);
    if (!v.ok()) return v.status();
    report.postgres_schema = *v;
  }
  // The attachment files first (immutable, content-addressed: they may go in before the tables' one
  // transaction); removed again when anything after fails.
  std::unique_ptr<PgBlobStore> blobs;
  struct UndoBlobs {
    std::unique_ptr<PgBlobStore>& blobs;
    const std::vector<std::string>& added;
    bool keep = false;
    ~UndoBlobs() {
      if (blobs && !keep)
        for (const std::string& d : added) (void)blobs->remove(d);
    }
  } undo_blobs{blobs, report.blobs.added};
  if (files) {
    auto opened = PgBlobStore::open(url);
    if (!opened.ok()) return opened.status();
    blobs = std::move(*opened);
    AKT_TRY(copy_blobs(*files, *blobs, report.blobs));
  }
  // One read transaction on SQLite (nothing writes it: the caller holds the data folder's lock).
  AKT_TRY(d.exec("BEGIN"));
  struct EndRead {
    Db& d;
    ~EndRead() { (void)d.exec("ROLLBACK"); }
  } end_read{d};
  auto epoch = sqlite_meta(d, "epoch");
  if (!epoch.ok()) return epoch.status();
  auto actor = sqlite_meta(d, "server_actor");
  if (!actor.ok()) return actor.status();
  if (epoch->empty() || actor->empty()) return Status::corruption(sqlite_path + " is not an aktsync server database");
  report.epoch = *epoch;
  report.server_actor = *actor;

  AKT_TRY(pg.exec_script("BEGIN ISOLATION LEVEL READ COMMITTED"));
  Status st;
  {
    // No server may write while the copy runs: EXCLUSIVE blocks every writer of the feed's counter row
    // (each push takes it) and of meta, not readers; a second copy waits here, then finds the database
    // not empty.
    auto lock = pg.exec("LOCK TABLE meta, feed_head IN EXCLUSIVE MODE");
    st = lock.status();
  }
  if (st.ok()) {
    auto busy = first_non_empty(pg);
    if (!busy.ok()) st = busy.status();
    else if (!busy->empty()) st = Status::conflict("the target database is not empty (table " + *busy + " holds data)");
  }
  if (st.ok()) st = copy_all(d, pg, report);
  if (st.ok()) st = pg.exec_script("COMMIT");
  if (!st.ok()) {
    (void)pg.exec_script("ROLLBACK");
    return st;
  }
  undo_blobs.keep = true;
  return report;
}

Result<DbProbe> probe(const std::string& url) {
  auto conn = PgConn::connect(url);
  if (!conn.ok()) return conn.status();
  DbProbe out;
  auto r = (*conn)->exec("SELECT current_setting('server_version'), pg_is_in_recovery()");
  if (!r.ok()) return r.status();
  out.server_version = r->str(0, 0);
  out.in_recovery = r->boolean(0, 1);
  auto v = schema_version(**conn);
  if (!v.ok()) return v.status();
  out.schema_version = *v;
  out.latest_schema = latest_schema_version();
  return out;
}

std::string describe_url(const std::string& url) {
  char* err = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &err);
  if (!options) {
    if (err) PQfreemem(err);
    return {};
  }
  std::string host, port, dbname, user;
  for (PQconninfoOption* o = options; o->keyword; ++o) {
    if (!o->val) continue;
    const std::string k = o->keyword;
    if (k == "host" || (k == "hostaddr" && host.empty())) host = o->val;
    if (k == "port") port = o->val;
    if (k == "dbname") dbname = o->val;
    if (k == "user") user = o->val;
  }
  PQconninfoFree(options);
  std::string out = "database " + (dbname.empty() ? std::string("(default)") : dbname);
  out += " on " + (host.empty() ? std::string("the local socket") : host) + (port.empty() ? "" : ":" + port);
  if (!user.empty()) out += " as " + user;
  return out;
}

}  // namespace akt::store::pg

// Consistent copies, verification and epoch renewal of a server database (see backup_db.hpp).
#include "schema/store/backup_db.hpp"

#include <array>
#include <filesystem>
#include <memory>
#include <random>

#include "schema/store/accounts_store.hpp"
#include "schema/store/db.hpp"
#include "schema/store/migrations.hpp"
#include "sync/uuid.hpp"

namespace akt::store {
namespace {

// The tables counted in a backup's manifest and compared after a restore (the ones whose loss an
// admin would notice first: records and their history, accounts, devices, the inbox and quarantine).
// SQL cannot bind an identifier, hence one fixed statement per table.
struct CountedTable {
  const char* name;
  const char* sql;
};
constexpr CountedTable kCountedTables[] = {
    {"records", "SELECT count(*) FROM records"},       {"versions", "SELECT count(*) FROM versions"},
    {"users", "SELECT count(*) FROM users"},           {"devices", "SELECT count(*) FROM devices"},
    {"tokens", "SELECT count(*) FROM tokens"},         {"forms", "SELECT count(*) FROM forms"},
    {"conflicts", "SELECT count(*) FROM conflicts"},   {"quarantine", "SELECT count(*) FROM quarantine"},
    {"audit", "SELECT count(*) FROM audit"},           {"blob_refs", "SELECT count(*) FROM blob_refs"},
};

Result<std::string> meta_value(Db& db, const char* key) {
  AKT_STMT(s, db, "SELECT value FROM meta WHERE key = ?1");
  s->bind(1, key);
  auto row = s->step();
  if (!row.ok()) return row.status();
  return *row ? std::string(s->text(0)) : std::string();
}

std::string random_hex(std::random_device& rd, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < digits; ++i) out.push_back(kHex[rd() & 0xF]);
  return out;
}

}  // namespace

Status snapshot_database(const std::string& db_path, const std::string& out_path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(db_path, ec)) return Status::not_found("no database at " + db_path);
  // A read-write connection (it writes nothing): a read-only one cannot open a WAL database whose
  // -shm file is missing, as when the server is stopped.
  auto db = Db::open(db_path, DbOptions{});
  if (!db.ok()) return db.status();
  auto s = (*db)->stmt("VACUUM INTO ?1");
  if (!s.ok()) return s.status();
  StmtGuard g(**s);
  g->bind(1, out_path);
  if (Status st = g->run(); !st.ok()) return Status::io_error("cannot copy " + db_path + " to " + out_path + ": " +
                                                              st.message());
  return {};
}

Result<DbSummary> verify_database(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return Status::not_found("no database at " + path);
  auto db = Db::open(path, DbOptions{});
  if (!db.ok()) return db.status();
  Db& d = **db;
  if (Status st = d.integrity_check(); !st.ok())
    return Status::corruption(path + ": integrity check failed: " + st.message());
  DbSummary out;
  {
    AKT_STMT(s, d, "PRAGMA user_version");
    auto row = s->step();
    if (!row.ok()) return row.status();
    out.schema_version = s->int64(0);
  }
  if (out.schema_version < 1 || out.schema_version > latest_schema_version())
    return Status::corruption(path + ": schema version " + std::to_string(out.schema_version) +
                              " is not one this server knows (1 to " + std::to_string(latest_schema_version()) + ")");
  auto epoch = meta_value(d, "epoch");
  if (!epoch.ok()) return epoch.status();
  auto actor = meta_value(d, "server_actor");
  if (!actor.ok()) return actor.status();
  if (epoch->empty() || actor->empty()) return Status::corruption(path + ": not an aktsync server database");
  out.epoch = *epoch;
  out.server_actor = *actor;
  for (const CountedTable& t : kCountedTables) {
    {
      // A backup made by an older release lacks the tables added since (the server migrates it at start).
      AKT_STMT(e, d, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1");
      e->bind(1, t.name);
      auto present = e->step();
      if (!present.ok()) return present.status();
      if (!*present) continue;
    }
    auto s = d.stmt(t.sql);
    if (!s.ok()) return s.status();
    StmtGuard g(**s);
    auto row = g->step();
    if (!row.ok()) return row.status();
    out.counts.emplace_back(t.name, g->int64(0));
  }
  return out;
}

Result<std::string> renew_epoch(const std::string& path, std::int64_t now_ms, const std::string& note) {
  auto db = Db::open(path, DbOptions{});
  if (!db.ok()) return db.status();
  Db& d = **db;
  std::random_device rd;
  const std::string epoch = random_hex(rd, 16);
  std::array<std::uint8_t, 16> bytes{};
  for (auto& b : bytes) b = static_cast<std::uint8_t>(rd());
  const std::string actor = sync::format_uuid(sync::make_uuid_v4(bytes));
  Tx tx(d);
  AKT_TRY(tx.status());
  auto old_epoch = meta_value(d, "epoch");
  if (!old_epoch.ok()) return old_epoch.status();
  {
    AKT_STMT(s, d, "INSERT INTO meta(key, value) VALUES('epoch', ?1) ON CONFLICT(key) DO UPDATE SET value = ?1");
    s->bind(1, epoch);
    AKT_TRY(s->run());
  }
  {
    AKT_STMT(s, d, "INSERT INTO meta(key, value) VALUES('server_actor', ?1) "
                   "ON CONFLICT(key) DO UPDATE SET value = ?1");
    s->bind(1, actor);
    AKT_TRY(s->run());
  }
  AKT_TRY(insert_audit(d, now_ms, "(command line)", "restored_from_backup", note,
                       "{\"old_epoch\":\"" + *old_epoch + "\",\"epoch\":\"" + epoch + "\"}", "local"));
  AKT_TRY(tx.commit());
  return epoch;
}


Status checkpoint_database(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return {};
  {
    auto db = Db::open(path, DbOptions{});
    if (!db.ok()) return db.status();
    AKT_TRY((*db)->exec("PRAGMA wal_checkpoint(TRUNCATE)"));
  }
  // The last connection's close removes the WAL; one still there means another process has it open.
  if (std::filesystem::file_size(path + "-wal", ec) > 0 && !ec)
    return Status::busy(path + " is in use by another process (is aktsyncd still running?)");
  return {};
}

}  // namespace akt::store

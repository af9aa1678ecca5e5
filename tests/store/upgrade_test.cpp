// Upgrades (README "Upgrades"): a database made at every earlier schema version opens with the current
// ServerStore, which migrates it forward keeping every row; a database newer than the binary is refused
// untouched. The fixtures and how they are made: tests/store/fixtures/.
#include <doctest/doctest.h>

#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "schema/store/migrations.hpp"
#include "schema/store/server_store.hpp"
#include "sync/wire_json.hpp"
#include "tests/store/upgrade_fixtures.hpp"
#include "tests/support/edits.hpp"
#include "tests/support/temp_dir.hpp"

using namespace akt;

namespace {

// Every table's rows, each row as the text of its columns (by name), read with a connection of its own.
using Rows = std::multiset<std::string>;
struct Snapshot {
  std::map<std::string, std::vector<std::string>> columns;  // by table
  std::map<std::string, Rows> rows;                         // by table, every column
  std::int64_t user_version = 0;
};

std::vector<std::vector<std::string>> query(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* s = nullptr;
  REQUIRE_MESSAGE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK, sql);
  std::vector<std::vector<std::string>> out;
  while (sqlite3_step(s) == SQLITE_ROW) {
    std::vector<std::string> row;
    for (int i = 0; i < sqlite3_column_count(s); ++i) {
      // Type-tagged, so that a blob never equals a text of the same bytes and NULL differs from ''.
      // The type first: reading the bytes converts the value.
      const int type = sqlite3_column_type(s, i);
      const auto* p = static_cast<const char*>(sqlite3_column_blob(s, i));
      const auto n = static_cast<std::size_t>(sqlite3_column_bytes(s, i));
      row.push_back(std::to_string(type) + ":" + (p ? std::string(p, n) : ""));
    }
    out.push_back(std::move(row));
  }
  sqlite3_finalize(s);
  return out;
}

std::string strip_tag(const std::string& cell) { return cell.substr(cell.find(':') + 1); }

// The rows of each table, projected on `only` columns when given (a table's columns before migrating).
Snapshot snapshot(const std::string& path, const std::map<std::string, std::vector<std::string>>* only = nullptr) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  Snapshot snap;
  snap.user_version = std::stoll(strip_tag(query(db, "PRAGMA user_version")[0][0]));
  for (const auto& t : query(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")) {
    const std::string table = strip_tag(t[0]);
    std::vector<std::string> cols;
    for (const auto& c : query(db, "SELECT name FROM pragma_table_info('" + table + "')"))
      cols.push_back(strip_tag(c[0]));
    if (only) {
      auto it = only->find(table);
      if (it == only->end()) continue;
      for (const auto& c : it->second)
        REQUIRE_MESSAGE(std::find(cols.begin(), cols.end(), c) != cols.end(), table << "." << c << " was dropped");
      cols = it->second;
    }
    std::string list;
    for (const auto& c : cols) list += (list.empty() ? "" : ", ") + ("\"" + c + "\"");
    Rows rows;
    for (const auto& r : query(db, "SELECT " + list + " FROM \"" + table + "\"")) {
      std::string line;
      for (const auto& cell : r) line += cell + "\x1f";
      rows.insert(line);
    }
    snap.columns[table] = cols;
    snap.rows[table] = std::move(rows);
  }
  sqlite3_close(db);
  return snap;
}

std::unique_ptr<store::ServerStore> open_store(const std::string& path) {
  store::ServerStoreOptions o;
  o.path = path;
  auto s = store::ServerStore::open(o);
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  return std::move(*s);
}

// The whole feed from the start in small pages: every record once, in increasing seq order.
std::vector<sync::RecordState> read_feed(store::ServerStore& s, std::int64_t since = 0) {
  std::vector<sync::RecordState> out;
  std::set<std::string> seen;
  for (;;) {
    auto page = s.changes(since, 3);
    REQUIRE(page.ok());
    for (auto& r : page->records) {
      CHECK(r.seq > since);
      since = r.seq;
      CHECK_MESSAGE(seen.insert(r.record_id).second, r.record_id << " twice in the feed");
      out.push_back(std::move(r));
    }
    if (!page->more) return out;
  }
}

}  // namespace

TEST_CASE("upgrades: a fixture of every earlier schema version is present") {
  const auto fixtures = akt::test::upgrade_fixtures();
  // The current version's fixture is made at release time (make_release_fixture.sh); every earlier one
  // must be here, so that adding a migration cannot skip testing the upgrade from the version before it.
  for (int v = 1; v < store::latest_schema_version(); ++v) CHECK_MESSAGE(fixtures.count(v) == 1, "schema_v" << v);
}

TEST_CASE("upgrades: every fixture migrates to the current schema with its data intact") {
  for (const auto& fixture : akt::test::upgrade_fixtures()) {
    // Named, not structured bindings: clang 14 cannot capture a binding in doctest's CAPTURE.
    const auto& version = fixture.first;
    const auto& file = fixture.second;
    CAPTURE(file);
    akt::test::TempDir dir;
    const std::string path = dir.file("aktsync.db");
    akt::test::load_fixture(file, path);
    const Snapshot before = snapshot(path);
    REQUIRE(before.user_version == version);
    REQUIRE(before.rows.at("records").size() > 0);

    auto s = open_store(path);
    CHECK(s->integrity_check().ok());
    const Snapshot after = snapshot(path, &before.columns);
    CHECK(snapshot(path).user_version == store::latest_schema_version());
    // Every row of every table is still there with every value it had; only meta gains rows (the
    // server's actor from migration 4, the epoch at first open).
    for (const auto& table_rows : before.rows) {
      const auto& table = table_rows.first;
      const auto& rows = table_rows.second;
      CAPTURE(table);
      const Rows& now = after.rows.at(table);
      if (table == "meta") {
        CHECK(std::includes(now.begin(), now.end(), rows.begin(), rows.end()));
      } else {
        CHECK(now.size() == rows.size());
        CHECK(now == rows);
      }
    }
    // Foreign keys hold (users, assignments, tokens, enrolments, devices).
    {
      sqlite3* db = nullptr;
      REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
      CHECK(query(db, "PRAGMA foreign_key_check").empty());
      // Every version stored before migration 16 carries its record's scope (PROTOCOL §4.4).
      CHECK(query(db, "SELECT v.id FROM versions v JOIN records r ON r.id = v.record_id WHERE v.municipality != "
                      "r.municipality OR v.community != r.community OR v.component != r.component")
                .empty());
      sqlite3_close(db);
    }

    // The feed: every record once, in seq order, each with its live versions.
    const auto feed = read_feed(*s);
    CHECK(feed.size() == before.rows.at("records").size());
    CHECK(s->last_seq() == feed.back().seq);
    const sync::RecordState* target = nullptr;
    for (const auto& r : feed) {
      CHECK_FALSE(r.live.empty());
      if (!target && !r.deleted && r.live.size() == 1) target = &r;
    }
    REQUIRE(target != nullptr);

    // A push: an edit of an existing record made on its live version, and a new record.
    const std::string dev = akt::test::uuid_n(0xE1);
    auto body = nlohmann::json::parse(target->live[0].body);
    body["upgrade_note"] = "edited after the upgrade";
    sync::Edit edit = akt::test::make_edit(target->record_id, dev, 1, target->live[0].clock, body.dump(),
                                           {"upgrade_note"});
    edit.form_id = target->form_id;
    edit.form_version = target->form_version;
    edit.scope = target->scope;
    sync::Edit fresh = akt::test::make_edit(akt::test::uuid7(1800000000000, 1), dev, 2, {}, R"({"a":1})", {"a"});
    sync::PushRequest req{"after-upgrade", {edit, fresh}};
    store::PushInput in{dev, &req, 1800000000000};
    auto out = s->push(in);
    REQUIRE(out.ok());
    const auto answer = nlohmann::json::parse(out->response);
    CHECK(answer["results"][0]["outcome"] == "applied");
    CHECK(answer["results"][1]["outcome"] == "applied");

    // A pull from where the feed ended sees both, the edit on top of the old version's answers.
    const auto next = read_feed(*s, feed.back().seq);
    REQUIRE(next.size() == 2);
    CHECK(next[0].record_id == target->record_id);
    REQUIRE(next[0].live.size() == 1);
    CHECK(nlohmann::json::parse(next[0].live[0].body) == body);
    CHECK(next[1].record_id == fresh.record_id);
    CHECK(s->integrity_check().ok());
  }
}

TEST_CASE("upgrades: a database newer than this binary is refused and left untouched") {
  akt::test::TempDir dir;
  const std::string path = dir.file("aktsync.db");
  const int newer = store::latest_schema_version() + 1;
  {
    auto db = store::Db::open(path, store::DbOptions{});
    REQUIRE(db.ok());
    REQUIRE((*db)->exec("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
                        "CREATE TABLE from_the_future(x);"
                        "PRAGMA user_version=" + std::to_string(newer))
                .ok());
  }
  const Snapshot before = snapshot(path);
  store::ServerStoreOptions o;
  o.path = path;
  auto s = store::ServerStore::open(o);
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().code() == Status::Code::kCorruption);
  const std::string& msg = s.status().message();
  CHECK_MESSAGE(msg.find("schema version " + std::to_string(newer)) != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("newer") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("(" + std::to_string(store::latest_schema_version()) + ")") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("downgrade") != std::string::npos, msg);
  // Nothing was migrated or written: same tables, rows and version.
  const Snapshot after = snapshot(path);
  CHECK(after.user_version == newer);
  CHECK(after.columns == before.columns);
  CHECK(after.rows == before.rows);
}

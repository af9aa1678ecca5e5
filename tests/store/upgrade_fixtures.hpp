// The upgrade fixtures (tests/store/fixtures/schema_vNN.sql): a server database at each earlier schema
// version, loaded into a database file for a test to migrate.
#pragma once

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <doctest/doctest.h>

#include "schema/store/db.hpp"

namespace akt::test {

// Every fixture, by schema version, from AKT_STORE_FIXTURES_DIR (set by tests/store/CMakeLists.txt).
inline std::map<int, std::string> upgrade_fixtures() {
  std::map<int, std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(AKT_STORE_FIXTURES_DIR)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("schema_v", 0) != 0 || e.path().extension() != ".sql") continue;
    out[std::stoi(name.substr(8))] = e.path().string();
  }
  return out;
}

// Makes `db_path` (which must not exist) the database the dump `sql_file` describes, as the release
// that made it left it: its tables, rows and PRAGMA user_version. REQUIREs success.
inline void load_fixture(const std::string& sql_file, const std::string& db_path) {
  std::ifstream in(sql_file);
  REQUIRE_MESSAGE(in.good(), sql_file);
  std::stringstream text;
  text << in.rdbuf();
  auto db = store::Db::open(db_path, store::DbOptions{});
  REQUIRE(db.ok());
  // The dump lists tables by name, children before parents: the keys are checked once it is loaded.
  REQUIRE((*db)->exec("PRAGMA foreign_keys=OFF").ok());
  const Status st = (*db)->exec(text.str());
  REQUIRE_MESSAGE(st.ok(), sql_file << ": " << st.message());
  REQUIRE((*db)->exec("PRAGMA foreign_keys=ON").ok());
}

}  // namespace akt::test

// A fresh database of the test binary's throwaway PostgreSQL cluster (pg_cluster.hpp), for tests that run
// a server or a store on PostgreSQL.
#pragma once

#include <string>

#include "tests/support/pg_cluster.hpp"

namespace akt::test {

// A new, empty database "<prefix>_<pid>_<k>" of the cluster, and its libpq url; `cluster`, when given,
// receives the cluster. Returns "" when PostgreSQL cannot run here (no binaries, no engine in this
// build): the case has then failed under AKT_REQUIRE_POSTGRES=1 or printed the skip line, and the
// caller returns.
std::string fresh_pg_database(const std::string& prefix, PgCluster** cluster = nullptr);

}  // namespace akt::test

// A PostgreSQL test that cannot run (pg_cluster.hpp): failed or reported skipped. Apart from
// pg_cluster.cpp, which benchmarks link without the test framework.
#include <doctest/doctest.h>

#include <cstdio>

#include "tests/support/pg_cluster.hpp"

namespace akt::test {

void skip_postgres(const std::string& why) {
  if (postgres_required()) FAIL("AKT_REQUIRE_POSTGRES=1 and PostgreSQL cannot run: " << why);
  std::printf("PostgreSQL engine skipped: %s\n", why.c_str());
  std::fflush(stdout);
}

void skip_without_engine() { skip_postgres("this build has no PostgreSQL engine (AKT_POSTGRES=OFF: libpq not found)"); }

}  // namespace akt::test

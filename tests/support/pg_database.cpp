// Fresh databases of the test cluster (pg_database.hpp).
#include "tests/support/pg_database.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>

#ifdef AKT_HAVE_POSTGRES
#include "schema/store/postgres/pg_store.hpp"
#endif

namespace akt::test {

std::string fresh_pg_database(const std::string& prefix, PgCluster** cluster_out) {
#ifdef AKT_HAVE_POSTGRES
  std::string why;
  PgCluster* cluster = PgCluster::get(&why);
  if (!cluster) {
    skip_postgres(why);
    return {};
  }
  static std::atomic<int> next{0};
  const std::string name = prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(++next);
  Status made = store::pg_create_database(cluster->url("postgres"), name, "");
  REQUIRE_MESSAGE(made.ok(), made.message());
  if (cluster_out) *cluster_out = cluster;
  return cluster->url(name);
#else
  (void)prefix;
  (void)cluster_out;
  skip_without_engine();
  return {};
#endif
}

}  // namespace akt::test

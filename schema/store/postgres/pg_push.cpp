// A push batch on PostgreSQL: the engine's feed numbers start provisional (PgPushPort) and become real in
// stamp_feed, the batch's last database step before the caller's COMMIT (docs/STORE.md §7).
#include "schema/store/postgres/pg_push.hpp"

#include "schema/store/postgres/pg_push_port.hpp"

namespace akt::store::pg {

Result<PushOutput> push_batch(PgConn& conn, const PushInput& in, const PreparedBatch& prepared,
                              const PushContext& ctx) {
  PgPushPort port(conn);
  std::int64_t next_seq = port.provisional_seq();
  return apply_batch(port, in, prepared, ctx, next_seq);
}

}  // namespace akt::store::pg

// A push batch on PostgreSQL: the push engine (push_engine.hpp) over PgPushPort inside one transaction
// of the caller. The feed numbers of the answer and of the records are final when it returns
// (PgPushPort::stamp_feed): the caller commits next, holding the feed lock until then.
#pragma once

#include "schema/store/postgres/pg_conn.hpp"
#include "schema/store/push_engine.hpp"

namespace akt::store::pg {

// REQUIRES: `conn` is inside a READ COMMITTED transaction that the caller commits (or rolls back on a
// non-OK answer). Returns what apply_batch returns.
Result<PushOutput> push_batch(PgConn& conn, const PushInput& in, const PreparedBatch& prepared,
                              const PushContext& ctx);

}  // namespace akt::store::pg

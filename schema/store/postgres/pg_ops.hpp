// The PostgreSQL engine's StoreReader / StoreWriter over one connection inside PgStore's transaction.
#pragma once

#include <memory>

#include "schema/store/postgres/pg_conn.hpp"
#include "schema/store/store_tx.hpp"

namespace akt::store::pg {

// `conn` must outlive the returned object and already be inside a transaction.
std::unique_ptr<StoreReader> make_reader(PgConn& conn);
std::unique_ptr<StoreWriter> make_writer(PgConn& conn);

}  // namespace akt::store::pg

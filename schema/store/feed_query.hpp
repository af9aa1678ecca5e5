// The change feed's page as the wire wants it (PROTOCOL §5) and the stored answers of push batches
// (§4.3) on SQLite: reads over ServerStore::read(), in their own file so that the hot feed query stays in
// one place. FeedQuery is in sync_store.hpp; the page is written by feed_page.hpp, shared with PostgreSQL.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "schema/store/server_store.hpp"

namespace akt::store {


// Writes the page into `out` as a JSON array's elements (as ServerStore::changes_json, which calls it).
// `limit` counts the entries written (records and out-of-scope markers), not the records scanned:
// records the caller may not see are skipped by index where the scope names its municipalities, and the
// page runs on until it holds `limit` entries, crosses `max_bytes`, or the feed ends (then `next` is the
// feed's head and `more` false). kIOError/kCorruption when the database cannot be read.
Result<ChangesPage> feed_json(ServerStore& store, const FeedQuery& query, std::string& out);

// The query plan of a feed window (EXPLAIN QUERY PLAN's lines, each indented two spaces per level
// below the top), unscoped or scoped by municipality, for tests.
Result<std::string> feed_query_plan(Db& db, bool scoped = false);

// The stored answer of batch `batch_id` pushed by device `device`, or nullopt when that device pushed
// no such batch (or it was not committed).
Result<std::optional<std::string>> batch_answer(ServerStore& store, const std::string& device,
                                                const std::string& batch_id);

}  // namespace akt::store

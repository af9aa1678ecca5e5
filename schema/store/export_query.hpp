// The rows an M&E export reads (docs/EXPORTS.md): one form's records in feed order, each with the
// body text of its latest live version and only the columns an export shows; no clocks, parents or
// `changed` lists. A read over ServerStore::read(), in its own file like the feed query.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "schema/store/server_store.hpp"

namespace akt::store {


// Records of `form_id` with since < seq <= until, in seq order, at most `limit` (>= 1). `rows` is
// reused from page to page: its strings keep their capacity. Of several live versions the body is the
// last by (actor, n), as export_record_from() takes RecordState::live.back(). kIOError/kCorruption
// when the database cannot be read.
Result<ExportPage> export_page(ServerStore& store, const std::string& form_id, std::int64_t since,
                               std::int64_t until, std::size_t limit, std::vector<ExportRow>& rows);

// The query plan of an export page (EXPLAIN QUERY PLAN's lines), for tests.
Result<std::string> export_query_plan(Db& db);

}  // namespace akt::store

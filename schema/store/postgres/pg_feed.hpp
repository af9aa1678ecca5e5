// The feed's reads on PostgreSQL (SyncStore::feed_page, changes, record, export_page, batch_answer,
// quarantine): each a function over one connection inside the caller's REPEATABLE READ snapshot, so a
// page sees a prefix of the feed (docs/STORE.md §7). The feed page is written by feed_page.hpp, shared
// with SQLite: the same bytes for the same data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "schema/store/postgres/pg_conn.hpp"
#include "schema/store/sync_store.hpp"

namespace akt::store::pg {

// REQUIRES (all): `c` is inside a transaction whose snapshot serves the whole call.
Result<ChangesPage> feed_page(PgConn& c, const FeedQuery& query, std::string& out);
Result<ChangesPage> changes(PgConn& c, std::int64_t since, std::size_t limit);
Result<std::optional<sync::RecordState>> record(PgConn& c, const std::string& record_id);
Result<ExportPage> export_page(PgConn& c, const std::string& form_id, std::int64_t since, std::int64_t until,
                               std::size_t limit, std::vector<ExportRow>& rows);
Result<std::optional<std::string>> batch_answer(PgConn& c, const std::string& device, const std::string& batch_id);
Result<std::vector<QuarantineEntry>> quarantine(PgConn& c, std::int64_t before_id, std::size_t limit);
// The feed's head: the last number stamped (feed_head.last_seq).
Result<std::int64_t> feed_head(PgConn& c);

// The plan PostgreSQL makes for one of the page statements above with these arguments (EXPLAIN's text,
// one node a line), for the test that keeps them on their indexes (docs/STORE.md §7): the window and
// range of an unscoped page after `after` (`limit` records), a page scoped to `municipalities` (a JSON
// array), and a page of `form_id`'s export.
enum class PagePlan { kWindow, kRange, kScoped, kExport };
Result<std::string> page_plan(PgConn& c, PagePlan which, std::int64_t after, std::int64_t limit,
                              const std::string& municipalities = "[]", const std::string& form_id = {});

}  // namespace akt::store::pg

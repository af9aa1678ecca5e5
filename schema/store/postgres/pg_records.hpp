// Reads of the seam over the push engine's tables on PostgreSQL (records, versions, attachment
// references): the same contract as the SQLite engine's (history_store.hpp, attachment_index.hpp,
// accounts_store.hpp), each one bound statement or two inside the caller's transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "schema/store/postgres/pg_conn.hpp"
#include "schema/store/store_types.hpp"
#include "sync/merge.hpp"
#include "sync/record.hpp"
#include "sync/vector_clock.hpp"

namespace akt::store::pg {

// The columns read_version expects, in order.
#define AKT_PG_VERSION_COLUMNS \
  "actor::text, n, clock, parents, changed, body, deleted, form_version, device_time, server_time"
// Row `row` of a result whose first columns are AKT_PG_VERSION_COLUMNS. kCorruption when unreadable.
Status read_version(const PgResult& r, int row, sync::Version& v);

// Every stored version of the record, oldest first.
Result<std::vector<HistoryVersion>> record_history(PgConn& c, const std::string& record_id);

// Whether a stored version carries a dot of `actor`, or a stored clock names it (clock_actors).
Result<bool> actor_has_versions(PgConn& c, const std::string& actor);
// The body and form version of the record's latest stored version whose clock is `clock`.
Result<std::optional<StoredBody>> version_with_clock(PgConn& c, const std::string& record_id,
                                                     const sync::VectorClock& clock);
Result<ActorCounters> actor_counters(PgConn& c, const std::string& actor, const std::string& record_id);
// Records referencing `digest` through an edit of a device that holds it, by record id, at most `limit`.
Result<std::vector<std::string>> records_referencing(PgConn& c, const std::string& digest, std::size_t limit);
Result<bool> is_blob_referenced(PgConn& c, const std::string& digest);
// The submissions list (record_list.hpp's contract): non-deleted records matching `f`, by id
// descending, those `keep` accepts, at most `limit`; *more when another kept row follows. Reads pages of
// rows by keyset, so a page costs the rows it passes.
Result<std::vector<RecordListRow>> list_records(PgConn& c, const RecordListFilter& f, std::size_t limit,
                                                const std::function<bool(const RecordListRow&)>& keep, bool* more);
// After the file of `digest` arrived: recomputes pending_upload of the records referencing it (under
// each record's lock, as a push) and gives each changed record the next feed number (stamped as a push's,
// docs/STORE.md §7). `schema_for` may be unset.
Status attachment_arrived(PgConn& c, const std::string& digest, const std::function<bool(const std::string&)>& exists,
                          const std::function<sync::MergeSchema(const std::string&, std::int64_t)>& schema_for,
                          std::int64_t now);
// Non-deleted records per place and form, ordered by municipality, form, community, component.
Result<std::vector<PlaceCount>> count_records_by_place(PgConn& c);

}  // namespace akt::store::pg

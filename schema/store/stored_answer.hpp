// The stored answer of a push batch (batches.response, SQLite): kept so that a replay and GET
// /v1/push/{batch_id} return the answer byte for byte (PROTOCOL §4), and kept compressed. Notes:
//  1. Two forms, told apart by the value's SQLite storage class, never by a flag column: TEXT is the
//     answer itself (every row written before compression, and answers compression does not shrink);
//     BLOB is one zstd frame (RFC 8878, with its content size and checksum) of the answer. The column is
//     declared TEXT, whose affinity converts numbers to text but leaves a BLOB a BLOB. Old rows are never
//     rewritten.
//  2. A push answer is JSON of about 160 bytes per edit in which only the record ids and feed numbers
//     vary much: zstd level 1 takes it to about a fifth (docs/STORE.md "Where the bytes go"). It runs in
//     the writer's transaction (the answer holds the feed numbers the writer gave, and must commit with
//     the batch), on one compression context kept for the process (only the group-commit leader writes).
//  3. Every reader of the column goes through stored_answer_of: the replay (sqlite_push_port.cpp), GET
//     /v1/push/{id} (feed_query.cpp) and migrate-to-postgres (postgres/pg_import.cpp, which writes the
//     answer as text: PostgreSQL compresses large values itself).
#pragma once

#include <string>
#include <string_view>

#include "schema/store/db.hpp"
#include "sync/status.hpp"

namespace akt::store {

// A stored form of `answer` (note 1): compressed when that is smaller.
struct StoredAnswer {
  bool compressed = false;  // bind as a BLOB when true, as TEXT otherwise
  std::string bytes;        // the zstd frame; empty (use the answer itself) when not compressed
};
StoredAnswer store_form_of(std::string_view answer);

// Binds `answer` in its stored form at `index` of `s` (note 1).
void bind_answer(Stmt& s, int index, std::string_view answer);

// The answer held by column `col` of the current row, in either form. kCorruption when a BLOB is not one
// valid zstd frame of known size.
Result<std::string> stored_answer_of(const Stmt& s, int col);

}  // namespace akt::store

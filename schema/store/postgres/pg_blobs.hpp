// The PostgreSQL engine's attachment files (blob_store.hpp, docs/STORE.md §12): blobs and partial uploads
// as rows of fixed-size chunks in the database (migration 6), so that every server on the database serves
// every photo and resumes every upload, and a promoted standby has them too.
//
//   blob_files(digest, size, written_ms)       a blob, visible once whole and verified
//   blob_chunks(digest, n, data)               its bytes, chunk n = [n*kChunk, (n+1)*kChunk)
//   upload_parts(upload, size, touched_ms)     a partial upload: size is the resume offset
//   upload_part_chunks(upload, n, data)        its bytes so far
//
// Appends and the promotion lock the partial's row (SELECT … FOR UPDATE), so two servers appending to one
// upload take turns and the offset check holds between them; each append is one transaction, acknowledged
// after its COMMIT. The promotion hashes the partial's chunks one at a time and, in the same transaction,
// copies them to the blob (inside PostgreSQL) or drops them when the blob exists. Reading fetches one
// slice of one chunk per call (substring of an uncompressed value): memory stays at one piece.
// remove() (garbage collection) keeps a blob that a committed record references (blob_refs) by the time
// it runs: the collector's check and the removal are not one transaction here, as they are on SQLite.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "schema/store/blob_store.hpp"

namespace akt::store {

namespace pg {
class PgConn;
}

class PgBlobStore final : public BlobStore {
 public:
  static constexpr std::int64_t kChunk = 256 * 1024;  // bytes per chunk row (the last one of a blob: fewer)

  // Connects to `url` and applies the engine's migrations (the blob tables are migration 6). The same
  // errors as PgStore::open.
  static Result<std::unique_ptr<PgBlobStore>> open(const std::string& url);
  ~PgBlobStore() override;

  bool has(const std::string& digest) const override;
  Result<std::int64_t> size_of(const std::string& digest) const override;
  Result<std::int64_t> written_ms(const std::string& digest) const override;
  Result<std::unique_ptr<BlobReader>> open_reader(const std::string& digest, std::int64_t offset) const override;
  Status start_part(const std::string& upload_id) override;
  Result<std::int64_t> part_size(const std::string& upload_id) const override;
  Result<std::int64_t> part_mtime_ms(const std::string& upload_id) const override;
  Status append(const std::string& upload_id, std::int64_t offset, std::string_view bytes) override;
  Status promote(const std::string& upload_id, const std::string& digest) override;
  Status remove_part(const std::string& upload_id) override;
  std::vector<std::string> part_ids() const override;
  std::vector<std::string> digests() const override;
  Status remove(const std::string& digest) override;

  // Runs fn on a pooled connection (outside any transaction unless fn opens one). A connection that died
  // while idle is replaced and fn run again when its first statement found it dead (nothing ran).
  Status with_conn(const std::function<Status(pg::PgConn&)>& fn) const;
  // Runs fn between BEGIN and COMMIT (ROLLBACK when it fails) on a pooled connection.
  Status in_transaction(const std::function<Status(pg::PgConn&)>& fn) const;

 private:
  explicit PgBlobStore(std::string url);
  Result<std::unique_ptr<pg::PgConn>> borrow() const;
  void give_back(std::unique_ptr<pg::PgConn> conn) const;

  std::string url_;
  mutable std::mutex mu_;  // guards idle_
  mutable std::vector<std::unique_ptr<pg::PgConn>> idle_;
};

}  // namespace akt::store

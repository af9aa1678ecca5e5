// Attachment files (PROTOCOL §14): content-addressed blobs and partial uploads, behind one interface
// with one implementation per store engine (docs/STORE.md §12), chosen where the store is chosen
// (server/app_state.cpp); handlers see BlobStore only. Which record references which blob is in the
// store (attachment_index.hpp).
//
//   FileBlobStore (the SQLite engine): files in the data folder, POSIX file I/O only:
//     <data>/blobs/ab/cd/abcd…(64 hex)   a complete file, named by the SHA-256 of its bytes
//     <data>/uploads/<upload id>.part    the bytes of an upload received so far
//   PgBlobStore (schema/store/postgres/pg_blobs.hpp): rows of fixed-size chunks in the PostgreSQL
//     database, which every server on it shares.
//
// Invariants (every implementation):
//   1. A blob only ever holds bytes whose SHA-256 is its name: it becomes visible whole, after its bytes
//      were made durable and verified (files: rename(2) of a fsynced file, then the directory fsynced;
//      PostgreSQL: one transaction that hashes the partial's rows and moves them, then COMMIT).
//   2. The same bytes are stored once: a second upload of a digest already stored is verified, then dropped.
//   3. A partial upload is never visible as a blob; its length is the offset a resume continues from.
//   4. An append is durable before it returns OK (fsync; COMMIT).
//   5. Reading never holds a whole blob in memory: a BlobReader hands out pieces.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sync/status.hpp"

namespace akt::store {

// Sequential reads of one stored blob from an offset, a piece at a time. Not thread-safe.
class BlobReader {
 public:
  virtual ~BlobReader() = default;
  // Reads up to `max` bytes (>= 1) into `out` (resized to what was read): 0 bytes at the end of the blob.
  // kIOError when the blob cannot be read (damaged, or removed meanwhile).
  virtual Status read(std::string& out, std::size_t max) = 0;
};

// Thread-safe for distinct upload ids (the caller serialises appends to one upload; PgBlobStore also
// serialises them between servers with a row lock).
class BlobStore {
 public:
  virtual ~BlobStore() = default;

  virtual bool has(const std::string& digest) const = 0;
  // Size in bytes of a stored blob; kNotFound when absent.
  virtual Result<std::int64_t> size_of(const std::string& digest) const = 0;
  // When a stored blob was written (ms since the epoch, the engine's clock); kNotFound when absent.
  virtual Result<std::int64_t> written_ms(const std::string& digest) const = 0;
  // A reader of a stored blob positioned at `offset` (<= its size); kNotFound when absent.
  virtual Result<std::unique_ptr<BlobReader>> open_reader(const std::string& digest, std::int64_t offset) const = 0;

  // Makes the upload's empty partial (so that a missing partial later means "promoted" or "discarded").
  virtual Status start_part(const std::string& upload_id) = 0;
  // The bytes received for an upload so far (-1 when it has no partial) and when they last grew
  // (ms since the epoch; 0 when no partial).
  virtual Result<std::int64_t> part_size(const std::string& upload_id) const = 0;
  virtual Result<std::int64_t> part_mtime_ms(const std::string& upload_id) const = 0;
  // Appends `bytes` to the upload's partial at `offset`, which must be its current size (kConflict
  // otherwise), durably before it returns. kIOError on a write failure (the partial keeps `offset` bytes).
  virtual Status append(const std::string& upload_id, std::int64_t offset, std::string_view bytes) = 0;
  // Verifies that the partial's SHA-256 is `digest` and makes it the blob (invariant 1); when the blob
  // exists already the partial is dropped (invariant 2). kInvalidArgument on a mismatch: the partial is
  // removed. kIOError on a storage failure.
  virtual Status promote(const std::string& upload_id, const std::string& digest) = 0;
  virtual Status remove_part(const std::string& upload_id) = 0;
  // The upload ids that have a partial.
  virtual std::vector<std::string> part_ids() const = 0;

  // Stores `bytes` as a blob directly (tools and tests): written as a private partial, verified, promoted.
  virtual Status put(std::string_view bytes, std::string* digest_out = nullptr);

  // Every stored blob's digest (for garbage collection, backups and migration).
  virtual std::vector<std::string> digests() const = 0;
  // Removes a blob (garbage collection). Absent is OK.
  virtual Status remove(const std::string& digest) = 0;
};

// The SQLite engine's blobs: files in the data folder (the layout above).
class FileBlobStore final : public BlobStore {
 public:
  // Creates <data_dir>/blobs and <data_dir>/uploads when missing. kIOError when it cannot.
  static Result<std::unique_ptr<FileBlobStore>> open(const std::string& data_dir);

  // The file of a blob (backups, tests). REQUIRES: digest is 64 lowercase hex.
  std::string path_of(const std::string& digest) const;

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

 private:
  explicit FileBlobStore(std::string data_dir);
  std::string blobs_, uploads_;
};

// What copy_blobs moved and found at the target: equal digests lists when the copy verified.
struct BlobCopyReport {
  std::size_t count = 0;      // blobs at the source (each now at the target)
  std::int64_t bytes = 0;     // their total size
  std::size_t copied = 0;     // of them, not at the target before
  std::string digest;         // SHA-256 of the sorted digests, one a line: the same on both sides
  std::vector<std::string> added;  // the digests copied (for an undo when a later step fails)
};
// Copies every blob of `from` into `to` a piece at a time (`to` verifies each SHA-256 as it promotes
// it), then checks that every digest of `from` is at `to` with the same size. kIOError when it does not;
// `report.added` then still names what was added.
Status copy_blobs(const BlobStore& from, BlobStore& to, BlobCopyReport& report);

// Lowercase hex SHA-256 of `bytes`.
std::string sha256_hex_of(std::string_view bytes);

}  // namespace akt::store

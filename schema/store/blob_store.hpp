// Attachment files in the data folder (PROTOCOL §14): content-addressed blobs and partial uploads.
// POSIX file I/O only; which record references which blob is in the database (attachment_index.hpp).
//
//   <data>/blobs/ab/cd/abcd…(64 hex)   a complete file, named by the SHA-256 of its bytes
//   <data>/uploads/<upload id>.part    the bytes of an upload received so far
//
// Invariants:
//   1. A blob path only ever holds bytes whose SHA-256 is its name: it appears by rename(2) of a fully
//      written, fsynced and verified file, and its directory is fsynced after the rename.
//   2. The same bytes are stored once: a second upload of a digest already stored is verified, then dropped.
//   3. A partial upload is never visible as a blob; its length is the offset a resume continues from.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sync/status.hpp"

namespace akt::store {

// Thread-safe for distinct upload ids (the caller serialises appends to one upload).
class BlobStore {
 public:
  // Creates <data_dir>/blobs and <data_dir>/uploads when missing. kIOError when it cannot.
  static Result<std::unique_ptr<BlobStore>> open(const std::string& data_dir);

  bool has(const std::string& digest) const;
  std::string path_of(const std::string& digest) const;  // REQUIRES: digest is 64 lowercase hex
  // Size in bytes of a stored blob; kNotFound when absent.
  Result<std::int64_t> size_of(const std::string& digest) const;

  // Makes the upload's empty partial file (so that a missing partial later means "promoted" or "discarded").
  Status start_part(const std::string& upload_id);
  // The bytes received for an upload so far (-1 when it has no partial file) and when they last grew
  // (ms since the epoch; 0 when no partial).
  Result<std::int64_t> part_size(const std::string& upload_id) const;
  Result<std::int64_t> part_mtime_ms(const std::string& upload_id) const;
  // Appends `bytes` to the upload's partial file at `offset`, which must be its current size
  // (kConflict otherwise), then fsyncs it. kIOError on a write failure (the partial is cut back to `offset`).
  Status append(const std::string& upload_id, std::int64_t offset, std::string_view bytes);
  // Verifies that the partial's SHA-256 is `digest` and makes it the blob (invariant 1); when the blob
  // exists already the partial is dropped (invariant 2). kInvalidArgument on a mismatch: the partial is
  // removed. kIOError on a file system failure.
  Status promote(const std::string& upload_id, const std::string& digest);
  Status remove_part(const std::string& upload_id);
  // The upload ids that have a partial file.
  std::vector<std::string> part_ids() const;

  // Stores `bytes` as a blob directly (tools and tests): written to a temp name, fsynced, verified, renamed.
  Status put(std::string_view bytes, std::string* digest_out = nullptr);

  // Every stored blob's digest (for garbage collection and backups).
  std::vector<std::string> digests() const;
  // Removes a blob (garbage collection). Absent is OK.
  Status remove(const std::string& digest);

 private:
  explicit BlobStore(std::string data_dir);
  std::string blobs_, uploads_;
};

// Lowercase hex SHA-256 of `bytes`.
std::string sha256_hex_of(std::string_view bytes);

}  // namespace akt::store

// A tablet's attachments (PROTOCOL §14): photo files kept next to the device database until the server
// holds them, and their resumable upload. A file is sent only if the server says this device has not
// sent it whole before, and each upload resumes at the server's offset: stored bytes are never re-sent.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "clients/sync_client.hpp"
#include "sync/attachment_ref.hpp"
#include "sync/status.hpp"

namespace akt::client {

// Content-addressed files in a folder: <dir>/<digest> (complete copies), <dir>/<digest>.sent (the server
// confirmed it holds the file from this device). Not thread-safe.
class AttachmentBox {
 public:
  // Creates `dir` when missing. kIOError when it cannot.
  static Result<AttachmentBox> open(const std::string& dir);
  // The box next to a device database file: "<db>.attachments".
  static std::string dir_for_database(const std::string& db_path) { return db_path + ".attachments"; }

  // Copies `bytes` in (temp name, fsync, rename) and returns its reference; the same bytes are kept once.
  // kInvalidArgument for an empty file or a media type aktsync does not take.
  Result<sync::AttachmentRef> add(const std::string& bytes, const std::string& media_type);
  // The references of files not yet confirmed by the server, with their media types as added.
  std::vector<sync::AttachmentRef> unsent() const;
  Status mark_sent(const std::string& digest);
  Result<std::string> read(const std::string& digest) const;

 private:
  explicit AttachmentBox(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

struct UploadOptions {
  std::size_t chunk_bytes = 64 * 1024;  // one PATCH; 4 s at 128 kbit/s (a cut costs at most one chunk)
  // Chunks sized by time, when chunk_time > 0: after each acknowledged chunk the next one aims at
  // chunk_time of link time at the rate that chunk moved (its bytes over the time from request to answer),
  // growing at most twofold per chunk, within [min_chunk_bytes, max_chunk_bytes] and the server's
  // `max_chunk`; a chunk lost on the way halves the next. chunk_bytes is then the first chunk's size. A
  // cut costs about half a chunk, a chunk costs a round trip: a few seconds balance the two on a 2G link.
  std::chrono::milliseconds chunk_time{0};
  std::size_t min_chunk_bytes = 8 * 1024;
  std::size_t max_chunk_bytes = 1024 * 1024;
  // Failures in a row (progress resets both): give up after max_attempts of them (0 = no count limit) or
  // once they lasted longer than retry_for (0 = no time limit; the waits count even when `sleep` does not
  // really wait).
  int max_attempts = 6;
  std::chrono::milliseconds retry_for{0};
  std::chrono::milliseconds backoff_initial{250};
  std::chrono::milliseconds backoff_max{8000};
  std::function<void(std::chrono::milliseconds)> sleep;  // default std::this_thread::sleep_for
  std::function<std::chrono::steady_clock::time_point()> now;  // default steady_clock::now (tests: a fake)
};

struct UploadSummary {
  std::size_t files = 0;          // files the server now holds from this device
  std::size_t skipped = 0;        // already held (the server said so)
  std::uint64_t bytes_sent = 0;   // chunk bytes put on the wire, retries included
  std::uint64_t file_bytes = 0;   // the sizes of the files sent
  std::size_t resumes = 0;        // uploads continued from a non-zero server offset
  std::size_t chunks = 0;         // PATCH requests sent (acknowledged or not)
  std::size_t lost_chunks = 0;    // of them, those whose answer never came
  std::size_t last_chunk_bytes = 0;  // the size the next chunk would have had (adaptive sizing's state)
};

// Uploads every unsent file of `box` the server lacks, as the device with bearer `token`. After a lost
// answer it asks the server's offset before it sends again (never re-sends a chunk the server stored,
// provided the transport does not resend on its own: HttpOptions::retry_stale_connection off). Errors:
// kIOError (unreachable or failing for max_attempts or retry_for), kUnauthenticated/kForbidden, kCorruption (the server
// refused the bytes' digest: the local copy is damaged), kInvalidArgument (refused, e.g. too large).
Result<UploadSummary> upload_attachments(AttachmentBox& box, const Transport& transport, const std::string& token,
                                         const UploadOptions& options = {});

}  // namespace akt::client

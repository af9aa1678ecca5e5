// Which records reference which attachment, and which of a record's attachments the server still lacks
// (PROTOCOL §14.5). Runs inside the caller's write transaction. Internal to akt_store and the server.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "schema/store/db.hpp"
#include "schema/store/store_types.hpp"
#include "sync/attachment_json.hpp"
#include "sync/merge.hpp"
#include "sync/status.hpp"

namespace akt::store {

// True when the server holds the file of `digest` (64 lowercase hex).
using BlobExists = std::function<bool(const std::string& digest)>;

// Notes that the edit by `actor_blob` (16-byte actor) of record `id_blob` references every attachment
// found in `body`.
Status note_attachment_refs(Db& db, const std::string& id_blob, const std::string& actor_blob, std::string_view body,
                            const sync::MergeSchema* schema);

// The attachment references in `body` by field path, named as note_attachment_refs names them. Pure: a
// caller may find them before its write transaction and pass them to the overload below.
using AttachmentRefs = std::vector<std::pair<std::string, sync::AttachmentRef>>;
AttachmentRefs attachment_refs_of(std::string_view body, const sync::MergeSchema* schema);
Status note_attachment_refs(Db& db, const std::string& id_blob, const std::string& actor_blob,
                            const AttachmentRefs& refs);

// Recomputes the record's pending_upload (the paths of its single live version whose file is missing).
// Sets `*changed` when the stored list changed. A record with several live versions or none keeps [].
Status refresh_pending_upload(Db& db, const std::string& id_blob, const BlobExists& exists,
                              const sync::MergeSchema* schema, bool* changed = nullptr);

// After the file of `digest` arrived: recomputes pending_upload of every record referencing it, and gives
// each record whose list changed the next feed position (so pulls see it complete). `schema_for` (may be
// unset) gives a form version's repeat groups, to name repeat items as the push did.
using SchemaFor = std::function<sync::MergeSchema(const std::string& form_id, std::int64_t version)>;
Status attachment_arrived(Db& db, const std::string& digest, const BlobExists& exists, const SchemaFor& schema_for,
                          std::int64_t& next_seq, std::int64_t now_ms);

// Records `actor_blob` as a device that uploaded every byte of `digest`.
Status note_blob_holder(Db& db, const std::string& digest, const std::string& actor_blob, std::int64_t now_ms);

// The records that reference `digest` through an edit of a device that holds it (uploaded its bytes),
// as canonical UUIDs, at most `limit`.
Result<std::vector<std::string>> records_referencing(Db& db, const std::string& digest, std::size_t limit);
// Whether `actor_blob` uploaded every byte of `digest`.
Result<bool> is_blob_holder(Db& db, const std::string& digest, const std::string& actor_blob);

// Whether any stored version references `digest` (blob_refs).
Result<bool> is_blob_referenced(Db& db, const std::string& digest);
// Forgets every holder of `digest` (its file was removed).
Status forget_blob_holders(Db& db, const std::string& digest);

// Open resumable uploads (PROTOCOL §14.2), one per device and digest. `actor_blob`: 16-byte actor.
Result<std::optional<UploadRow>> find_upload(Db& db, const std::string& id, const std::string& actor_blob);
Result<std::optional<std::string>> upload_of_digest(Db& db, const std::string& actor_blob, const std::string& digest);
// Every open upload, with only its id and created_at.
Result<std::vector<UploadRow>> list_uploads(Db& db);
// Inserts the upload, or replaces the device's open upload of the same digest.
Status put_upload(Db& db, const UploadRow& upload, const std::string& actor_blob);
Status delete_upload(Db& db, const std::string& id);

}  // namespace akt::store

// Attachments (PROTOCOL §14). A device creates an upload for a digest, appends chunks at the offset the
// server holds (a cut resumes from there), and the file becomes a blob only when its SHA-256 matches.
// A blob is read only by someone who may read a record referencing it, with the photo field visible to
// them after redaction, and only through a reference of a device that uploaded the bytes itself.
#include "server/handlers/handlers.hpp"

#include <algorithm>
#include <functional>

#include <nlohmann/json.hpp>
#include <openssl/rand.h>

#include "schema/store/store_tx.hpp"
#include "server/handlers/json_io.hpp"
#include "server/problem.hpp"
#include "sync/access.hpp"
#include "sync/attachment_json.hpp"
#include "sync/hex.hpp"

namespace akt::server {
namespace {

using nlohmann::json;

using Upload = store::UploadRow;

std::string random_id() {
  unsigned char b[16];
  RAND_bytes(b, sizeof b);
  return sync::to_hex(b, sizeof b);
}

HttpResponse with_member(HttpResponse r, const char* key, std::int64_t value) {
  json j = json::parse(r.body, nullptr, false);
  if (j.is_object()) r.body = (j[key] = value, j.dump());
  return r;
}

HttpResponse not_found_upload(const std::string& id) {
  return problem(404, "upload_not_found", "no open upload " + id.substr(0, 64) + " of this device (expired or finished?)");
}

// The open upload `id` of the caller's device; nullopt when unknown, another device's, or expired (an
// expired one is discarded here).
Result<std::optional<Upload>> load_upload(AppState& app, const Principal& who, const std::string& id) {
  std::optional<Upload> u;
  Status st = app.store->query([&](store::StoreReader& tx) {
    auto found = tx.find_upload(id, who.device_actor);
    if (!found.ok()) return found.status();
    u = std::move(*found);
    return Status();
  });
  if (!st.ok()) return st;
  if (!u) return u;
  auto touched = app.blobs->part_mtime_ms(id);
  if (!touched.ok()) return touched.status();
  if (std::max(*touched, u->created_at) + app.config.attachments.upload_expiry_ms < app.now_ms()) {
    AKT_TRY(app.blobs->remove_part(id));
    AKT_TRY(app.store->update([&](store::StoreWriter& tx) { return tx.delete_upload(id); }));
    return std::optional<Upload>();
  }
  return u;
}

// The upload's file is the blob now: the device holds it, the upload is closed, and records waiting for
// it are complete (with a new feed position).
Status finish_upload(AppState& app, const Principal& who, const Upload& u) {
  const std::function<bool(const std::string&)> exists = [&app](const std::string& d) { return app.blobs->has(d); };
  const std::function<sync::MergeSchema(const std::string&, std::int64_t)> schema_for =
      [&app](const std::string& form, std::int64_t version) { return app.forms.schema_for(form, version); };
  return app.store->update([&](store::StoreWriter& tx) {
    AKT_TRY(tx.note_blob_holder(u.digest, who.device_actor, app.now_ms()));
    AKT_TRY(tx.delete_upload(u.id));
    return tx.attachment_arrived(u.digest, exists, schema_for, app.now_ms());
  });
}

// Discards partial uploads untouched for attachments.upload_expiry_ms (a few per call), and partial files
// that no upload names any more.
void sweep_expired(AppState& app) {
  const std::int64_t cutoff = app.now_ms() - app.config.attachments.upload_expiry_ms;
  std::vector<std::string> known, stale;
  std::vector<store::UploadRow> uploads;
  app.store->query([&](store::StoreReader& tx) {
    auto all = tx.list_uploads();
    if (!all.ok()) return all.status();
    uploads = std::move(*all);
    return Status();
  });
  for (const store::UploadRow& u : uploads) {
    known.push_back(u.id);
    auto touched = app.blobs->part_mtime_ms(u.id);
    if (std::max(u.created_at, touched.ok() ? *touched : 0) < cutoff && stale.size() < 100) stale.push_back(u.id);
  }
  for (const std::string& id : app.blobs->part_ids()) {
    auto touched = app.blobs->part_mtime_ms(id);
    if (std::find(known.begin(), known.end(), id) == known.end() && touched.ok() && *touched < cutoff)
      app.blobs->remove_part(id);
  }
  for (const std::string& id : stale) {
    app.blobs->remove_part(id);
    app.store->update([&](store::StoreWriter& tx) { return tx.delete_upload(id); });
  }
}

// `max_chunk`: the largest chunk the server takes (a request body), so that a client may size its chunks.
json upload_json(const Upload& u, std::int64_t offset, bool complete, std::size_t max_chunk) {
  return {{"v", 1},          {"upload", u.id},     {"digest", u.digest}, {"size", u.size},
          {"type", u.media_type}, {"offset", offset}, {"complete", complete}, {"max_chunk", max_chunk}};
}

HttpResponse upload_answer(int status, const Upload& u, std::int64_t offset, bool complete, const AppState& app) {
  HttpResponse r = json_response(status, upload_json(u, offset, complete, app.config.limits.max_body_bytes));
  r.headers.emplace_back("Upload-Offset", std::to_string(offset));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

// A digest's blob as `who` may see it: the media type of a visible reference, or nullopt.
Result<std::optional<std::string>> readable_media_type(AppState& app, const Principal& who, const std::string& digest) {
  std::vector<std::string> records;
  Status st = app.store->query([&](store::StoreReader& tx) {
    auto r = tx.records_referencing(digest, 64);
    if (!r.ok()) return r.status();
    records = std::move(*r);
    return Status();
  });
  if (!st.ok()) return st;
  for (const std::string& id : records) {
    auto rec = app.store->record(id);
    if (!rec.ok()) return rec.status();
    if (!rec->has_value()) continue;
    const sync::RecordState& r = **rec;
    if (who.scope && !sync::in_scope(*who.scope, r.scope, r.form_id)) continue;
    // Every version the caller may read (live and history), as the caller's role sees it.
    std::vector<std::string> bodies;
    st = app.store->query([&](store::StoreReader& tx) {
      auto h = tx.record_history(id);
      if (!h.ok()) return h.status();
      for (auto& hv : *h) bodies.push_back(std::move(hv.version.body));
      return Status();
    });
    if (!st.ok()) return st;
    for (const std::string& body : bodies) {
      const std::string seen = who.role == sync::Role::kMeOfficer ? redact_for(app, who, r.form_id, id, body) : body;
      for (const auto& [path, ref] : sync::find_attachment_refs(seen))
        if (ref.digest == digest) return std::optional<std::string>(ref.media_type);
    }
  }
  return std::optional<std::string>();
}

// What a `Range` header asks of a file of `size` bytes (PROTOCOL §14.4, RFC 9110 §14): one range
// [first, last] to send, nothing to honour (absent, not `bytes=`, malformed, several ranges, or an
// `If-Range` that does not name this file: the whole file), or an unsatisfiable range (416).
struct RangeAsk {
  enum Kind { kWhole, kPart, kUnsatisfiable } kind = kWhole;
  std::int64_t first = 0, last = 0;
};

std::optional<std::int64_t> parse_bytes_pos(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

RangeAsk range_of(const HttpRequest& req, const std::string& digest, std::int64_t size) {
  std::string_view spec = req.header("range");
  if (spec.substr(0, 6) != "bytes=") return {};
  const std::string_view if_range = req.header("if-range");
  if (!if_range.empty() && if_range != "\"" + digest + "\"") return {};
  spec.remove_prefix(6);
  while (!spec.empty() && (spec.front() == ' ' || spec.front() == '\t')) spec.remove_prefix(1);
  while (!spec.empty() && (spec.back() == ' ' || spec.back() == '\t')) spec.remove_suffix(1);
  const std::size_t dash = spec.find('-');
  if (dash == std::string_view::npos || spec.find(',') != std::string_view::npos) return {};
  const std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
  RangeAsk r;
  if (a.empty()) {  // a suffix: the last N bytes
    auto n = parse_bytes_pos(b);
    if (!n) return {};
    if (*n == 0 || size == 0) return {RangeAsk::kUnsatisfiable};
    r.first = std::max<std::int64_t>(0, size - *n);
    r.last = size - 1;
  } else {
    auto first = parse_bytes_pos(a);
    auto last = b.empty() ? std::optional<std::int64_t>(size - 1) : parse_bytes_pos(b);
    if (!first || !last || (!b.empty() && *last < *first)) return {};  // not a valid range: ignored
    if (*first >= size) return {RangeAsk::kUnsatisfiable};
    r.first = *first;
    r.last = std::min(*last, size - 1);
  }
  r.kind = RangeAsk::kPart;
  return r;
}

}  // namespace

HttpResponse handle_create_upload(const HttpRequest& req, const Principal& who, AppState& app) {
  json j;
  if (auto err = parse_json_object(req.body, j)) return std::move(*err);
  const auto digest = string_member(j, "digest", 64);
  const auto type = string_member(j, "type", 64);
  const auto size = j.find("size");
  if (!digest || !sync::is_digest_hex(*digest))
    return problem(400, "invalid_upload", "digest: expected the file's SHA-256 as 64 lowercase hex digits");
  if (size == j.end() || !size->is_number_integer() || size->get<std::int64_t>() < 1)
    return problem(400, "invalid_upload", "size: expected an integer number of bytes >= 1");
  if (!type || !sync::is_attachment_media_type(*type))
    return problem(400, "invalid_upload", "type: expected image/jpeg, image/png or image/webp");
  const std::int64_t bytes = size->get<std::int64_t>();
  if (bytes > app.config.attachments.max_bytes)
    return problem(413, "attachment_too_large", "attachments are limited to " +
                                                    std::to_string(app.config.attachments.max_bytes) + " bytes");
  // The device's open upload of this digest, if any, is the one to resume (one per device and digest).
  std::optional<std::string> existing;
  Status st = app.store->query([&](store::StoreReader& tx) {
    auto found = tx.upload_of_digest(who.device_actor, *digest);
    if (!found.ok()) return found.status();
    existing = std::move(*found);
    return Status();
  });
  if (!st.ok()) return problem_from(st, "internal");
  if (existing) {
    auto u = load_upload(app, who, *existing);
    if (!u.ok()) return problem_from(u.status(), "internal");
    if (*u && (*u)->size == bytes && (*u)->media_type == *type) return handle_upload_offset(*existing, who, app);
    if (*u) {  // the same digest announced with another size or type: start over
      if (Status s = app.blobs->remove_part(*existing); !s.ok()) return problem_from(s, "internal");
    }
  }
  sweep_expired(app);
  // Unreferenced files, at most hourly (the files of the grace period stay).
  std::int64_t last = app.last_blob_gc_ms.load();
  if (app.now_ms() - last > 3600000 && app.last_blob_gc_ms.compare_exchange_strong(last, app.now_ms()))
    collect_unreferenced_blobs(app);
  Upload u{random_id(), *digest, *type, bytes, app.now_ms()};
  if (Status s = app.blobs->start_part(u.id); !s.ok()) return problem_from(s, "internal");
  st = app.store->update([&](store::StoreWriter& tx) { return tx.put_upload(u, who.device_actor); });
  if (!st.ok()) return problem_from(st, "internal");
  HttpResponse r = upload_answer(201, u, 0, false, app);
  r.headers.emplace_back("Location", "/v1/uploads/" + u.id);
  return r;
}

HttpResponse handle_upload_offset(const std::string& id, const Principal& who, AppState& app) {
  std::lock_guard lock(app.upload_locks[std::hash<std::string>{}(id) % app.upload_locks.size()]);
  auto u = load_upload(app, who, id);
  if (!u.ok()) return problem_from(u.status(), "internal");
  if (!*u) return not_found_upload(id);
  auto offset = app.blobs->part_size(id);
  if (!offset.ok()) return problem_from(offset.status(), "internal");
  // The partial became the blob, but the server stopped before noting it: finish it now.
  if (*offset < 0 && app.blobs->has((*u)->digest)) {
    if (Status st = finish_upload(app, who, **u); !st.ok()) return problem_from(st, "internal");
    return upload_answer(200, **u, (*u)->size, true, app);
  }
  return upload_answer(200, **u, std::max<std::int64_t>(*offset, 0), false, app);
}

HttpResponse handle_upload_append(const HttpRequest& req, const std::string& id, const Principal& who, AppState& app) {
  std::lock_guard lock(app.upload_locks[std::hash<std::string>{}(id) % app.upload_locks.size()]);
  auto u = load_upload(app, who, id);
  if (!u.ok()) return problem_from(u.status(), "internal");
  if (!*u) return not_found_upload(id);
  if (req.header("content-type") != "application/offset+octet-stream")
    return problem(415, "unsupported_media_type", "Content-Type must be application/offset+octet-stream");
  const std::string_view enc = req.header("content-encoding");
  if (!enc.empty() && enc != "identity")
    return problem(415, "unsupported_encoding", "upload chunks are sent without Content-Encoding");
  const std::string_view offset_text = req.header("upload-offset");
  std::int64_t offset = 0;
  if (offset_text.empty() || offset_text.size() > 18) return problem(400, "invalid_offset", "Upload-Offset: expected bytes >= 0");
  for (char c : offset_text) {
    if (c < '0' || c > '9') return problem(400, "invalid_offset", "Upload-Offset: expected bytes >= 0");
    offset = offset * 10 + (c - '0');
  }
  auto held = app.blobs->part_size(id);
  if (!held.ok()) return problem_from(held.status(), "internal");
  if (*held < 0 && app.blobs->has((*u)->digest)) {  // promoted before a crash (see handle_upload_offset)
    if (Status st = finish_upload(app, who, **u); !st.ok()) return problem_from(st, "internal");
    return upload_answer(200, **u, (*u)->size, true, app);
  }
  if (*held < 0) *held = 0;
  if (offset != *held) {
    HttpResponse r = with_member(problem(409, "offset_mismatch", "the server holds " + std::to_string(*held) +
                                                                     " bytes of this upload; send from there"),
                                 "offset", *held);
    r.headers.emplace_back("Upload-Offset", std::to_string(*held));
    return r;
  }
  if (offset + static_cast<std::int64_t>(req.body.size()) > (*u)->size)
    return problem(400, "upload_overrun", "the chunk ends after the announced size " + std::to_string((*u)->size));
  if (Status st = app.blobs->append(id, offset, req.body); !st.ok()) return problem_from(st, "internal");
  const std::int64_t now_held = offset + static_cast<std::int64_t>(req.body.size());
  if (now_held < (*u)->size) return upload_answer(200, **u, now_held, false, app);
  // Every byte arrived: the digest decides whether it becomes the blob.
  if (Status st = app.blobs->promote(id, (*u)->digest); !st.ok()) {
    if (st.code() != Status::Code::kInvalidArgument) return problem_from(st, "internal");
    app.store->update([&](store::StoreWriter& tx) { return tx.delete_upload(id); });
    return problem(422, "digest_mismatch", st.message() + "; the upload was discarded, start again");
  }
  if (Status st = finish_upload(app, who, **u); !st.ok()) return problem_from(st, "internal");
  return upload_answer(200, **u, now_held, true, app);
}

HttpResponse handle_missing_blobs(const HttpRequest& req, const Principal& who, AppState& app) {
  json j;
  if (auto err = parse_json_object(req.body, j)) return std::move(*err);
  const auto list = j.find("digests");
  if (list == j.end() || !list->is_array())
    return problem(400, "invalid_digests", "digests: expected an array of SHA-256 digests (64 lowercase hex)");
  if (list->size() > app.config.attachments.max_missing_query)
    return problem(413, "too_many_digests", "at most " + std::to_string(app.config.attachments.max_missing_query) +
                                                 " digests per request");
  std::vector<std::string> digests;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json& d = (*list)[i];
    if (!d.is_string() || !sync::is_digest_hex(d.get_ref<const std::string&>()))
      return problem(400, "invalid_digests", "digests[" + std::to_string(i) + "]: expected 64 lowercase hex digits");
    digests.push_back(d.get<std::string>());
  }
  // "Held" only for files this device uploaded whole: the answer tells nothing about other devices' photos.
  json missing = json::array();
  Status st = app.store->query([&](store::StoreReader& tx) {
    for (const std::string& d : digests) {
      auto held = tx.is_blob_holder(d, who.device_actor);
      if (!held.ok()) return held.status();
      if (!*held || !app.blobs->has(d)) missing.push_back(d);
    }
    return Status();
  });
  if (!st.ok()) return problem_from(st, "internal");
  return json_response(200, {{"v", 1}, {"missing", missing}});
}

HttpResponse handle_get_blob(const HttpRequest& req, const std::string& digest, const Principal& who, AppState& app) {
  if (!sync::is_digest_hex(digest))
    return problem(400, "invalid_digest", "a blob is named by its SHA-256: 64 lowercase hex digits");
  auto type = readable_media_type(app, who, digest);
  if (!type.ok()) return problem_from(type.status(), "internal");
  // Unknown, unreadable and not yet uploaded read alike: the answer reveals nothing.
  auto size = app.blobs->size_of(digest);
  if (!*type || !size.ok()) return problem(404, "blob_not_found", "no attachment " + digest + " readable by you");
  // A single range resumes a cut download (only once the caller may read the file: a 416 says its size).
  const RangeAsk range = range_of(req, digest, *size);
  if (range.kind == RangeAsk::kUnsatisfiable) {
    HttpResponse r = with_member(problem(416, "range_not_satisfiable",
                                         "the range asked lies outside the file of " + std::to_string(*size) + " bytes"),
                                 "size", *size);
    r.headers.emplace_back("Content-Range", "bytes */" + std::to_string(*size));
    return r;
  }
  auto reader = app.blobs->open_reader(digest, range.kind == RangeAsk::kPart ? range.first : 0);
  if (!reader.ok()) {
    if (reader.status().code() == Status::Code::kNotFound)
      return problem(404, "blob_not_found", "no attachment " + digest + " readable by you");
    return problem_from(reader.status(), "internal");
  }
  // The reader (a file descriptor, or the engine's chunk rows) lives as long as the producer.
  std::shared_ptr<store::BlobReader> file(std::move(*reader));
  std::int64_t left = *size;
  HttpResponse r;
  if (range.kind == RangeAsk::kPart) {
    left = range.last - range.first + 1;
    r.status = 206;
    r.headers.emplace_back("Content-Range", "bytes " + std::to_string(range.first) + "-" + std::to_string(range.last) +
                                                "/" + std::to_string(*size));
  }
  r.content_type = **type;
  r.compressible = false;
  r.headers.emplace_back("Accept-Ranges", "bytes");
  r.headers.emplace_back("Cache-Control", "private, max-age=31536000, immutable");
  r.headers.emplace_back("ETag", "\"" + digest + "\"");
  r.headers.emplace_back("Content-Disposition", "inline; filename=\"" + digest.substr(0, 16) + "\"");
  r.headers.emplace_back("Content-Security-Policy", "default-src 'none'; sandbox");
  // Streamed from the store in 64 KiB pieces, `left` bytes in all: memory holds one piece.
  r.stream = [file, left](std::string& out) mutable -> StreamStep {
    const std::size_t want = static_cast<std::size_t>(std::min<std::int64_t>(left, 1 << 16));
    if (want == 0) {
      out.clear();
      return StreamStep::kDone;
    }
    Status st = file->read(out, want);
    if (!st.ok() || out.empty()) {  // the blob is immutable: fewer bytes than its size is a damaged store
      out = "cannot read the attachment";
      return StreamStep::kFailed;
    }
    left -= static_cast<std::int64_t>(out.size());
    return left == 0 ? StreamStep::kDone : StreamStep::kMore;
  };
  return r;
}

}  // namespace akt::server

// `aktsync attach RECORD FIELD FILE`: a photo taken offline, kept beside the device database and set on
// the record as its attachment reference; `sync` uploads it after pushing (PROTOCOL §14).
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "clients/attachments.hpp"
#include "clients/cli.hpp"
#include "clients/sync_client.hpp"

namespace akt::client::cli {
namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string media_type_of(const std::string& path) {
  auto ends = [&](const char* s) {
    const std::string x(s);
    return path.size() >= x.size() && path.compare(path.size() - x.size(), x.size(), x) == 0;
  };
  if (ends(".png") || ends(".PNG")) return "image/png";
  if (ends(".webp") || ends(".WEBP")) return "image/webp";
  return "image/jpeg";
}

}  // namespace

int cmd_attach(const Args& a, store::TabletStore& store) {
  if (a.positional.size() != 3) return fail(kUsage, "attach needs RECORD FIELD FILE");
  for (const auto& [name, values] : a.opts)
    if (name != "type") return fail(kUsage, "attach: unknown option --" + name);
  const std::string& record_id = a.positional[0];
  const std::string& field = a.positional[1];
  std::ifstream in(a.positional[2], std::ios::binary);
  if (!in) return fail(kError, "attach: cannot read " + a.positional[2]);
  std::ostringstream ss;
  ss << in.rdbuf();
  auto rec = store.record(record_id);
  if (!rec.ok()) return fail_status(rec.status(), "attach");
  if (!*rec || (*rec)->live.empty() || (*rec)->is_deleted())
    return fail(kError, "attach: no live record " + record_id + " in this database (see aktsync list)");
  auto box = AttachmentBox::open(AttachmentBox::dir_for_database(a.db));
  if (!box.ok()) return fail_status(box.status(), "attach");
  const std::string* type = a.opt("type");
  auto ref = box->add(ss.str(), type ? *type : media_type_of(a.positional[2]));
  if (!ref.ok()) return fail(kUsage, "attach: " + ref.status().message());
  // The photo field is set on the version the user sees as current, like `edit --set`.
  nlohmann::json body = nlohmann::json::parse((*rec)->live[(*rec)->current].body, nullptr, false);
  if (!body.is_object()) return fail(kError, "attach: the record's body is not an object");
  body[field] = sync::format_attachment_ref(*ref);
  auto dot = store.edit(record_id, body.dump(), {field}, wall_ms());
  if (!dot.ok()) return fail_status(dot.status(), "attach");
  std::printf("attached %s (%lld bytes) as %s of %s (edit %lld, not synced yet)\n", ref->digest.c_str(),
              static_cast<long long>(ref->size), field.c_str(), record_id.c_str(), static_cast<long long>(dot->n));
  return kOk;
}

int sync_attachments(const Args& a, store::TabletStore& store, const std::string& host, std::uint16_t port,
                     HttpOptions options) {
  auto box = AttachmentBox::open(AttachmentBox::dir_for_database(a.db));
  if (!box.ok()) return fail_status(box.status(), "attachments");
  if (box->unsent().empty()) return kOk;
  auto dev = store.device();
  if (!dev.ok()) return fail_status(dev.status(), "attachments");
  UploadOptions o;
  // As the records' retries: for a time budget (--retry-for, default 10 min), not a count, unless --attempts.
  o.max_attempts = 0;
  o.retry_for = std::chrono::minutes(10);
  if (const std::string* v = a.opt("attempts")) o.max_attempts = std::max(1, std::atoi(v->c_str()));
  if (const std::string* v = a.opt("retry-for")) (void)parse_duration(*v, o.retry_for);  // checked by sync
  // Chunks of about three seconds of link time (UploadOptions::chunk_time); AKTSYNC_CHUNK_BYTES fixes them.
  o.chunk_time = std::chrono::seconds(3);
  o.chunk_bytes = 32 * 1024;
  if (const char* chunk = std::getenv("AKTSYNC_CHUNK_BYTES")) {
    o.chunk_bytes = static_cast<std::size_t>(std::max(1024, std::atoi(chunk)));
    o.chunk_time = std::chrono::milliseconds(0);
  }
  options.gzip_requests = false;
  // Every lost answer reaches the uploader, which asks the server's offset before sending again: a blind
  // resend on a fresh connection would send a chunk the server may already hold.
  options.retry_stale_connection = false;
  HttpClient http(host, port, options);
  auto s = upload_attachments(*box, http_transport(http), dev->config.token, o);
  if (!s.ok()) {
    if (s.status().code() == Status::Code::kIOError) return fail(kUnreachable, "attachments: " + s.status().message());
    return fail_status(s.status(), "attachments");
  }
  std::printf("photos     %zu sent, %zu already held, %llu of %llu bytes on the wire, %zu resumed\n", s->files,
              s->skipped, static_cast<unsigned long long>(s->bytes_sent),
              static_cast<unsigned long long>(s->file_bytes), s->resumes);
  return kOk;
}

}  // namespace akt::client::cli

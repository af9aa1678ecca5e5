// A tablet's attachment box and the resumable upload (PROTOCOL §14.2, §14.3).
#include "clients/attachments.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "schema/store/db.hpp"
#include "sync/hex.hpp"

namespace akt::client {
namespace {

using nlohmann::json;

std::string sha256_hex(std::string_view bytes) {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  return sync::to_hex(md, len);
}

Status write_file_durably(const std::string& dir, const std::string& name, std::string_view bytes) {
  const std::string tmp = dir + "/." + name + ".tmp", path = dir + "/" + name;
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::io_error("cannot create " + tmp + ": " + std::strerror(errno));
  std::size_t at = 0;
  while (at < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + at, bytes.size() - at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    at += static_cast<std::size_t>(n);
  }
  const bool ok = at == bytes.size() && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status::io_error("cannot write " + path + ": " + std::strerror(errno));
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) ::fsync(dfd), ::close(dfd);
  return {};
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

Result<AttachmentBox> AttachmentBox::open(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Status::io_error("cannot create " + dir + ": " + std::strerror(errno));
  return AttachmentBox(dir);
}

Result<sync::AttachmentRef> AttachmentBox::add(const std::string& bytes, const std::string& media_type) {
  if (bytes.empty()) return Status::invalid_argument("the file is empty");
  if (!sync::is_attachment_media_type(media_type))
    return Status::invalid_argument("media type must be image/jpeg, image/png or image/webp");
  sync::AttachmentRef ref{sha256_hex(bytes), static_cast<std::int64_t>(bytes.size()), media_type};
  if (!exists(dir_ + "/" + ref.digest)) AKT_TRY(write_file_durably(dir_, ref.digest, bytes));
  // The media type travels with the upload; kept beside the file.
  AKT_TRY(write_file_durably(dir_, ref.digest + ".type", media_type));
  return ref;
}

std::vector<sync::AttachmentRef> AttachmentBox::unsent() const {
  std::vector<sync::AttachmentRef> out;
  DIR* d = ::opendir(dir_.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (!sync::is_digest_hex(name) || exists(dir_ + "/" + name + ".sent")) continue;
    struct stat st {};
    if (::stat((dir_ + "/" + name).c_str(), &st) != 0) continue;
    std::ifstream t(dir_ + "/" + name + ".type");
    std::string type;
    std::getline(t, type);
    out.push_back({name, static_cast<std::int64_t>(st.st_size), type.empty() ? "image/jpeg" : type});
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.digest < b.digest; });
  return out;
}

Status AttachmentBox::mark_sent(const std::string& digest) { return write_file_durably(dir_, digest + ".sent", ""); }

Result<std::string> AttachmentBox::read(const std::string& digest) const {
  std::ifstream in(dir_ + "/" + digest, std::ios::binary);
  if (!in) return Status::not_found("no attachment " + digest);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {

struct Uploader {
  const Transport& transport;
  const std::string& token;
  const UploadOptions& options;
  UploadSummary& summary;
  int failures = 0;
  std::chrono::milliseconds failing_for{0};  // waits since the first of the failures in a row
  std::chrono::steady_clock::time_point first_failure{};
  std::size_t chunk = 0;          // the next chunk's size
  std::size_t server_max = 0;     // the server's max_chunk (0 = not said)

  Headers headers(const char* content_type) const {
    return {{"Authorization", "Bearer " + token}, {"Content-Type", content_type}};
  }
  std::chrono::steady_clock::time_point now() const {
    return options.now ? options.now() : std::chrono::steady_clock::now();
  }
  void progressed() {
    failures = 0;
    failing_for = std::chrono::milliseconds(0);
  }
  // Counts a failure and waits before the next try; kIOError once max_attempts failures came in a row,
  // or once they would last longer than retry_for.
  Status failed(const std::string& why) {
    if (failures == 0) first_failure = now();
    ++failures;
    if (options.max_attempts > 0 && failures >= options.max_attempts)
      return Status::io_error("attachment upload: " + why + " (" + std::to_string(failures) + " failures in a row)");
    auto wait = options.backoff_initial * (1 << std::min(failures - 1, 10));
    wait = std::min(wait, options.backoff_max);
    const auto spent = std::max(failing_for, std::chrono::duration_cast<std::chrono::milliseconds>(now() - first_failure));
    if (options.retry_for.count() > 0 && spent + wait > options.retry_for)
      return Status::io_error("attachment upload: " + why + " (failing for " + std::to_string(spent.count() / 1000) +
                              " s)");
    if (options.sleep) options.sleep(wait);
    else std::this_thread::sleep_for(wait);
    failing_for += wait;
    return {};
  }
  // The size of the next chunk after one of `n` bytes was acknowledged `took` after it was sent.
  void sized(std::size_t n, std::chrono::steady_clock::duration took) {
    // Only whole chunks: a file's short last piece is mostly round trip and would understate the link.
    if (options.chunk_time.count() <= 0 || n < bounded(chunk)) return;
    const double secs = std::chrono::duration<double>(took).count();
    const double target = options.chunk_time.count() / 1000.0;
    // n bytes in `secs` (a round trip included): `target` seconds hold n * target / secs bytes.
    double next = secs > 0 ? static_cast<double>(n) * target / secs : 2.0 * static_cast<double>(chunk);
    next = std::min(next, 2.0 * static_cast<double>(chunk));  // one fast chunk does not make a fast link
    chunk = bounded(static_cast<std::size_t>(next));
  }
  // `n` within the adaptive bounds (when sizing by time) and the server's largest chunk.
  std::size_t bounded(std::size_t n) const {
    if (options.chunk_time.count() > 0)
      n = std::clamp(n, options.min_chunk_bytes, std::max(options.min_chunk_bytes, options.max_chunk_bytes));
    if (server_max > 0) n = std::min(n, server_max);
    return std::max<std::size_t>(n, 1);
  }
  // A 429 is no failure of the link: wait the Retry-After (at most a minute) and try again, uncounted. The
  // answer came through, so the link works: the count of failures in a row starts again (otherwise the
  // faults of a bad link between throttled tries would add up to max_attempts while the server is only busy).
  bool throttled(const Result<HttpResult>& r) {
    if (!r.ok() || r->status != 429) return false;
    progressed();
    const int secs = std::clamp(std::atoi(r->header("retry-after").c_str()), 1, 60);
    if (options.sleep) options.sleep(std::chrono::seconds(secs));
    else std::this_thread::sleep_for(std::chrono::seconds(secs));
    return true;
  }
  static Status refused(const HttpResult& r, const std::string& what) {
    auto [code, detail] = problem_of(r.body);
    const std::string why = what + ": HTTP " + std::to_string(r.status) + " " + code + ": " + detail;
    if (r.status == 401) return Status::unauthenticated(why);
    if (r.status == 403) return Status::forbidden(why);
    if (code == "digest_mismatch") return Status::corruption(why);
    return Status::invalid_argument(why);
  }

  // Asks the server's offset of upload `id` (PROTOCOL §14.2 step 2) after an answer was lost: a chunk it
  // stored is not sent again, and an upload the lost answer completed says so (creating it again would
  // start a new one from zero). An upload the server no longer has is created again.
  Status where(const sync::AttachmentRef& ref, std::string& id, std::int64_t& offset, bool& complete) {
    for (;;) {
      auto r = transport("GET", "/v1/uploads/" + id, {}, headers("application/json"));
      if (r.ok() && r->status == 200) {
        const json j = json::parse(r->body, nullptr, false);
        if (!j.is_object() || !j.contains("offset") || !j["offset"].is_number_integer())
          return Status::corruption("attachment upload: unexpected answer " + r->body.substr(0, 200));
        offset = j["offset"].get<std::int64_t>();
        complete = j.value("complete", false);
        return {};
      }
      if (r.ok() && r->status == 404) {
        // Expired, or finished by the chunk whose answer was lost: the server says which (§14.3).
        bool held = false;
        AKT_TRY(holds(ref.digest, held));
        if (!held) return open(ref, id, offset, complete);
        offset = ref.size;
        complete = true;
        return {};
      }
      if (throttled(r)) continue;
      if (r.ok() && r->status < 500) return refused(*r, "upload offset");
      AKT_TRY(failed(r.ok() ? "HTTP " + std::to_string(r->status) : r.status().message()));
    }
  }

  // Whether the server holds the file `digest` from this device (POST /v1/blobs/missing for it alone).
  Status holds(const std::string& digest, bool& held) {
    for (;;) {
      auto r = transport("POST", "/v1/blobs/missing", json{{"v", 1}, {"digests", json::array({digest})}}.dump(),
                         headers("application/json"));
      if (r.ok() && r->status == 200) {
        const json j = json::parse(r->body, nullptr, false);
        if (!j.is_object() || !j.contains("missing") || !j["missing"].is_array())
          return Status::corruption("missing query: unexpected answer");
        held = std::find(j["missing"].begin(), j["missing"].end(), json(digest)) == j["missing"].end();
        return {};
      }
      if (throttled(r)) continue;
      if (r.ok() && r->status < 500) return refused(*r, "missing query");
      AKT_TRY(failed(r.ok() ? "HTTP " + std::to_string(r->status) : r.status().message()));
    }
  }

  // Creates (or finds again) the device's upload of `ref`: its id, the server's offset, and whether done.
  Status open(const sync::AttachmentRef& ref, std::string& id, std::int64_t& offset, bool& complete) {
    const json req{{"v", 1}, {"digest", ref.digest}, {"size", ref.size}, {"type", ref.media_type}};
    for (;;) {
      auto r = transport("POST", "/v1/uploads", req.dump(), headers("application/json"));
      if (r.ok() && (r->status == 200 || r->status == 201)) {
        const json j = json::parse(r->body, nullptr, false);
        if (!j.is_object() || !j.contains("upload") || !j["upload"].is_string() || !j.contains("offset"))
          return Status::corruption("attachment upload: unexpected answer " + r->body.substr(0, 200));
        id = j["upload"].get<std::string>();
        offset = j["offset"].get<std::int64_t>();
        complete = j.value("complete", false);
        if (auto m = j.find("max_chunk"); m != j.end() && m->is_number_unsigned() && m->get<std::uint64_t>() > 0)
          server_max = static_cast<std::size_t>(std::min<std::uint64_t>(m->get<std::uint64_t>(), 1u << 30));
        return {};
      }
      if (throttled(r)) continue;
      if (r.ok() && r->status < 500) return refused(*r, "create upload");
      AKT_TRY(failed(r.ok() ? "HTTP " + std::to_string(r->status) : r.status().message()));
    }
  }

  Status send(const sync::AttachmentRef& ref, const std::string& bytes) {
    std::string id;
    std::int64_t offset = 0;
    bool complete = false;
    AKT_TRY(open(ref, id, offset, complete));
    if (offset > 0) ++summary.resumes;
    while (!complete) {
      const std::size_t n = std::min<std::size_t>(bounded(chunk), bytes.size() - static_cast<std::size_t>(offset));
      Headers h = headers("application/offset+octet-stream");
      h.emplace_back("Upload-Offset", std::to_string(offset));
      summary.bytes_sent += n;
      ++summary.chunks;
      const auto sent_at = now();
      auto r = transport("PATCH", "/v1/uploads/" + id, bytes.substr(static_cast<std::size_t>(offset), n), h);
      if (r.ok() && r->status == 200) {
        const json j = json::parse(r->body, nullptr, false);
        if (!j.is_object() || !j.contains("offset")) return Status::corruption("attachment upload: bad answer");
        offset = j["offset"].get<std::int64_t>();
        complete = j.value("complete", false);
        progressed();  // the link works again
        sized(n, now() - sent_at);
        continue;
      }
      if (r.ok() && r->status == 409) {  // the server holds another offset: continue from there
        const json j = json::parse(r->body, nullptr, false);
        if (!j.is_object() || !j.contains("offset")) return Status::corruption("attachment upload: bad 409");
        offset = j["offset"].get<std::int64_t>();
        continue;
      }
      if (r.ok() && r->status == 404) {  // expired, or finished meanwhile: open again
        AKT_TRY(open(ref, id, offset, complete));
        continue;
      }
      if (throttled(r)) continue;
      if (r.ok() && r->status < 500) return refused(*r, "upload chunk");
      // The answer never came (or 5xx): the chunk may or may not be stored. Ask where the server is, and
      // send smaller chunks while the link is this bad.
      if (!r.ok()) {
        ++summary.lost_chunks;
        if (options.chunk_time.count() > 0) chunk = bounded(bounded(chunk) / 2);
      }
      AKT_TRY(failed(r.ok() ? "HTTP " + std::to_string(r->status) : r.status().message()));
      AKT_TRY(where(ref, id, offset, complete));
      if (offset > 0) ++summary.resumes;
    }
    summary.file_bytes += bytes.size();
    ++summary.files;
    return {};
  }
};

}  // namespace

Result<UploadSummary> upload_attachments(AttachmentBox& box, const Transport& transport, const std::string& token,
                                         const UploadOptions& options) {
  UploadSummary summary;
  const auto unsent = box.unsent();
  if (unsent.empty()) return summary;
  Uploader up{transport, token, options, summary};
  up.chunk = up.bounded(options.chunk_bytes);
  // One question for the whole list (in pieces of 1000): which files does the server lack from us?
  std::vector<std::string> missing;
  for (std::size_t at = 0; at < unsent.size(); at += 1000) {
    json digests = json::array();
    for (std::size_t i = at; i < std::min(unsent.size(), at + 1000); ++i) digests.push_back(unsent[i].digest);
    for (;;) {
      auto r = transport("POST", "/v1/blobs/missing", json{{"v", 1}, {"digests", digests}}.dump(),
                         up.headers("application/json"));
      if (r.ok() && r->status == 200) {
        const json j = json::parse(r->body, nullptr, false);
        if (!j.is_object() || !j.contains("missing") || !j["missing"].is_array())
          return Status::corruption("missing query: unexpected answer");
        for (const auto& d : j["missing"])
          if (d.is_string()) missing.push_back(d.get<std::string>());
        up.progressed();
        break;
      }
      if (up.throttled(r)) continue;
      if (r.ok() && r->status < 500) return Uploader::refused(*r, "missing query");
      AKT_TRY(up.failed(r.ok() ? "HTTP " + std::to_string(r->status) : r.status().message()));
    }
  }
  for (const auto& ref : unsent) {
    if (std::find(missing.begin(), missing.end(), ref.digest) == missing.end()) {
      ++summary.skipped;
      AKT_TRY(box.mark_sent(ref.digest));
      continue;
    }
    auto bytes = box.read(ref.digest);
    if (!bytes.ok()) return bytes.status();
    AKT_TRY(up.send(ref, *bytes));
    AKT_TRY(box.mark_sent(ref.digest));
  }
  summary.last_chunk_bytes = up.chunk;
  return summary;
}

}  // namespace akt::client

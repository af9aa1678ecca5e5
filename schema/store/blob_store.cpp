// Attachment files: the interface's shared parts and the data folder's files (see blob_store.hpp for the
// invariants).
#include "schema/store/blob_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <set>

#include <openssl/evp.h>

#include "schema/store/db.hpp"
#include "sync/attachment_ref.hpp"
#include "sync/hex.hpp"

namespace akt::store {
namespace {

Status io_error(const std::string& what, const std::string& path) {
  return Status::io_error(what + " " + path + ": " + std::strerror(errno));
}

bool valid_upload_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

Status make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) == 0 || errno == EEXIST) return {};
  return io_error("cannot create", path);
}

Status fsync_dir(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open", path);
  const int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status() : io_error("cannot fsync", path);
}

Status write_all(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return io_error("cannot write", path);
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

// SHA-256 of a file's bytes as lowercase hex; empty when it cannot be read.
std::string file_sha256(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::string buf(1 << 16, '\0');
  bool ok = true;
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ok = false;
    if (n <= 0) break;
    EVP_DigestUpdate(ctx, buf.data(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  unsigned char md[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  if (!ok) return {};
  return sync::to_hex(md, len);
}

}  // namespace

std::string sha256_hex_of(std::string_view bytes) {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  return sync::to_hex(md, len);
}

FileBlobStore::FileBlobStore(std::string data_dir) : blobs_(data_dir + "/blobs"), uploads_(data_dir + "/uploads") {}

Result<std::unique_ptr<FileBlobStore>> FileBlobStore::open(const std::string& data_dir) {
  std::unique_ptr<FileBlobStore> s(new FileBlobStore(data_dir));
  AKT_TRY(make_dir(s->blobs_));
  AKT_TRY(make_dir(s->uploads_));
  return s;
}

std::string FileBlobStore::path_of(const std::string& digest) const {
  return blobs_ + "/" + digest.substr(0, 2) + "/" + digest.substr(2, 2) + "/" + digest;
}

bool FileBlobStore::has(const std::string& digest) const {
  if (!sync::is_digest_hex(digest)) return false;
  struct stat st {};
  return ::stat(path_of(digest).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<std::int64_t> FileBlobStore::size_of(const std::string& digest) const {
  struct stat st {};
  if (!sync::is_digest_hex(digest) || ::stat(path_of(digest).c_str(), &st) != 0) return Status::not_found("blob");
  return static_cast<std::int64_t>(st.st_size);
}

Result<std::int64_t> FileBlobStore::written_ms(const std::string& digest) const {
  struct stat st {};
  if (!sync::is_digest_hex(digest) || ::stat(path_of(digest).c_str(), &st) != 0) return Status::not_found("blob");
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
}

namespace {

// An open blob file: the descriptor keeps the bytes readable even if the file is removed meanwhile.
class FileBlobReader final : public BlobReader {
 public:
  explicit FileBlobReader(int fd) : fd_(fd) {}
  ~FileBlobReader() override { ::close(fd_); }
  Status read(std::string& out, std::size_t max) override {
    out.resize(max);
    for (;;) {
      const ssize_t n = ::read(fd_, out.data(), out.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        out.clear();
        return Status::io_error(std::string("cannot read an attachment file: ") + std::strerror(errno));
      }
      out.resize(static_cast<std::size_t>(n));
      return {};
    }
  }

 private:
  int fd_;
};

}  // namespace

Result<std::unique_ptr<BlobReader>> FileBlobStore::open_reader(const std::string& digest, std::int64_t offset) const {
  if (!sync::is_digest_hex(digest)) return Status::not_found("blob");
  const int fd = ::open(path_of(digest).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::not_found("blob");
  auto reader = std::make_unique<FileBlobReader>(fd);
  if (offset != 0 && ::lseek(fd, offset, SEEK_SET) != offset) return io_error("cannot seek", path_of(digest));
  return std::unique_ptr<BlobReader>(std::move(reader));
}

Result<std::int64_t> FileBlobStore::part_size(const std::string& upload_id) const {
  if (!valid_upload_id(upload_id)) return Status::invalid_argument("upload id");
  struct stat st {};
  const std::string path = uploads_ + "/" + upload_id + ".part";
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::int64_t{-1};
    return io_error("cannot stat", path);
  }
  return static_cast<std::int64_t>(st.st_size);
}

Result<std::int64_t> FileBlobStore::part_mtime_ms(const std::string& upload_id) const {
  if (!valid_upload_id(upload_id)) return Status::invalid_argument("upload id");
  struct stat st {};
  if (::stat((uploads_ + "/" + upload_id + ".part").c_str(), &st) != 0) return std::int64_t{0};
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
}

Status FileBlobStore::start_part(const std::string& upload_id) {
  if (!valid_upload_id(upload_id)) return Status::invalid_argument("upload id");
  const std::string path = uploads_ + "/" + upload_id + ".part";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot create", path);
  ::close(fd);
  return fsync_dir(uploads_);
}

Status FileBlobStore::append(const std::string& upload_id, std::int64_t offset, std::string_view bytes) {
  if (!valid_upload_id(upload_id)) return Status::invalid_argument("upload id");
  const std::string path = uploads_ + "/" + upload_id + ".part";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot open", path);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size != offset) {
    ::close(fd);
    return Status::conflict("the upload holds " + std::to_string(st.st_size) + " bytes");
  }
  Status s;
  if (::lseek(fd, offset, SEEK_SET) < 0) s = io_error("cannot seek", path);
  if (s.ok()) s = write_all(fd, bytes, path);
  // Acknowledged bytes are on disk: a resume after a crash continues after them.
  if (s.ok() && ::fsync(fd) != 0) s = io_error("cannot fsync", path);
  if (!s.ok() && ::ftruncate(fd, offset) == 0) ::fsync(fd);
  ::close(fd);
  return s;
}

Status FileBlobStore::promote(const std::string& upload_id, const std::string& digest) {
  if (!valid_upload_id(upload_id) || !sync::is_digest_hex(digest)) return Status::invalid_argument("upload id or digest");
  const std::string part = uploads_ + "/" + upload_id + ".part";
  const std::string actual = file_sha256(part);
  if (actual.empty()) return io_error("cannot read", part);
  if (actual != digest) {
    ::unlink(part.c_str());
    return Status::invalid_argument("the bytes have SHA-256 " + actual + ", not " + digest);
  }
  if (has(digest)) {  // stored before by another upload: keep one copy (invariant 2)
    ::unlink(part.c_str());
    return {};
  }
  const std::string d1 = blobs_ + "/" + digest.substr(0, 2), d2 = d1 + "/" + digest.substr(2, 2);
  AKT_TRY(make_dir(d1));
  AKT_TRY(make_dir(d2));
  AKT_TRY(fsync_dir(blobs_));
  AKT_TRY(fsync_dir(d1));
  // The partial was fsynced after its last append; rename makes it visible whole, or not at all.
  if (::rename(part.c_str(), path_of(digest).c_str()) != 0) return io_error("cannot rename", part);
  AKT_TRY(fsync_dir(d2));
  return fsync_dir(uploads_);
}

Status FileBlobStore::remove_part(const std::string& upload_id) {
  if (!valid_upload_id(upload_id)) return Status::invalid_argument("upload id");
  const std::string path = uploads_ + "/" + upload_id + ".part";
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return io_error("cannot remove", path);
  return {};
}

std::vector<std::string> FileBlobStore::part_ids() const {
  std::vector<std::string> out;
  DIR* d = ::opendir(uploads_.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".part") == 0) out.push_back(name.substr(0, name.size() - 5));
  }
  ::closedir(d);
  return out;
}

Status BlobStore::put(std::string_view bytes, std::string* digest_out) {
  const std::string digest = sha256_hex_of(bytes);
  if (digest_out) *digest_out = digest;
  if (has(digest)) return {};
  // A private upload id (uploads have 32 hex digits, this one 32 too, starting "ff"): promote() does the rest.
  const std::string id = "ff" + digest.substr(0, 30);
  AKT_TRY(remove_part(id));
  AKT_TRY(start_part(id));
  AKT_TRY(append(id, 0, bytes));
  return promote(id, digest);
}

std::vector<std::string> FileBlobStore::digests() const {
  std::vector<std::string> out;
  DIR* top = ::opendir(blobs_.c_str());
  if (!top) return out;
  while (dirent* a = ::readdir(top)) {
    if (a->d_name[0] == '.') continue;
    const std::string da = blobs_ + "/" + a->d_name;
    DIR* mid = ::opendir(da.c_str());
    if (!mid) continue;
    while (dirent* b = ::readdir(mid)) {
      if (b->d_name[0] == '.') continue;
      const std::string db = da + "/" + b->d_name;
      DIR* leaf = ::opendir(db.c_str());
      if (!leaf) continue;
      while (dirent* c = ::readdir(leaf))
        if (sync::is_digest_hex(c->d_name)) out.emplace_back(c->d_name);
      ::closedir(leaf);
    }
    ::closedir(mid);
  }
  ::closedir(top);
  return out;
}

Status FileBlobStore::remove(const std::string& digest) {
  if (!sync::is_digest_hex(digest)) return Status::invalid_argument("digest");
  if (::unlink(path_of(digest).c_str()) != 0 && errno != ENOENT) return io_error("cannot remove", path_of(digest));
  return fsync_dir(blobs_ + "/" + digest.substr(0, 2) + "/" + digest.substr(2, 2));
}

Status copy_blobs(const BlobStore& from, BlobStore& to, BlobCopyReport& report) {
  constexpr std::size_t kPiece = 256 * 1024;
  report = BlobCopyReport();
  std::vector<std::string> all = from.digests();
  std::sort(all.begin(), all.end());
  std::string lines;
  for (const std::string& digest : all) {
    auto size = from.size_of(digest);
    if (!size.ok()) return size.status();
    lines += digest + "\n";
    ++report.count;
    report.bytes += *size;
    if (to.has(digest)) continue;
    // A private upload id per blob: "fe" and 30 hex digits of the digest.
    const std::string id = "fe" + digest.substr(0, 30);
    AKT_TRY(to.remove_part(id));
    AKT_TRY(to.start_part(id));
    auto reader = from.open_reader(digest, 0);
    if (!reader.ok()) return reader.status();
    std::int64_t at = 0;
    std::string piece;
    for (;;) {
      AKT_TRY((*reader)->read(piece, kPiece));
      if (piece.empty()) break;
      AKT_TRY(to.append(id, at, piece));
      at += static_cast<std::int64_t>(piece.size());
    }
    if (at != *size) return Status::io_error("blob " + digest + ": read " + std::to_string(at) + " of " +
                                             std::to_string(*size) + " bytes");
    Status promoted = to.promote(id, digest);  // hashes the bytes the target holds
    if (promoted.code() == Status::Code::kInvalidArgument)
      return Status::io_error("the blob copy does not verify: " + promoted.message());
    AKT_TRY(promoted);
    ++report.copied;
    report.added.push_back(digest);
  }
  // Read back: every digest of the source is at the target, with its size.
  const std::vector<std::string> there = to.digests();
  const std::set<std::string> at_target(there.begin(), there.end());
  for (const std::string& digest : all) {
    auto size = to.size_of(digest);
    if (!at_target.count(digest) || !size.ok() || *size != *from.size_of(digest))
      return Status::io_error("the blob copy does not verify: " + digest + " is missing or differs at the target");
  }
  report.digest = sha256_hex_of(lines);
  return {};
}

}  // namespace akt::store

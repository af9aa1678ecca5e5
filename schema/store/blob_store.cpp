// Attachment files: content-addressed blobs and partial uploads (see blob_store.hpp for the invariants).
#include "schema/store/blob_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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

BlobStore::BlobStore(std::string data_dir) : blobs_(data_dir + "/blobs"), uploads_(data_dir + "/uploads") {}

Result<std::unique_ptr<BlobStore>> BlobStore::open(const std::string& data_dir) {
  std::unique_ptr<BlobStore> s(new BlobStore(data_dir));
  AKT_TRY(make_dir(s->blobs_));
  AKT_TRY(make_dir(s->uploads_));
  return s;
}

std::string BlobStore::path_of(const std::string& digest) const {
  return blobs_ + "/" + digest.substr(0, 2) + "/" + digest.substr(2, 2) + "/" + digest;
}

bool BlobStore::has(const std::string& digest) const {
  if (!sync::is_digest_hex(digest)) return false;
  struct stat st {};
  return ::stat(path_of(digest).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<std::int64_t> BlobStore::size_of(const std::string& digest) const {
  struct stat st {};
  if (!sync::is_digest_hex(digest) || ::stat(path_of(digest).c_str(), &st) != 0) return Status::not_found("blob");
  return static_cast<std::int64_t>(st.st_size);
}

Result<std::int64_t> BlobStore::part_size(const std::string& upload_id) const {
  if (!valid_upload_id(upload_id)) return Status::invalid_argument("upload id");
  struct stat st {};
  const std::string path = uploads_ + "/" + upload_id + ".part";
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::int64_t{-1};
    return io_error("cannot stat", path);
  }
  return static_cast<std::int64_t>(st.st_size);
}

Result<std::int64_t> BlobStore::part_mtime_ms(const std::string& upload_id) const {
  if (!valid_upload_id(upload_id)) return Status::invalid_argument("upload id");
  struct stat st {};
  if (::stat((uploads_ + "/" + upload_id + ".part").c_str(), &st) != 0) return std::int64_t{0};
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
}

Status BlobStore::start_part(const std::string& upload_id) {
  if (!valid_upload_id(upload_id)) return Status::invalid_argument("upload id");
  const std::string path = uploads_ + "/" + upload_id + ".part";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot create", path);
  ::close(fd);
  return fsync_dir(uploads_);
}

Status BlobStore::append(const std::string& upload_id, std::int64_t offset, std::string_view bytes) {
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

Status BlobStore::promote(const std::string& upload_id, const std::string& digest) {
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

Status BlobStore::remove_part(const std::string& upload_id) {
  if (!valid_upload_id(upload_id)) return Status::invalid_argument("upload id");
  const std::string path = uploads_ + "/" + upload_id + ".part";
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return io_error("cannot remove", path);
  return {};
}

std::vector<std::string> BlobStore::part_ids() const {
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
  // A private temp upload id: the same path as an upload's, so promote() does the rest.
  const std::string id = "ff" + digest.substr(0, 30);
  AKT_TRY(remove_part(id));
  AKT_TRY(append(id, 0, bytes));
  return promote(id, digest);
}

std::vector<std::string> BlobStore::digests() const {
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

Status BlobStore::remove(const std::string& digest) {
  if (!sync::is_digest_hex(digest)) return Status::invalid_argument("digest");
  if (::unlink(path_of(digest).c_str()) != 0 && errno != ENOENT) return io_error("cannot remove", path_of(digest));
  return fsync_dir(blobs_ + "/" + digest.substr(0, 2) + "/" + digest.substr(2, 2));
}

}  // namespace akt::store

// `aktsyncd backup` / `aktsyncd restore`: the archive (tar + gzip), its checks, and putting a restore in
// place without a moment where the data folder holds no complete database. Notes:
//  1. Backup never stops the server: the database is copied with VACUUM INTO (one read transaction),
//     then blob files are added; blobs are immutable and content-addressed, so copying them after the
//     snapshot gives every blob the snapshot references (plus perhaps newer ones, which are harmless).
//  2. An archive is written to a temporary name, fsynced, and renamed: a FILE that exists is complete.
//  3. Restore takes the data folder's lock (a running server holds it), checks everything in a staging
//     folder, gives the staged database a new epoch and server actor, folds the old WAL into the old
//     database, keeps the old files in pre-restore-<time>/, and only then renames the staged database
//     over the live one (atomic). Nothing of the replaced data is deleted.
//  4. Archive entry names are checked against a fixed list before anything is written: an archive can
//     never write outside the staging folder or the blob store.
#include "server/backup.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "schema/store/backup_db.hpp"
#include "schema/store/blob_store.hpp"
#include "sync/status.hpp"
#include "server/config.hpp"

namespace akt::server {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kRoot = "aktsync-backup/";
constexpr std::size_t kBlock = 512;
constexpr std::size_t kMaxManifestBytes = 1 << 20;
constexpr std::size_t kMaxKeyBytes = 4096;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string utc_stamp(std::int64_t ms, const char* format) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

std::string errno_text() { return std::strerror(errno); }

Status fsync_path(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return Status::io_error("cannot open " + path + ": " + errno_text());
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Status::io_error("cannot fsync " + path + ": " + errno_text());
  return {};
}

// Writes `v` into a tar numeric field of `width` bytes: octal, or base-256 when it does not fit.
void tar_number(char* field, std::size_t width, std::uint64_t v) {
  const std::uint64_t octal_max = (std::uint64_t{1} << (3 * (width - 1))) - 1;
  if (v <= octal_max) {
    std::snprintf(field, width, "%0*llo", static_cast<int>(width - 1), static_cast<unsigned long long>(v));
    return;
  }
  std::memset(field, 0, width);
  field[0] = static_cast<char>(0x80);
  for (std::size_t i = width - 1; i > 0 && v != 0; --i, v >>= 8) field[i] = static_cast<char>(v & 0xFF);
}

std::optional<std::uint64_t> parse_tar_number(const char* field, std::size_t width) {
  std::uint64_t v = 0;
  if (static_cast<unsigned char>(field[0]) & 0x80) {
    for (std::size_t i = 1; i < width; ++i) {
      if (v >> 56) return std::nullopt;
      v = (v << 8) | static_cast<unsigned char>(field[i]);
    }
    return v;
  }
  std::size_t i = 0;
  while (i < width && field[i] == ' ') ++i;
  for (; i < width && field[i] >= '0' && field[i] <= '7'; ++i) {
    if (v >> 60) return std::nullopt;
    v = v * 8 + static_cast<std::uint64_t>(field[i] - '0');
  }
  if (i < width && field[i] != '\0' && field[i] != ' ') return std::nullopt;
  return v;
}

unsigned header_checksum(const char* h) {
  unsigned sum = 0;
  for (std::size_t i = 0; i < kBlock; ++i)
    sum += (i >= 148 && i < 156) ? unsigned{' '} : static_cast<unsigned char>(h[i]);
  return sum;
}

// A gzip-compressed ustar archive being written (notes 2 and 4).
class TarWriter {
 public:
  ~TarWriter() {
    if (gz_) gzclose_w(gz_);
  }
  Status open(const std::string& path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);  // it holds the pseudonym key
    if (fd_ < 0) return Status::io_error("cannot create " + path + ": " + errno_text());
    gz_ = gzdopen(fd_, "wb6");
    if (!gz_) return Status::io_error("cannot start compressing " + path);
    return {};
  }
  // Adds the file at `path` under `name` (relative to the archive root).
  Status add_file(const std::string& name, const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::io_error("cannot read " + path + ": " + errno_text());
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      return Status::io_error("cannot stat " + path + ": " + errno_text());
    }
    Status s = header(name, static_cast<std::uint64_t>(st.st_size));
    std::vector<char> buf(1 << 16);
    std::uint64_t left = static_cast<std::uint64_t>(st.st_size);
    while (s.ok() && left > 0) {
      const ssize_t n = ::read(fd, buf.data(), std::min<std::uint64_t>(buf.size(), left));
      if (n <= 0) {
        s = Status::io_error("cannot read " + path + (n < 0 ? ": " + errno_text() : ": it shrank while copied"));
        break;
      }
      s = write(buf.data(), static_cast<std::size_t>(n));
      left -= static_cast<std::uint64_t>(n);
    }
    ::close(fd);
    if (s.ok()) s = pad(static_cast<std::uint64_t>(st.st_size));
    return s;
  }
  Status add_bytes(const std::string& name, std::string_view bytes) {
    AKT_TRY(header(name, bytes.size()));
    AKT_TRY(write(bytes.data(), bytes.size()));
    return pad(bytes.size());
  }
  // Ends the archive, completes the gzip stream and makes it durable.
  Status finish() {
    const char zeros[2 * kBlock] = {};
    AKT_TRY(write(zeros, sizeof zeros));
    if (gzflush(gz_, Z_FINISH) != Z_OK) return Status::io_error("cannot finish the compressed archive");
    if (::fsync(fd_) != 0) return Status::io_error("cannot fsync the archive: " + errno_text());
    const int rc = gzclose_w(gz_);
    gz_ = nullptr;
    if (rc != Z_OK) return Status::io_error("cannot close the archive");
    return {};
  }
  std::uint64_t entries() const { return entries_; }

 private:
  Status header(const std::string& name, std::uint64_t size) {
    const std::string full = std::string(kRoot) + name;
    if (full.size() >= 100) return Status::invalid_argument("archive name too long: " + full);
    char h[kBlock] = {};
    std::memcpy(h, full.data(), full.size());
    tar_number(h + 100, 8, 0600);
    tar_number(h + 108, 8, 0);
    tar_number(h + 116, 8, 0);
    tar_number(h + 124, 12, size);
    tar_number(h + 136, 12, static_cast<std::uint64_t>(now_ms() / 1000));
    h[156] = '0';
    std::memcpy(h + 257, "ustar", 6);
    std::memcpy(h + 263, "00", 2);
    std::snprintf(h + 148, 8, "%06o", header_checksum(h));
    h[155] = ' ';
    ++entries_;
    return write(h, kBlock);
  }
  Status pad(std::uint64_t size) {
    const char zeros[kBlock] = {};
    const std::size_t rest = static_cast<std::size_t>(size % kBlock);
    return rest == 0 ? Status() : write(zeros, kBlock - rest);
  }
  Status write(const void* data, std::size_t n) {
    while (n > 0) {
      const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n, 1u << 30));
      if (gzwrite(gz_, data, chunk) != static_cast<int>(chunk))
        return Status::io_error("cannot write the archive (disk full?)");
      data = static_cast<const char*>(data) + chunk;
      n -= chunk;
    }
    return {};
  }
  int fd_ = -1;
  gzFile gz_ = nullptr;
  std::uint64_t entries_ = 0;
};

struct TarEntry {
  std::string name;  // relative to the archive root
  std::uint64_t size = 0;
  bool is_file = true;
};

// Reads a gzip-compressed ustar archive written by TarWriter (or by tar(1) from its files).
class TarReader {
 public:
  ~TarReader() {
    if (gz_) gzclose_r(gz_);
  }
  Status open(const std::string& path) {
    gz_ = gzopen(path.c_str(), "rb");
    if (!gz_) return Status::io_error("cannot open " + path + ": " + errno_text());
    gzbuffer(gz_, 1 << 16);
    return {};
  }
  // The next entry (nullopt at the end), its body not yet read. kInvalidArgument for a damaged archive.
  Result<std::optional<TarEntry>> next() {
    AKT_TRY(skip_rest());
    char h[kBlock];
    AKT_TRY(read_exact(h, kBlock));
    if (std::all_of(h, h + kBlock, [](char c) { return c == 0; })) return std::optional<TarEntry>();
    auto sum = parse_tar_number(h + 148, 8);
    if (!sum || *sum != header_checksum(h)) return Status::invalid_argument("damaged archive: bad header checksum");
    auto size = parse_tar_number(h + 124, 12);
    if (!size) return Status::invalid_argument("damaged archive: bad entry size");
    TarEntry e;
    std::string name(h, strnlen(h, 100));
    std::string prefix(h + 345, strnlen(h + 345, 155));
    if (!prefix.empty()) name = prefix + "/" + name;
    if (name.rfind(kRoot, 0) != 0 && name + "/" != kRoot)
      return Status::invalid_argument("not an aktsync backup: unexpected entry '" + name + "'");
    e.name = name.size() >= kRoot.size() ? name.substr(kRoot.size()) : std::string();
    e.size = *size;
    e.is_file = h[156] == '0' || h[156] == '\0';
    if (!e.is_file && h[156] != '5')
      return Status::invalid_argument("not an aktsync backup: entry '" + name + "' is not a file or folder");
    left_ = e.is_file ? e.size : 0;
    pad_ = e.is_file ? (kBlock - e.size % kBlock) % kBlock : 0;
    return std::optional<TarEntry>(std::move(e));
  }
  // Reads the current entry's body, in pieces, into `sink`.
  template <class Sink>
  Status read_body(Sink&& sink) {
    std::vector<char> buf(1 << 16);
    while (left_ > 0) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), left_));
      AKT_TRY(read_exact(buf.data(), n));
      left_ -= n;
      AKT_TRY(sink(std::string_view(buf.data(), n)));
    }
    return {};
  }

 private:
  Status skip_rest() {
    AKT_TRY(read_body([](std::string_view) { return Status(); }));
    char pad[kBlock];
    const std::size_t n = pad_;
    pad_ = 0;
    return read_exact(pad, n);
  }
  Status read_exact(char* out, std::size_t n) {
    while (n > 0) {
      const int got = gzread(gz_, out, static_cast<unsigned>(std::min<std::size_t>(n, 1u << 30)));
      if (got <= 0) return Status::invalid_argument("damaged or truncated archive");
      out += got;
      n -= static_cast<std::size_t>(got);
    }
    return {};
  }
  gzFile gz_ = nullptr;
  std::uint64_t left_ = 0;
  std::size_t pad_ = 0;
};

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// "blobs/ab/cd/abcd…" -> the digest; nullopt for any other name.
std::optional<std::string> blob_digest_of(std::string_view name) {
  if (name.size() != 6 + 6 + 64 || name.substr(0, 6) != "blobs/") return std::nullopt;
  const std::string_view d = name.substr(12);
  if (!is_hex(d) || name.substr(6, 6) != std::string(d.substr(0, 2)) + "/" + std::string(d.substr(2, 2)) + "/")
    return std::nullopt;
  return std::string(d);
}

// Splits our own words off `args`; the rest (--config, --data-dir…) configure the server as usual.
struct CommandArgs {
  Config config;
  std::string file;
  bool without_blobs = false;
};

Result<CommandArgs> parse_command(const std::vector<std::string>& args, const char* file_flag, bool allow_blobs_flag) {
  CommandArgs out;
  std::vector<const char*> rest{"aktsyncd"};
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == file_flag && i + 1 < args.size()) {
      out.file = args[++i];
    } else if (allow_blobs_flag && args[i] == "--without-blobs") {
      out.without_blobs = true;
    } else {
      rest.push_back(args[i].c_str());
    }
  }
  if (out.file.empty()) return Status::invalid_argument(std::string(file_flag) + " FILE is required");
  auto config = config_from_args(static_cast<int>(rest.size()), rest.data());
  if (!config.ok()) return config.status();
  // The archive holds SQLite's file; a PostgreSQL store is backed up with PostgreSQL's own tools.
  if (config->store.is_postgres())
    return Status::invalid_argument("store.engine is \"postgres\": back up and restore the database with pg_dump "
                                    "and pg_restore (the attachment files are in it), and the data folder's pseudonym.key "
                                    "with them (README, \"When to choose PostgreSQL\")");
  out.config = std::move(*config);
  return out;
}

// Removes a temporary file or folder when the command ends, whatever happens.
struct Cleanup {
  std::string path;
  ~Cleanup() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

// Keeps `src` as `dst`: a hard link when they share a file system, else a copy.
Status preserve(const std::string& src, const std::string& dst) {
  if (::link(src.c_str(), dst.c_str()) == 0) return {};
  std::error_code ec;
  fs::copy_file(src, dst, fs::copy_options::overwrite_existing, ec);
  if (ec) return Status::io_error("cannot keep " + src + " as " + dst + ": " + ec.message());
  return fsync_path(dst, false);
}

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "%s\n", message.c_str());
  return code;
}

int exit_code_of(const Status& st) {
  switch (st.code()) {
    case Status::Code::kInvalidArgument:
    case Status::Code::kCorruption:
    case Status::Code::kNotFound: return 2;
    case Status::Code::kBusy: return 3;
    default: return 1;
  }
}

}  // namespace

Result<int> lock_data_dir(const std::string& data_dir) {
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  const std::string path = data_dir + "/aktsyncd.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::io_error("cannot open " + path + ": " + errno_text());
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const bool busy = errno == EWOULDBLOCK;
    const std::string why = errno_text();
    ::close(fd);
    if (busy) return Status::busy("aktsyncd is running on " + data_dir + " (it holds " + path + ")");
    return Status::io_error("cannot lock " + path + ": " + why);
  }
  return fd;
}

int run_backup(const std::vector<std::string>& args) {
  auto cmd = parse_command(args, "--to", true);
  if (!cmd.ok()) return fail(2, cmd.status().message() + "\nusage: aktsyncd backup --config FILE --to ARCHIVE.tar.gz "
                                                         "[--without-blobs]");
  const Config& config = cmd->config;
  const std::string tmp = cmd->file + ".tmp-" + std::to_string(::getpid());
  const std::string db_copy = tmp + ".db";
  Cleanup clean_tmp{tmp}, clean_copy{db_copy};
  std::error_code ec;
  fs::remove(db_copy, ec);
  // 1. A consistent copy of the database, verified before anything else is written (note 1).
  if (Status st = store::snapshot_database(config.database_path(), db_copy); !st.ok())
    return fail(exit_code_of(st), "backup failed: " + st.message());
  auto summary = store::verify_database(db_copy);
  if (!summary.ok()) return fail(1, "backup failed: the copy does not verify: " + summary.status().message());
  // 2. The archive: database, pseudonym key, blobs, and the manifest last (it counts what came before).
  TarWriter tar;
  Status st = tar.open(tmp);
  if (st.ok()) st = tar.add_file("aktsync.db", db_copy);
  const bool has_key = fs::is_regular_file(config.pseudonym_key_path(), ec);
  if (st.ok() && has_key) st = tar.add_file("pseudonym.key", config.pseudonym_key_path());
  std::size_t blobs = 0;
  if (st.ok() && !cmd->without_blobs) {
    auto store = store::FileBlobStore::open(config.data_dir);
    if (!store.ok()) st = store.status();
    for (const std::string& d : store.ok() ? (*store)->digests() : std::vector<std::string>()) {
      if (!st.ok()) break;
      const std::string path = (*store)->path_of(d);
      if (!fs::exists(path, ec)) continue;  // removed by garbage collection meanwhile
      st = tar.add_file("blobs/" + d.substr(0, 2) + "/" + d.substr(2, 2) + "/" + d, path);
      ++blobs;
    }
  }
  const std::int64_t created = now_ms();
  nlohmann::json manifest{{"v", 1},
                          {"format", "aktsync-backup"},
                          {"created_at", created},
                          {"schema_version", summary->schema_version},
                          {"epoch", summary->epoch},
                          {"pseudonym_key", has_key},
                          {"blobs", cmd->without_blobs ? "separate" : "included"},
                          {"blob_count", blobs}};
  for (const auto& [table, n] : summary->counts) manifest["counts"][table] = n;
  if (st.ok()) st = tar.add_bytes("MANIFEST.json", manifest.dump(2) + "\n");
  if (st.ok()) st = tar.finish();
  if (st.ok() && ::rename(tmp.c_str(), cmd->file.c_str()) != 0)
    st = Status::io_error("cannot rename " + tmp + " to " + cmd->file + ": " + errno_text());
  if (st.ok()) st = fsync_path(fs::absolute(cmd->file).parent_path().string(), true);
  if (!st.ok()) return fail(exit_code_of(st), "backup failed: " + st.message());
  const auto bytes = fs::file_size(cmd->file, ec);
  std::printf("backup of %s written to %s: %llu bytes, schema %lld, epoch %s", config.data_dir.c_str(),
              cmd->file.c_str(), static_cast<unsigned long long>(ec ? 0 : bytes),
              static_cast<long long>(summary->schema_version), summary->epoch.c_str());
  for (const auto& [table, n] : summary->counts) std::printf(", %s %lld", table.c_str(), static_cast<long long>(n));
  std::printf(", blobs %s\n", cmd->without_blobs ? "not included (copy <data_dir>/blobs/ separately)"
                                                  : std::to_string(blobs).c_str());
  return 0;
}

int run_restore(const std::vector<std::string>& args) {
  auto cmd = parse_command(args, "--from", false);
  if (!cmd.ok()) return fail(2, cmd.status().message() + "\nusage: aktsyncd restore --config FILE --from ARCHIVE");
  const Config& config = cmd->config;
  auto lock = lock_data_dir(config.data_dir);
  if (!lock.ok())
    return fail(exit_code_of(lock.status()), "restore refused: " + lock.status().message() + "; stop it first");
  // 1. Everything into a staging folder of the data folder (same file system: the final rename is atomic).
  const std::string staging = config.data_dir + "/restore-staging";
  std::error_code ec;
  fs::remove_all(staging, ec);
  fs::create_directories(staging, ec);
  if (ec) return fail(1, "cannot create " + staging + ": " + ec.message());
  Cleanup clean_staging{staging};
  auto blob_store = store::FileBlobStore::open(config.data_dir);
  if (!blob_store.ok()) return fail(1, blob_store.status().message());
  TarReader tar;
  Status st = tar.open(cmd->file);
  std::string manifest_text;
  bool has_db = false, has_key = false;
  std::size_t blobs = 0;
  while (st.ok()) {
    auto e = tar.next();
    if (!e.ok()) {
      st = e.status();
      break;
    }
    if (!*e) break;
    const TarEntry& entry = **e;
    if (!entry.is_file) continue;
    if (entry.name == "MANIFEST.json" || entry.name == "pseudonym.key") {
      const std::size_t max = entry.name == "MANIFEST.json" ? kMaxManifestBytes : kMaxKeyBytes;
      if (entry.size > max) {
        st = Status::invalid_argument("not an aktsync backup: " + entry.name + " is too large");
        break;
      }
      std::string text;
      st = tar.read_body([&](std::string_view piece) {
        text.append(piece);
        return Status();
      });
      if (entry.name == "MANIFEST.json") {
        manifest_text = std::move(text);
      } else if (st.ok()) {
        has_key = true;
        std::ofstream out(staging + "/pseudonym.key", std::ios::binary);
        out << text;
        if (!out.flush()) st = Status::io_error("cannot write " + staging + "/pseudonym.key");
        ::chmod((staging + "/pseudonym.key").c_str(), 0600);
      }
    } else if (entry.name == "aktsync.db") {
      has_db = true;
      std::ofstream out(staging + "/aktsync.db", std::ios::binary);
      st = tar.read_body([&](std::string_view piece) {
        return out.write(piece.data(), static_cast<std::streamsize>(piece.size())) ? Status()
                                                                                   : Status::io_error("disk full?");
      });
      if (st.ok() && !out.flush()) st = Status::io_error("cannot write " + staging + "/aktsync.db");
    } else if (auto digest = blob_digest_of(entry.name)) {
      // A blob is held in memory to be verified: none is larger than the attachment limit.
      const std::uint64_t max_blob = std::max<std::uint64_t>(static_cast<std::uint64_t>(config.attachments.max_bytes),
                                                             std::uint64_t{256} << 20);
      if (entry.size > max_blob) {
        st = Status::invalid_argument("not an aktsync backup: blob " + *digest + " is too large");
        break;
      }
      std::string bytes;
      st = tar.read_body([&](std::string_view piece) {
        bytes.append(piece);
        return Status();
      });
      std::string stored;
      // put() verifies the SHA-256 against the name and keeps a file already there (blob_store.hpp).
      if (st.ok()) st = (*blob_store)->put(bytes, &stored);
      if (st.ok() && stored != *digest)
        st = Status::invalid_argument("damaged archive: blob " + *digest + " does not have that SHA-256");
      ++blobs;
    } else {
      st = Status::invalid_argument("not an aktsync backup: unexpected entry '" + entry.name + "'");
    }
  }
  if (!st.ok()) return fail(exit_code_of(st), "restore failed, nothing was changed: " + st.message());
  // 2. The checks: a manifest of ours, a database that verifies and holds what the manifest counted.
  auto manifest = nlohmann::json::parse(manifest_text, nullptr, false);
  if (!has_db || manifest.is_discarded() || !manifest.is_object() || manifest.value("format", "") != "aktsync-backup" ||
      manifest.value("v", 0) != 1)
    return fail(2, "restore failed, nothing was changed: " + cmd->file +
                       " is not an aktsync backup (no manifest or database in it)");
  auto summary = store::verify_database(staging + "/aktsync.db");
  if (!summary.ok())
    return fail(2, "restore failed, nothing was changed: the archived database does not verify: " +
                       summary.status().message());
  for (const auto& [table, n] : summary->counts) {
    const auto& counts = manifest["counts"];
    if (!counts.is_object() || !counts.contains(table) || counts[table] != n)
      return fail(2, "restore failed, nothing was changed: the archived database has " + std::to_string(n) + " " +
                         table + " rows, the manifest says otherwise");
  }
  if (manifest.value("blobs", "") == "included" && manifest.value("blob_count", std::size_t{0}) != blobs)
    return fail(2, "restore failed, nothing was changed: the archive holds " + std::to_string(blobs) +
                       " blobs, its manifest says " + manifest["blob_count"].dump());
  // 3. A new epoch and server actor (DESIGN §5), recorded in the audit log of the restored database.
  const std::int64_t now = now_ms();
  const std::string backup_time =
      utc_stamp(manifest.value("created_at", std::int64_t{0}), "%Y-%m-%dT%H:%M:%SZ");
  auto epoch = store::renew_epoch(staging + "/aktsync.db", now,
                                  "backup of " + backup_time + " (" + fs::path(cmd->file).filename().string() + ")");
  if (!epoch.ok()) return fail(1, "restore failed, nothing was changed: " + epoch.status().message());
  // 4. Keep the old files (note 3), then switch.
  if (Status c = store::checkpoint_database(config.database_path()); !c.ok())
    return fail(exit_code_of(c), "restore failed, nothing was changed: " + c.message());
  const std::string keep = config.data_dir + "/pre-restore-" + utc_stamp(now, "%Y%m%dT%H%M%SZ");
  fs::create_directories(keep, ec);
  if (ec) return fail(1, "restore failed, nothing was changed: cannot create " + keep + ": " + ec.message());
  if (fs::exists(config.database_path(), ec)) st = preserve(config.database_path(), keep + "/aktsync.db");
  const std::string key_path = config.pseudonym_key_path();
  if (st.ok() && has_key && fs::exists(key_path, ec)) st = preserve(key_path, keep + "/pseudonym.key");
  if (st.ok()) st = fsync_path(keep, true);
  if (!st.ok()) return fail(1, "restore failed, nothing was changed: " + st.message());
  if (has_key) {
    // The key may live outside the data folder: copy it beside its place, then rename.
    const std::string key_tmp = key_path + ".restore-tmp";
    fs::copy_file(staging + "/pseudonym.key", key_tmp, fs::copy_options::overwrite_existing, ec);
    if (!ec) ::chmod(key_tmp.c_str(), 0600);
    if (!ec && !fsync_path(key_tmp, false).ok()) ec = std::make_error_code(std::errc::io_error);
    if (ec || ::rename(key_tmp.c_str(), key_path.c_str()) != 0)
      return fail(1, "restore failed, nothing was changed: cannot put the pseudonym key in place at " + key_path);
  }
  for (const char* suffix : {"-wal", "-shm"}) fs::remove(config.database_path() + suffix, ec);
  if (::rename((staging + "/aktsync.db").c_str(), config.database_path().c_str()) != 0)
    return fail(1, "restore failed: cannot rename the restored database into place: " + errno_text() +
                       " (the previous database is kept in " + keep + ")");
  if (Status f = fsync_path(config.data_dir, true); !f.ok()) return fail(1, f.message());
  std::printf("restored %s from %s (backup of %s): new epoch %s (was %s); the previous database is kept in %s",
              config.data_dir.c_str(), cmd->file.c_str(), backup_time.c_str(), epoch->c_str(),
              summary->epoch.c_str(), keep.c_str());
  for (const auto& [table, n] : summary->counts) std::printf(", %s %lld", table.c_str(), static_cast<long long>(n));
  std::printf(", blobs %zu\n", blobs);
  return 0;
}

}  // namespace akt::server

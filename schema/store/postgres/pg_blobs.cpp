// Attachment files in PostgreSQL (pg_blobs.hpp): chunk rows, row-locked appends, promotion in one
// transaction, reads a slice at a time.
#include "schema/store/postgres/pg_blobs.hpp"

#include <algorithm>
#include <functional>

#include <openssl/evp.h>

#include "schema/store/postgres/pg_conn.hpp"
#include "schema/store/postgres/pg_migrations.hpp"
#include "sync/attachment_ref.hpp"
#include "sync/hex.hpp"

namespace akt::store {

using pg::PgConn;

namespace {

// The database's clock in ms since the epoch: every server of the database reads the same one.
constexpr const char* kNowMs = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

bool valid_upload_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// One bigint of the first row of a statement; `absent` when it returns no row.
Result<std::int64_t> one_int(const PgBlobStore& s, const std::string& sql, const std::string& key,
                             std::int64_t absent) {
  std::int64_t out = absent;
  Status st = s.with_conn([&](PgConn& c) {
    auto r = c.exec(sql, {pg::text(key)});
    if (!r.ok()) return r.status();
    out = r->rows() ? r->int64(0, 0) : absent;
    return Status();
  });
  if (!st.ok()) return st;
  return out;
}

class PgBlobReader final : public BlobReader {
 public:
  PgBlobReader(const PgBlobStore& s, std::string digest, std::int64_t at, std::int64_t size)
      : s_(s), digest_(std::move(digest)), at_(at), size_(size) {}
  Status read(std::string& out, std::size_t max) override {
    out.clear();
    if (at_ >= size_ || max == 0) return {};
    const std::int64_t n = at_ / PgBlobStore::kChunk, within = at_ % PgBlobStore::kChunk;
    const std::int64_t len = std::min({static_cast<std::int64_t>(max), PgBlobStore::kChunk - within, size_ - at_});
    AKT_TRY(s_.with_conn([&](PgConn& c) {
      auto r = c.exec("SELECT substring(data FROM $3::integer FOR $4::integer) FROM blob_chunks "
                      "WHERE digest = $1 AND n = $2::integer",
                      {pg::text(digest_), pg::int64(n), pg::int64(within + 1), pg::int64(len)});
      if (!r.ok()) return r.status();
      if (r->rows() == 1) out = r->str(0, 0);
      return Status();
    }));
    if (static_cast<std::int64_t>(out.size()) != len) {
      out.clear();
      return Status::io_error("cannot read the attachment " + digest_ + " (removed meanwhile, or damaged)");
    }
    at_ += len;
    return {};
  }

 private:
  const PgBlobStore& s_;
  std::string digest_;
  std::int64_t at_, size_;
};

}  // namespace

Result<std::unique_ptr<PgBlobStore>> PgBlobStore::open(const std::string& url) {
  std::unique_ptr<PgBlobStore> s(new PgBlobStore(url));
  auto conn = s->borrow();
  if (!conn.ok()) return conn.status();
  if (Status st = pg::migrate(**conn); !st.ok()) return st;
  s->give_back(std::move(*conn));
  return s;
}

PgBlobStore::PgBlobStore(std::string url) : url_(std::move(url)) {}
PgBlobStore::~PgBlobStore() = default;

Result<std::unique_ptr<PgConn>> PgBlobStore::borrow() const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
  }
  return PgConn::connect(url_);
}

void PgBlobStore::give_back(std::unique_ptr<PgConn> conn) const {
  if (!conn->is_idle()) return;  // broken, or left inside a transaction: never handed out again
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < 4) idle_.push_back(std::move(conn));
}

Status PgBlobStore::with_conn(const std::function<Status(PgConn&)>& fn) const {
  // Only single statements and idempotent ones run here: running fn again on a new connection after the
  // old one died is safe.
  Status st;
  for (int attempt = 0; attempt < 6; ++attempt) {
    auto conn = borrow();
    if (!conn.ok()) return conn.status();
    st = fn(**conn);
    const bool dead = !(*conn)->is_connected();
    give_back(std::move(*conn));
    if (st.ok() || !dead) return st;
  }
  return st;
}

Status PgBlobStore::in_transaction(const std::function<Status(PgConn&)>& fn) const {
  // A pooled connection that died while idle shows at BEGIN, before anything ran: take another one.
  Result<std::unique_ptr<PgConn>> conn = Status::busy("postgres: no connection");
  Status st;
  for (int attempt = 0; attempt < 6; ++attempt) {
    conn = borrow();
    if (!conn.ok()) return conn.status();
    st = (*conn)->exec_script("BEGIN ISOLATION LEVEL READ COMMITTED");
    if (st.ok() || (*conn)->is_connected()) break;
  }
  if (!st.ok()) return st;
  st = fn(**conn);
  if (st.ok()) st = (*conn)->exec_script("COMMIT");
  if (!st.ok()) (void)(*conn)->exec_script("ROLLBACK");
  give_back(std::move(*conn));
  return st;
}

bool PgBlobStore::has(const std::string& digest) const {
  if (!sync::is_digest_hex(digest)) return false;
  auto size = size_of(digest);
  return size.ok();
}

Result<std::int64_t> PgBlobStore::size_of(const std::string& digest) const {
  if (!sync::is_digest_hex(digest)) return Status::not_found("blob");
  auto size = one_int(*this, "SELECT size FROM blob_files WHERE digest = $1", digest, -1);
  if (!size.ok()) return size.status();
  if (*size < 0) return Status::not_found("blob");
  return *size;
}

Result<std::int64_t> PgBlobStore::written_ms(const std::string& digest) const {
  if (!sync::is_digest_hex(digest)) return Status::not_found("blob");
  auto at = one_int(*this, "SELECT written_ms FROM blob_files WHERE digest = $1", digest, -1);
  if (!at.ok()) return at.status();
  if (*at < 0) return Status::not_found("blob");
  return *at;
}

Result<std::unique_ptr<BlobReader>> PgBlobStore::open_reader(const std::string& digest, std::int64_t offset) const {
  auto size = size_of(digest);
  if (!size.ok()) return size.status();
  if (offset < 0 || offset > *size) return Status::invalid_argument("offset outside the blob");
  return std::unique_ptr<BlobReader>(std::make_unique<PgBlobReader>(*this, digest, offset, *size));
}

Result<std::int64_t> PgBlobStore::part_size(const std::string& upload_id) const {
  if (!valid_upload_id(upload_id)) return Status::invalid_argument("upload id");
  return one_int(*this, "SELECT size FROM upload_parts WHERE upload = $1", upload_id, -1);
}

Result<std::int64_t> PgBlobStore::part_mtime_ms(const std::string& upload_id) const {
  if (!valid_upload_id(upload_id)) return Status::invalid_argument("upload id");
  return one_int(*this, "SELECT touched_ms FROM upload_parts WHERE upload = $1", upload_id, 0);
}

Status PgBlobStore::start_part(const std::string& upload_id) {
  if (!valid_upload_id(upload_id)) return Status::invalid_argument("upload id");
  return in_transaction([&](PgConn& c) {
    auto gone = c.exec("DELETE FROM upload_parts WHERE upload = $1", {pg::text(upload_id)});
    if (!gone.ok()) return gone.status();
    auto made = c.exec(std::string("INSERT INTO upload_parts(upload, size, touched_ms) VALUES($1, 0, ") + kNowMs + ")",
                       {pg::text(upload_id)});
    return made.status();
  });
}

Status PgBlobStore::append(const std::string& upload_id, std::int64_t offset, std::string_view bytes) {
  if (!valid_upload_id(upload_id)) return Status::invalid_argument("upload id");
  return in_transaction([&](PgConn& c) {
    // As the file engine's open(O_CREAT): a partial that was never started starts empty.
    auto made = c.exec(std::string("INSERT INTO upload_parts(upload, size, touched_ms) VALUES($1, 0, ") + kNowMs +
                           ") ON CONFLICT DO NOTHING",
                       {pg::text(upload_id)});
    if (!made.ok()) return made.status();
    // The row lock: appends to one upload through any server take turns, and each sees the last one's size.
    auto row = c.exec("SELECT size FROM upload_parts WHERE upload = $1 FOR UPDATE", {pg::text(upload_id)});
    if (!row.ok()) return row.status();
    const std::int64_t held = row->rows() ? row->int64(0, 0) : 0;
    if (held != offset) return Status::conflict("the upload holds " + std::to_string(held) + " bytes");
    std::int64_t at = offset;
    std::string_view rest = bytes;
    if (at % kChunk != 0 && !rest.empty()) {  // fill the last, partly written chunk
      const std::size_t take = static_cast<std::size_t>(std::min<std::int64_t>(kChunk - at % kChunk, rest.size()));
      auto r = c.exec("UPDATE upload_part_chunks SET data = data || $3::bytea WHERE upload = $1 AND n = $2::integer",
                      {pg::text(upload_id), pg::int64(at / kChunk), pg::bytes(rest.substr(0, take))});
      if (!r.ok()) return r.status();
      if (r->affected() != 1) return Status::corruption("upload " + upload_id + " lacks its last chunk");
      at += static_cast<std::int64_t>(take);
      rest.remove_prefix(take);
    }
    while (!rest.empty()) {
      const std::size_t take = static_cast<std::size_t>(std::min<std::int64_t>(kChunk, rest.size()));
      auto r = c.exec("INSERT INTO upload_part_chunks(upload, n, data) VALUES($1, $2::integer, $3::bytea)",
                      {pg::text(upload_id), pg::int64(at / kChunk), pg::bytes(rest.substr(0, take))});
      if (!r.ok()) return r.status();
      at += static_cast<std::int64_t>(take);
      rest.remove_prefix(take);
    }
    auto grown = c.exec(std::string("UPDATE upload_parts SET size = $2::bigint, touched_ms = ") + kNowMs +
                            " WHERE upload = $1",
                        {pg::text(upload_id), pg::int64(at)});
    return grown.status();
  });  // acknowledged after COMMIT: a resume, through any server, continues after these bytes
}

Status PgBlobStore::promote(const std::string& upload_id, const std::string& digest) {
  if (!valid_upload_id(upload_id) || !sync::is_digest_hex(digest))
    return Status::invalid_argument("upload id or digest");
  Status mismatch;
  Status st = in_transaction([&](PgConn& c) {
    auto row = c.exec("SELECT size FROM upload_parts WHERE upload = $1 FOR UPDATE", {pg::text(upload_id)});
    if (!row.ok()) return row.status();
    if (row->rows() == 0) return Status::io_error("cannot read upload " + upload_id + ": it has no partial");
    const std::int64_t size = row->int64(0, 0);
    // The SHA-256 of the bytes the database holds, one chunk in memory at a time.
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
    std::int64_t hashed = 0;
    Status read;
    for (std::int64_t n = 0; n * kChunk < size; ++n) {
      auto chunk = c.exec("SELECT data FROM upload_part_chunks WHERE upload = $1 AND n = $2::integer",
                          {pg::text(upload_id), pg::int64(n)});
      if (!chunk.ok()) {
        read = chunk.status();
        break;
      }
      if (chunk->rows() != 1) {
        read = Status::corruption("upload " + upload_id + " lacks chunk " + std::to_string(n));
        break;
      }
      const std::string_view data = chunk->view(0, 0);
      EVP_DigestUpdate(ctx, data.data(), data.size());
      hashed += static_cast<std::int64_t>(data.size());
    }
    unsigned char md[32];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    if (!read.ok()) return read;
    if (hashed != size) return Status::corruption("upload " + upload_id + " holds " + std::to_string(hashed) +
                                                  " bytes in its chunks, " + std::to_string(size) + " in its row");
    const std::string actual = sync::to_hex(md, len);
    if (actual == digest) {
      // Visible whole or not at all: the blob row and its chunks commit together (invariant 1); a blob
      // stored before by another upload keeps its one copy (invariant 2).
      auto made = c.exec(std::string("INSERT INTO blob_files(digest, size, written_ms) VALUES($1, $2::bigint, ") +
                             kNowMs + ") ON CONFLICT DO NOTHING",
                         {pg::text(digest), pg::int64(size)});
      if (!made.ok()) return made.status();
      if (made->affected() == 1) {
        auto moved = c.exec("INSERT INTO blob_chunks(digest, n, data) SELECT $1, n, data FROM upload_part_chunks "
                            "WHERE upload = $2",
                            {pg::text(digest), pg::text(upload_id)});
        if (!moved.ok()) return moved.status();
      }
    } else {
      mismatch = Status::invalid_argument("the bytes have SHA-256 " + actual + ", not " + digest);
    }
    auto gone = c.exec("DELETE FROM upload_parts WHERE upload = $1", {pg::text(upload_id)});
    return gone.status();
  });
  if (!st.ok()) return st;
  return mismatch;
}

Status PgBlobStore::remove_part(const std::string& upload_id) {
  if (!valid_upload_id(upload_id)) return Status::invalid_argument("upload id");
  return with_conn([&](PgConn& c) {
    return c.exec("DELETE FROM upload_parts WHERE upload = $1", {pg::text(upload_id)}).status();
  });
}

std::vector<std::string> PgBlobStore::part_ids() const {
  std::vector<std::string> out;
  (void)with_conn([&](PgConn& c) {
    out.clear();
    auto r = c.exec("SELECT upload FROM upload_parts ORDER BY upload");
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->rows(); ++i) out.push_back(r->str(i, 0));
    return Status();
  });
  return out;
}

std::vector<std::string> PgBlobStore::digests() const {
  std::vector<std::string> out;
  (void)with_conn([&](PgConn& c) {
    out.clear();
    auto r = c.exec("SELECT digest FROM blob_files ORDER BY digest");
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->rows(); ++i) out.push_back(r->str(i, 0));
    return Status();
  });
  return out;
}

Status PgBlobStore::remove(const std::string& digest) {
  if (!sync::is_digest_hex(digest)) return Status::invalid_argument("digest");
  // Referenced after all (a push on another server committed since the collector looked): it stays.
  return with_conn([&](PgConn& c) {
    return c.exec("DELETE FROM blob_files WHERE digest = $1 AND NOT EXISTS(SELECT 1 FROM blob_refs WHERE digest = $1)",
                  {pg::text(digest)})
        .status();
  });
}

}  // namespace akt::store

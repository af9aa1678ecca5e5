// Which records reference which attachment, and what each record still lacks.
#include "schema/store/attachment_index.hpp"

#include <map>
#include <optional>

#include "schema/store/push_apply.hpp"
#include "schema/store/sqlite_push_port.hpp"
#include "sync/attachment_json.hpp"
#include "sync/wire_json.hpp"

namespace akt::store {
namespace {

std::map<std::string, std::string> item_ids_of(const sync::MergeSchema* schema) {
  std::map<std::string, std::string> out;
  if (schema)
    for (const auto& [key, group] : schema->repeats) out[key] = group.item_id;
  return out;
}

}  // namespace

AttachmentRefs attachment_refs_of(std::string_view body, const sync::MergeSchema* schema) {
  const auto ids = item_ids_of(schema);
  return sync::find_attachment_refs(body, &ids);
}

Status note_attachment_refs(Db& db, const std::string& id_blob, const std::string& actor_blob, std::string_view body,
                            const sync::MergeSchema* schema) {
  return note_attachment_refs(db, id_blob, actor_blob, attachment_refs_of(body, schema));
}

Status note_attachment_refs(Db& db, const std::string& id_blob, const std::string& actor_blob,
                            const AttachmentRefs& refs) {
  for (const auto& [path, ref] : refs) {
    AKT_STMT(s, db, "INSERT OR IGNORE INTO blob_refs(digest, record_id, actor) VALUES(?1, ?2, ?3)");
    s->bind(1, ref.digest);
    s->bind_blob(2, id_blob.data(), id_blob.size());
    s->bind_blob(3, actor_blob.data(), actor_blob.size());
    AKT_TRY(s->run());
  }
  return {};
}

Status refresh_pending_upload(Db& db, const std::string& id_blob, const BlobExists& exists,
                              const sync::MergeSchema* schema, bool* changed) {
  auto body = single_live_body(db, id_blob);
  if (!body.ok()) return body.status();
  std::vector<std::string> missing;
  if (*body) {
    const auto ids = item_ids_of(schema);
    for (const auto& [path, ref] : sync::find_attachment_refs(**body, &ids))
      if (!exists(ref.digest)) missing.push_back(path);
  }
  const std::string text = sync::encode_strings(missing);
  AKT_STMT(s, db, "UPDATE records SET pending_upload = ?2 WHERE id = ?1 AND pending_upload <> ?2");
  s->bind_blob(1, id_blob.data(), id_blob.size());
  s->bind(2, text);
  AKT_TRY(s->run());
  if (changed) *changed = db.changes() > 0;
  return {};
}

Status attachment_arrived(Db& db, const std::string& digest, const BlobExists& exists, const SchemaFor& schema_for,
                          std::int64_t& next_seq, std::int64_t now_ms) {
  struct Pending {
    std::string id, form;
    std::int64_t version;
  };
  std::vector<Pending> pending;
  {
    AKT_STMT(s, db,
             "SELECT DISTINCT b.record_id, r.form_id, r.form_version FROM blob_refs b JOIN records r ON r.id = b.record_id "
             "WHERE b.digest = ?1 AND r.pending_upload <> '[]'");
    s->bind(1, digest);
    for (;;) {
      auto row = s->step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      pending.push_back({std::string(s->blob(0)), std::string(s->text(1)), s->int64(2)});
    }
  }
  for (const Pending& p : pending) {
    const std::string& id = p.id;
    bool changed = false;
    std::optional<sync::MergeSchema> schema;
    if (schema_for) schema = schema_for(p.form, p.version);
    AKT_TRY(refresh_pending_upload(db, id, exists, schema ? &*schema : nullptr, &changed));
    if (!changed) continue;
    AKT_STMT(s, db, "UPDATE records SET seq = ?2, updated_at = ?3 WHERE id = ?1");
    s->bind_blob(1, id.data(), id.size());
    s->bind(2, next_seq++);
    s->bind(3, now_ms);
    AKT_TRY(s->run());
  }
  return {};
}

Status note_blob_holder(Db& db, const std::string& digest, const std::string& actor_blob, std::int64_t now_ms) {
  AKT_STMT(s, db, "INSERT OR IGNORE INTO blob_holders(digest, actor, at) VALUES(?1, ?2, ?3)");
  s->bind(1, digest);
  s->bind_blob(2, actor_blob.data(), actor_blob.size());
  s->bind(3, now_ms);
  return s->run();
}

Result<std::vector<std::string>> records_referencing(Db& db, const std::string& digest, std::size_t limit) {
  AKT_STMT(s, db,
           "SELECT DISTINCT r.record_id FROM blob_refs r JOIN blob_holders h ON h.digest = r.digest AND h.actor = r.actor "
           "WHERE r.digest = ?1 LIMIT ?2");
  s->bind(1, digest);
  s->bind(2, static_cast<std::int64_t>(limit));
  std::vector<std::string> out;
  for (;;) {
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(blob_uuid(s->blob(0)));
  }
}

Result<bool> is_blob_holder(Db& db, const std::string& digest, const std::string& actor_blob) {
  AKT_STMT(s, db, "SELECT 1 FROM blob_holders WHERE digest = ?1 AND actor = ?2");
  s->bind(1, digest);
  s->bind_blob(2, actor_blob.data(), actor_blob.size());
  auto row = s->step();
  if (!row.ok()) return row.status();
  return *row;
}

Result<bool> is_blob_referenced(Db& db, const std::string& digest) {
  AKT_STMT(s, db, "SELECT 1 FROM blob_refs WHERE digest = ?1 LIMIT 1");
  s->bind(1, digest);
  auto row = s->step();
  if (!row.ok()) return row.status();
  return *row;
}

Status forget_blob_holders(Db& db, const std::string& digest) {
  AKT_STMT(s, db, "DELETE FROM blob_holders WHERE digest = ?1");
  s->bind(1, digest);
  return s->run();
}

Result<std::optional<UploadRow>> find_upload(Db& db, const std::string& id, const std::string& actor_blob) {
  AKT_STMT(s, db, "SELECT digest, size, media_type, created_at FROM uploads WHERE id = ?1 AND actor = ?2");
  s->bind(1, id);
  s->bind_blob(2, actor_blob.data(), actor_blob.size());
  auto row = s->step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<UploadRow>();
  return std::optional<UploadRow>(UploadRow{id, std::string(s->text(0)), std::string(s->text(2)), s->int64(1), s->int64(3)});
}

Result<std::optional<std::string>> upload_of_digest(Db& db, const std::string& actor_blob, const std::string& digest) {
  AKT_STMT(s, db, "SELECT id FROM uploads WHERE actor = ?1 AND digest = ?2");
  s->bind_blob(1, actor_blob.data(), actor_blob.size());
  s->bind(2, digest);
  auto row = s->step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(std::string(s->text(0)));
}

Result<std::vector<UploadRow>> list_uploads(Db& db) {
  AKT_STMT(s, db, "SELECT id, created_at FROM uploads");
  std::vector<UploadRow> out;
  for (;;) {
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    UploadRow u;
    u.id = std::string(s->text(0));
    u.created_at = s->int64(1);
    out.push_back(std::move(u));
  }
}

Status put_upload(Db& db, const UploadRow& u, const std::string& actor_blob) {
  AKT_STMT(s, db,
           "INSERT INTO uploads(id, actor, digest, size, media_type, created_at) VALUES(?1,?2,?3,?4,?5,?6) "
           "ON CONFLICT(actor, digest) DO UPDATE SET id = excluded.id, size = excluded.size, "
           "media_type = excluded.media_type, created_at = excluded.created_at");
  s->bind(1, u.id);
  s->bind_blob(2, actor_blob.data(), actor_blob.size());
  s->bind(3, u.digest);
  s->bind(4, u.size);
  s->bind(5, u.media_type);
  s->bind(6, u.created_at);
  return s->run();
}

Status delete_upload(Db& db, const std::string& id) {
  AKT_STMT(s, db, "DELETE FROM uploads WHERE id = ?1");
  s->bind(1, id);
  return s->run();
}

}  // namespace akt::store

// Forms, quarantine marks and uploads on PostgreSQL. A form's status change is one UPDATE whose WHERE
// names the status it leaves, so two admins publishing at once cannot both succeed.
#include "schema/store/postgres/pg_catalog.hpp"

namespace akt::store::pg {
namespace {

constexpr const char* kFormCols =
    "form_id, version, status, title, definition, created_by, created_at, COALESCE(published_at, 0), "
    "COALESCE(retired_at, 0)";

FormRow read_form(const PgResult& r, int i, bool with_definition) {
  FormRow f;
  f.form_id = r.str(i, 0);
  f.version = r.int64(i, 1);
  f.status = r.str(i, 2);
  f.title = r.str(i, 3);
  if (with_definition) f.definition = r.str(i, 4);
  f.created_by = r.str(i, 5);
  f.created_at = r.int64(i, 6);
  f.published_at = r.int64(i, 7);
  f.retired_at = r.int64(i, 8);
  return f;
}

// The status of a form version, "" when there is none.
Result<std::string> status_of(PgConn& c, const std::string& form_id, std::int64_t version) {
  auto r = c.exec("SELECT status FROM forms WHERE form_id = $1 AND version = $2::bigint", {text(form_id), int64(version)});
  if (!r.ok()) return r.status();
  return r->rows() ? r->str(0, 0) : std::string();
}

std::string form_name(const std::string& form_id, std::int64_t version) {
  return "form " + form_id + " version " + std::to_string(version);
}

Status transition(PgConn& c, const std::string& form_id, std::int64_t version, const char* from, const char* to,
                  const std::string& sql, std::int64_t now) {
  auto r = c.exec(sql, {text(form_id), int64(version), int64(now), text(from)});
  if (!r.ok()) return r.status();
  if (r->affected() > 0) return {};
  auto st = status_of(c, form_id, version);
  if (!st.ok()) return st.status();
  if (st->empty()) return Status::not_found("no " + form_name(form_id, version));
  return Status::conflict(form_name(form_id, version) + " is " + *st + ", not " + from + "; cannot make it " + to);
}

Status run(Result<PgResult> r) { return r.status(); }

}  // namespace

Status put_form_draft(PgConn& c, const FormRow& row) {
  auto r = c.exec(
      "INSERT INTO forms(form_id, version, status, title, definition, created_by, created_at) "
      "VALUES($1, $2::bigint, 'draft', $3, $4, $5, $6::bigint) ON CONFLICT (form_id, version) DO UPDATE SET "
      "title = excluded.title, definition = excluded.definition, created_by = excluded.created_by, "
      "created_at = excluded.created_at WHERE forms.status = 'draft'",
      {text(row.form_id), int64(row.version), text(row.title), text(row.definition), text(row.created_by),
       int64(row.created_at)});
  if (!r.ok()) return r.status();
  if (r->affected() > 0) return {};
  auto st = status_of(c, row.form_id, row.version);
  if (!st.ok()) return st.status();
  return Status::conflict(form_name(row.form_id, row.version) + " is " + *st + "; publish changes as a new version");
}

Status publish_form(PgConn& c, const std::string& form_id, std::int64_t version, std::int64_t now) {
  return transition(c, form_id, version, "draft", "published",
                    "UPDATE forms SET status = 'published', published_at = $3::bigint WHERE form_id = $1 AND "
                    "version = $2::bigint AND status = $4",
                    now);
}

Status retire_form(PgConn& c, const std::string& form_id, std::int64_t version, std::int64_t now) {
  return transition(c, form_id, version, "published", "retired",
                    "UPDATE forms SET status = 'retired', retired_at = $3::bigint WHERE form_id = $1 AND "
                    "version = $2::bigint AND status = $4",
                    now);
}

Result<std::optional<FormRow>> get_form(PgConn& c, const std::string& form_id, std::int64_t version) {
  static const std::string sql =
      std::string("SELECT ") + kFormCols + " FROM forms WHERE form_id = $1 AND version = $2::bigint";
  auto r = c.exec(sql, {text(form_id), int64(version)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<FormRow>();
  return std::optional<FormRow>(read_form(*r, 0, true));
}

Result<std::vector<FormRow>> list_forms(PgConn& c, bool with_definitions) {
  // Without definitions, none is sent over the wire either.
  static const std::string with = std::string("SELECT ") + kFormCols + " FROM forms ORDER BY form_id, version";
  static const std::string without =
      "SELECT form_id, version, status, title, '', created_by, created_at, COALESCE(published_at, 0), "
      "COALESCE(retired_at, 0) FROM forms ORDER BY form_id, version";
  auto r = c.exec(with_definitions ? with : without);
  if (!r.ok()) return r.status();
  std::vector<FormRow> out;
  for (int i = 0; i < r->rows(); ++i) out.push_back(read_form(*r, i, with_definitions));
  return out;
}

QuarantineEntry read_quarantine(const PgResult& r, int i) {
  QuarantineEntry q;
  q.id = r.int64(i, 0);
  q.device = r.str(i, 1);
  q.batch_id = r.str(i, 2);
  q.record_id = r.str(i, 3);
  q.dot = {r.str(i, 4), r.int64(i, 5)};
  q.code = r.str(i, 6);
  q.detail = r.str(i, 7);
  q.edit_json = r.str(i, 8);
  q.received_at = r.int64(i, 9);
  q.fields_json = r.str(i, 10);
  q.released_at = r.int64(i, 11);
  q.discarded_at = r.int64(i, 12);
  q.args_json = r.str(i, 13);
  return q;
}

Result<std::optional<QuarantineEntry>> get_quarantine_entry(PgConn& c, std::int64_t id) {
  auto r = c.exec("SELECT " AKT_PG_QUARANTINE_COLUMNS " FROM quarantine WHERE id = $1::bigint", {int64(id)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<QuarantineEntry>();
  return std::optional<QuarantineEntry>(read_quarantine(*r, 0));
}

Status mark_released(PgConn& c, std::int64_t id, std::int64_t now) {
  return run(c.exec("UPDATE quarantine SET released_at = $2::bigint WHERE id = $1::bigint", {int64(id), int64(now)}));
}

Status mark_discarded(PgConn& c, std::int64_t id, std::int64_t now) {
  return run(c.exec("UPDATE quarantine SET discarded_at = $2::bigint WHERE id = $1::bigint", {int64(id), int64(now)}));
}

Result<std::optional<UploadRow>> find_upload(PgConn& c, const std::string& id, const std::string& actor) {
  auto r = c.exec("SELECT digest, size, media_type, created_at FROM uploads WHERE id = $1 AND actor = $2::uuid",
                  {text(id), text(actor)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<UploadRow>();
  return std::optional<UploadRow>(UploadRow{id, r->str(0, 0), r->str(0, 2), r->int64(0, 1), r->int64(0, 3)});
}

Result<std::optional<std::string>> upload_of_digest(PgConn& c, const std::string& actor, const std::string& digest) {
  auto r = c.exec("SELECT id FROM uploads WHERE actor = $1::uuid AND digest = $2", {text(actor), text(digest)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<std::string>();
  return std::optional<std::string>(r->str(0, 0));
}

Result<std::vector<UploadRow>> list_uploads(PgConn& c) {
  auto r = c.exec("SELECT id, created_at FROM uploads");
  if (!r.ok()) return r.status();
  std::vector<UploadRow> out;
  for (int i = 0; i < r->rows(); ++i) {
    UploadRow u;
    u.id = r->str(i, 0);
    u.created_at = r->int64(i, 1);
    out.push_back(std::move(u));
  }
  return out;
}

Status put_upload(PgConn& c, const UploadRow& u, const std::string& actor) {
  return run(c.exec(
      "INSERT INTO uploads(id, actor, digest, size, media_type, created_at) VALUES($1, $2::uuid, $3, $4::bigint, $5, "
      "$6::bigint) ON CONFLICT (actor, digest) DO UPDATE SET id = excluded.id, size = excluded.size, "
      "media_type = excluded.media_type, created_at = excluded.created_at",
      {text(u.id), text(actor), text(u.digest), int64(u.size), text(u.media_type), int64(u.created_at)}));
}

Status delete_upload(PgConn& c, const std::string& id) {
  return run(c.exec("DELETE FROM uploads WHERE id = $1", {text(id)}));
}

Status note_blob_holder(PgConn& c, const std::string& digest, const std::string& actor, std::int64_t now) {
  return run(c.exec(
      "INSERT INTO blob_holders(digest, actor, at) VALUES($1, $2::uuid, $3::bigint) ON CONFLICT DO NOTHING",
      {text(digest), text(actor), int64(now)}));
}

Result<bool> is_blob_holder(PgConn& c, const std::string& digest, const std::string& actor) {
  auto r = c.exec("SELECT 1 FROM blob_holders WHERE digest = $1 AND actor = $2::uuid", {text(digest), text(actor)});
  if (!r.ok()) return r.status();
  return r->rows() > 0;
}

Status forget_blob_holders(PgConn& c, const std::string& digest) {
  return run(c.exec("DELETE FROM blob_holders WHERE digest = $1", {text(digest)}));
}

}  // namespace akt::store::pg

// Forms, the quarantine's admin marks and attachment uploads on PostgreSQL: the same contract as
// forms_store.hpp, audit_list.hpp and attachment_index.hpp (the SQLite engine's).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "schema/store/postgres/pg_conn.hpp"
#include "schema/store/server_store.hpp"
#include "schema/store/store_types.hpp"

namespace akt::store::pg {

// kConflict when the version exists and is not a draft.
Status put_form_draft(PgConn& c, const FormRow& row);
// kNotFound for an unknown version; kConflict when it is not a draft (publish) / not published (retire).
Status publish_form(PgConn& c, const std::string& form_id, std::int64_t version, std::int64_t now);
Status retire_form(PgConn& c, const std::string& form_id, std::int64_t version, std::int64_t now);
Result<std::optional<FormRow>> get_form(PgConn& c, const std::string& form_id, std::int64_t version);
Result<std::vector<FormRow>> list_forms(PgConn& c, bool with_definitions);

// The quarantine's columns in the order read_quarantine reads them.
#define AKT_PG_QUARANTINE_COLUMNS                                                                              \
  "id, device::text, batch_id, record_id::text, actor::text, n, code, detail, edit, received_at, fields, " \
  "COALESCE(released_at, 0), COALESCE(discarded_at, 0), args"
QuarantineEntry read_quarantine(const PgResult& r, int row);
Result<std::optional<QuarantineEntry>> get_quarantine_entry(PgConn& c, std::int64_t id);
Status mark_released(PgConn& c, std::int64_t id, std::int64_t now);
Status mark_discarded(PgConn& c, std::int64_t id, std::int64_t now);

Result<std::optional<UploadRow>> find_upload(PgConn& c, const std::string& id, const std::string& actor);
Result<std::optional<std::string>> upload_of_digest(PgConn& c, const std::string& actor, const std::string& digest);
Result<std::vector<UploadRow>> list_uploads(PgConn& c);
Status put_upload(PgConn& c, const UploadRow& upload, const std::string& actor);
Status delete_upload(PgConn& c, const std::string& id);
Status note_blob_holder(PgConn& c, const std::string& digest, const std::string& actor, std::int64_t now);
Result<bool> is_blob_holder(PgConn& c, const std::string& digest, const std::string& actor);
Status forget_blob_holders(PgConn& c, const std::string& digest);

}  // namespace akt::store::pg

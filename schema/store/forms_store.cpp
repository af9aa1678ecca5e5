#include "schema/store/forms_store.hpp"

namespace akt::store {

namespace {

Result<std::string> status_of(Db& db, const std::string& form_id, std::int64_t version) {
  AKT_STMT(s, db, "SELECT status FROM forms WHERE form_id = ?1 AND version = ?2");
  s->bind(1, form_id);
  s->bind(2, version);
  auto row = s->step();
  if (!row.ok()) return row.status();
  return *row ? std::string(s->text(0)) : std::string();
}

FormRow read_row(Stmt& s, bool with_definition) {
  FormRow r;
  r.form_id = std::string(s.text(0));
  r.version = s.int64(1);
  r.status = std::string(s.text(2));
  r.title = std::string(s.text(3));
  if (with_definition) r.definition = std::string(s.text(4));
  r.created_by = std::string(s.text(5));
  r.created_at = s.int64(6);
  r.published_at = s.int64(7);
  r.retired_at = s.int64(8);
  return r;
}

}  // namespace

Status put_form_draft(Db& db, const FormRow& row) {
  auto st = status_of(db, row.form_id, row.version);
  if (!st.ok()) return st.status();
  if (!st->empty() && *st != "draft")
    return Status::conflict("form " + row.form_id + " version " + std::to_string(row.version) + " is " + *st +
                            "; publish changes as a new version");
  AKT_STMT(s, db,
           "INSERT INTO forms(form_id, version, status, title, definition, created_by, created_at) "
           "VALUES(?1, ?2, 'draft', ?3, ?4, ?5, ?6) ON CONFLICT(form_id, version) DO UPDATE SET "
           "title = excluded.title, definition = excluded.definition, created_by = excluded.created_by, "
           "created_at = excluded.created_at");
  s->bind(1, row.form_id);
  s->bind(2, row.version);
  s->bind(3, row.title);
  s->bind(4, row.definition);
  s->bind(5, row.created_by);
  s->bind(6, row.created_at);
  return s->run();
}

namespace {

Status transition(Db& db, const std::string& form_id, std::int64_t version, const char* from, const char* to,
                  const char* sql, std::int64_t now) {
  auto st = status_of(db, form_id, version);
  if (!st.ok()) return st.status();
  if (st->empty()) return Status::not_found("no form " + form_id + " version " + std::to_string(version));
  if (*st != from) return Status::conflict("form " + form_id + " version " + std::to_string(version) + " is " + *st +
                                           ", not " + from + "; cannot make it " + to);
  auto s = db.stmt(sql);
  if (!s.ok()) return s.status();
  StmtGuard g(**s);
  g->bind(1, form_id);
  g->bind(2, version);
  g->bind(3, now);
  return g->run();
}

}  // namespace

Status publish_form(Db& db, const std::string& form_id, std::int64_t version, std::int64_t now) {
  return transition(db, form_id, version, "draft", "published",
                    "UPDATE forms SET status = 'published', published_at = ?3 WHERE form_id = ?1 AND version = ?2",
                    now);
}

Status retire_form(Db& db, const std::string& form_id, std::int64_t version, std::int64_t now) {
  return transition(db, form_id, version, "published", "retired",
                    "UPDATE forms SET status = 'retired', retired_at = ?3 WHERE form_id = ?1 AND version = ?2", now);
}

Result<std::optional<FormRow>> get_form(Db& db, const std::string& form_id, std::int64_t version) {
  AKT_STMT(s, db,
           "SELECT form_id, version, status, title, definition, created_by, created_at, COALESCE(published_at, 0), "
           "COALESCE(retired_at, 0) FROM forms WHERE form_id = ?1 AND version = ?2");
  s->bind(1, form_id);
  s->bind(2, version);
  auto row = s->step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<FormRow>();
  return std::optional<FormRow>(read_row(*s, true));
}

Result<std::vector<FormRow>> list_forms(Db& db, bool with_definitions) {
  AKT_STMT(s, db,
           "SELECT form_id, version, status, title, definition, created_by, created_at, COALESCE(published_at, 0), "
           "COALESCE(retired_at, 0) FROM forms ORDER BY form_id, version");
  std::vector<FormRow> out;
  for (;;) {
    auto row = s->step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(read_row(*s, with_definitions));
  }
}

}  // namespace akt::store

#include "schema/store/push_apply.hpp"
#include "schema/store/server_store.hpp"

namespace akt::store {

Result<std::optional<QuarantineEntry>> get_quarantine_entry(Db& db, std::int64_t id) {
  static const std::string sql = std::string("SELECT ") + kQuarantineColumns + " FROM quarantine WHERE id = ?1";
  AKT_STMT(s, db, sql.c_str());
  s->bind(1, id);
  auto row = s->step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<QuarantineEntry>();
  return std::optional<QuarantineEntry>(read_quarantine_row(*s));
}

Status mark_discarded(Db& db, std::int64_t id, std::int64_t now) {
  AKT_STMT(s, db, "UPDATE quarantine SET discarded_at = ?2 WHERE id = ?1");
  s->bind(1, id);
  s->bind(2, now);
  return s->run();
}

Status mark_released(Db& db, std::int64_t id, std::int64_t now) {
  AKT_STMT(s, db, "UPDATE quarantine SET released_at = ?2 WHERE id = ?1");
  s->bind(1, id);
  s->bind(2, now);
  return s->run();
}

}  // namespace akt::store

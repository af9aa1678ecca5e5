// Form definitions in the server database (migration 3): drafts, published and retired versions.
// Functions over a Db inside the caller's transaction (ServerStore::write / read).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "schema/store/db.hpp"
#include "schema/store/store_types.hpp"
#include "schema/store/server_store.hpp"

namespace akt::store {


// Stores a draft; replaces an existing draft of the same version. kConflict when that version is
// published or retired (a published version is never edited).
Status put_form_draft(Db& db, const FormRow& row);
// draft -> published (kConflict from another state, kNotFound when unknown).
Status publish_form(Db& db, const std::string& form_id, std::int64_t version, std::int64_t now);
// published -> retired: hidden from devices' form lists; edits filled with it are still accepted.
Status retire_form(Db& db, const std::string& form_id, std::int64_t version, std::int64_t now);
Result<std::optional<FormRow>> get_form(Db& db, const std::string& form_id, std::int64_t version);
// Every version, ordered by form and version; definitions included when `with_definitions`.
Result<std::vector<FormRow>> list_forms(Db& db, bool with_definitions);

}  // namespace akt::store

namespace akt::store {

// One quarantined edit by id (nullopt when unknown).
Result<std::optional<QuarantineEntry>> get_quarantine_entry(Db& db, std::int64_t id);
Status mark_released(Db& db, std::int64_t id, std::int64_t now);
Status mark_discarded(Db& db, std::int64_t id, std::int64_t now);

}  // namespace akt::store

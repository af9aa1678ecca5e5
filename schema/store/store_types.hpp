// The store's domain types (the store seam, store_tx.hpp): plain values that every engine reads and
// writes and that the server sees. No engine header, no SQL.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sync/access.hpp"
#include "sync/inbox_kind.hpp"
#include "sync/record.hpp"

namespace akt::store {

// Accounts: users, tokens, devices, the audit log.
struct User {
  std::int64_t id = 0;
  std::string username, display_name;
  sync::Role role = sync::Role::kEnumerator;
  std::string password_hash;
  std::int64_t supervisor_id = 0;  // 0 = none
  bool disabled = false;
  std::int64_t scope_version = 1;
  std::int64_t created_at = 0;
  bool special_category = false;   // the explicit grant to see class S values in clear (SECURITY.md §8)
  // The actor of the user's resolutions and reviews: random, made by the database when the user is
  // created (never chosen by the caller); "" for a user created before that, whose actor is derived
  // (server/handlers resolver_actor_of).
  std::string resolver_actor;
};

// What a bearer token stands for, with everything authorization needs.
struct TokenInfo {
  std::string kind;                 // "device" or "session"
  User user;
  std::string device_actor;         // device tokens only (canonical UUID)
  std::int64_t expires_at = 0;
  bool revoked = false;             // the token or its device was revoked
  std::vector<sync::Assignment> scope;  // the user's assignments (supervisors: plus their team's)
};

struct DeviceRow {
  std::string actor, name, username, app_version;
  std::int64_t registered_at = 0, last_push = 0, last_pull = 0, last_cursor = 0, revoked_at = 0;
  std::string client_app;           // as last reported in X-Akt-Client ("" = never)
  std::int64_t unsynced = -1;       // unsynced edits as last reported (-1 = never)
  std::int64_t reported_at = 0;     // when the device last reported (ms)
};

struct AuditRow {
  std::int64_t id = 0, at = 0;
  std::string username, action, target, detail_json, remote;
};

struct DeviceReport {
  std::string client_app;
  std::int64_t unsynced = -1, reported_at = 0;
};

// Live (not deleted) records per municipality, community, component and form.
struct PlaceCount {
  std::string municipality, community, component, form_id;
  std::int64_t records = 0;
};

// Form definitions: drafts, published and retired versions.
struct FormRow {
  std::string form_id;
  std::int64_t version = 0;
  std::string status;  // draft, published, retired
  std::string title;
  std::string definition;
  std::string created_by;
  std::int64_t created_at = 0, published_at = 0, retired_at = 0;
};

// The conflict inbox.
struct InboxEntry {
  std::int64_t id = 0;
  std::string record_id;
  sync::InboxKind kind = sync::InboxKind::kField;
  std::string path, status;
  std::string ancestor_json;    // "" when absent
  std::string candidates_json;  // JSON array
  std::string form_id;
  sync::Scope scope;
  std::int64_t opened_at = 0, updated_at = 0, resolved_at = 0;
  std::string resolved_by, resolution_json;
  std::string detail_json = "{}";  // kind-specific (semantic: rules broken, provisional values)
};

struct InboxFilter {
  std::string status = "open";  // open, resolved, or "" for both
  std::optional<sync::InboxKind> kind;  // nullopt: every kind
  std::string form_id, municipality;
  std::int64_t opened_before = 0;  // ms; 0 = any age
  std::int64_t before_id = 0;      // paging: entries with a smaller id
  std::size_t limit = 100;
};

// A record's stored versions (its history).
struct HistoryVersion {
  sync::Version version;
  bool live = false;  // not dominated by another version: the record's current state
};

// The audit log filter.
struct AuditFilter {
  std::optional<std::string> username;  // exactly this actor ("" = anonymous); nullopt = anyone
  std::string action;                   // "" = any
  std::int64_t from_ms = 0, to_ms = 0;  // `at` in [from_ms, to_ms); 0 = open end
};

// The submissions list.
struct RecordListFilter {
  std::string form, municipality, component;  // "" = any
  std::string review;                         // "" = any; a record without review_status is "submitted"
  std::string submitted_by;                   // "" = any; the username of the first version's device
  std::int64_t from_ms = 0, to_ms = 0;        // created_at in [from_ms, to_ms); 0 = open end
  std::optional<bool> conflicted;             // nullopt = any
  std::string before;                         // canonical UUID: only records whose id sorts below it
};

struct RecordListRow {
  std::string record_id, form_id;
  std::int64_t form_version = 0;
  sync::Scope scope;
  std::int64_t seq = 0, created_at = 0, updated_at = 0;
  std::string review;        // review_status of the live version ("submitted" when unset)
  std::string clock;         // the live version's clock, canonical JSON (a review's `seen`)
  std::string submitted_by;  // username of the device that sent the first version ("" = none known)
  std::string device;        // that device's name
  bool conflicted = false;   // open conflicted paths
};

// Attachments: an open resumable upload of one device (PROTOCOL §14).
struct UploadRow {
  std::string id, digest, media_type;
  std::int64_t size = 0, created_at = 0;
};

// One stored version's body and form version (what an admin saw before resolving or reviewing).
struct StoredBody {
  std::string body;  // canonical JSON
  std::int64_t form_version = 0;
};

// The largest counter of an actor's dots: on any record, and on one record (0 = none).
struct ActorCounters {
  std::int64_t any_record = 0, this_record = 0;
};

}  // namespace akt::store

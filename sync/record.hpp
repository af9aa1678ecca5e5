// Domain types of the sync model (DESIGN §2): edits as pushed, versions as stored, record states as pulled.
// Bodies travel as canonical JSON text (an object, keys sorted) so this layer never parses them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sync/vector_clock.hpp"

namespace akt::sync {

// Where a record belongs: municipality x community x programme component (SO1/SO2/SO3).
struct Scope {
  std::string municipality;
  std::string community;
  std::string component;
  friend bool operator==(const Scope&, const Scope&) = default;
};

// One save on a device, as pushed.
struct Edit {
  std::string record_id;  // canonical UUID (v7 recommended)
  std::string form_id;
  std::int64_t form_version = 0;
  Scope scope;
  Dot dot;
  VectorClock context;                // clock of the version the user saw; empty for a new record
  std::vector<std::string> changed;   // field paths this save set
  std::string body;                   // canonical JSON object text
  bool deleted = false;               // a deletion (tombstone) edit
  std::int64_t device_time = 0;       // ms since epoch by the device clock; shown, never decides
  friend bool operator==(const Edit&, const Edit&) = default;

  VectorClock clock() const { return edit_clock(context, dot); }
};

// A stored version of a record.
struct Version {
  Dot dot;
  VectorClock clock;
  std::vector<Dot> parents;           // the live versions this one retired when it arrived
  std::vector<std::string> changed;
  std::string body;                   // canonical JSON object text
  bool deleted = false;
  std::int64_t form_version = 0;
  std::int64_t device_time = 0;
  std::int64_t server_time = 0;       // ms, when the server committed it
  friend bool operator==(const Version&, const Version&) = default;
};

// A record at its latest state, as the change feed and record reads return it.
struct RecordState {
  std::string record_id;
  std::string form_id;
  std::int64_t form_version = 0;
  Scope scope;
  std::int64_t seq = 0;               // change-feed position of its latest change
  bool deleted = false;               // every live version is a deletion
  bool conflict = false;              // siblings, or fields in conflict awaiting an admin
  std::vector<std::string> conflicted;  // paths of fields in conflict (open inbox entries)
  bool deletion_pending = false;      // deleted on one device, edited on another: an admin decides
  // Paths of attachment fields of the live version whose file the server does not hold yet
  // (PROTOCOL §14.5); cleared, with a new feed position, when the file arrives.
  std::vector<std::string> pending_upload;
  std::vector<Version> live;          // ordered by dot
  // An out-of-scope marker (PROTOCOL §5.1): the record left the caller's scope; only record_id and seq
  // are set, and the device drops its copy.
  bool out_of_scope = false;
};

}  // namespace akt::sync

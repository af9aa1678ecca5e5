// The fleet simulator: N tablets (each its own TabletStore and HTTP connection, in this process) make
// random offline creates, edits and deletes of valid Form A records, sync at random moments (through a
// fault-injecting proxy when asked), then sync until nothing moves over a fault-free path, and an oracle
// checks DESIGN §7 (see check_oracle in fleet_sim.cpp for exactly what):
//   1 convergence: every tablet equals the server's feed (so they equal each other);
//   2 no acknowledged edit lost: its dot is covered by the record's live clock, and each field it set
//     still holds its value, or a causally later edit set that field (or deleted the record), or the
//     value is a candidate of a conflict entry for that field; a delete counts like a field: the record
//     is deleted, or a causally later delete superseded it, or it is a `deleted` candidate of the
//     record's delete_edit entry, and every edit concurrent with a standing delete is a keep candidate
//     there (itself or a causally later edit of it);
//   3 no false merge: fields whose causally-maximal setters disagree have an entry listing every such
//     value; no false conflict: every entry's candidates are values acknowledged edits set, and two
//     concurrent acknowledged edits set its field to different values;
//   4 replays: a duplicated push is answered byte for byte as the first (checked by the proxy);
//   5 feed completeness: paging the whole feed in small pages yields every record exactly once, at its
//     latest state (the same as one big page, and every acknowledged record is there); the feed since a
//     cursor a tablet got mid-run holds every record with an edit acknowledged after it, once, at its
//     latest state.
// With a managed server (SimOptions::aktsyncd) the simulator runs aktsyncd itself, with forms validation
// on and the programme's forms published, and can SIGKILL and restart it mid-run (§7.6).
// Tablets may run an older form version (SimOptions::old_form_percent): a v2 of Form A with one more
// field is published beside v1, and v1 tablets push their edits as v1, sending back the v2-only field
// they pulled, or omitting it.
// run_order_check (DESIGN §7.4): the same pushes, each device's batches in the order it sent them,
// interleaved across devices in several orders on fresh servers, must give the same outcome.
// Deterministic for a seed, apart from the server's own timing.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "clients/fault_proxy.hpp"
#include "sync/status.hpp"

namespace akt::client {

struct SimDevice {
  std::string actor;  // canonical UUID known to the server
  std::string token;
};

inline constexpr int kSeededRestart = -2;

struct SimOptions {
  // Either an external server (host, port, devices; admin_token to read the conflict inbox, optional)...
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::vector<SimDevice> devices;  // one tablet each; at least one
  std::string admin_token;         // empty: the inbox checks (§7.3) are skipped and reported so
  // ...or an admin account to log in with (external server): reads the inbox and, with forms_dir,
  // publishes the forms there first (as the managed server does).
  std::string admin_user, admin_password;
  // ...or a managed one: the simulator runs this aktsyncd binary on work_dir/server with `tablets`
  // static devices, forms validation on and every form of forms_dir published, and an admin user.
  std::string aktsyncd;
  std::string forms_dir;
  int tablets = 0;
  // Managed only: in this round, SIGKILL the server a few ms into one tablet's sync, then restart it on
  // the same data directory (-1: never; kSeededRestart: a round, tablet and delay chosen by the seed).
  int restart_at_round = -1;
  // Managed only: the managed servers' store is PostgreSQL's at this url (a database that exists; the
  // simulator's records go there), "" = SQLite in the server's data folder.
  std::string postgres_url;
  // Managed only: this many aktsyncd on that one database (needs postgres_url when > 1), each with a
  // data folder of its own (work_dir/server, work_dir/server-1, ...), all behind the proxy (used then even
  // with no fault), which sends each request, on a new upstream connection, to the next one in turn and
  // skips one that refuses the connection (docs/STORE.md §12). The restart (restart_at_round) SIGKILLs
  // the last instance in a tablet's sync, the moment a request of it was written to that instance (before
  // its answer; at the sync's end if none went there); with restart_killed it starts again (a new port,
  // put back in the rotation), else it stays down for the rest of the run. Settling goes through the
  // proxy too (faults off, both instances); the final reads go to the first instance.
  int instances = 1;
  bool restart_killed = true;

  std::string work_dir;            // the tablets' databases go here (must exist)
  int rounds = 10;
  int ops_per_round = 4;           // saves per tablet per round
  int sync_percent = 40;           // chance (%) that a tablet syncs at the end of a round
  int create_percent = 10;         // chance (%) that a save creates a record (else edits, or deletes)
  int delete_percent = 2;          // chance (%) that a save deletes a record
  // Chance (%) that a tablet runs Form A version 1 while a version 2 (one more field, `followup_note`)
  // is published: needs forms (managed, or admin_user with forms_dir). v1 tablets push form_version 1;
  // half of them send back the v2-only field they pulled, half omit it. 0: every tablet pushes the
  // version its records were created with (1), no v2 is published.
  int old_form_percent = 0;
  // Photos (PROTOCOL §14): this many distinct small JPEG files (2-6 KB) are made for the run; half of the
  // records created take one of them in `photo_context` (so records, and tablets, share some), the
  // others none. Photo i is uploaded (attachments.hpp, 1 KiB chunks, through the proxy when there is
  // one) before the push carrying its record (i % 3 == 0), after that push was acknowledged (1), or never
  // (2). At the end every file a tablet was to upload must be held (its box has nothing unsent) and
  // readable by digest, byte for byte; a never-uploaded one must not be readable; and exactly the live
  // records holding a never-uploaded photo are `pending_upload` for it. 0: no photos (Form A records keep
  // the generator's reference to a file that never travels, and nothing about photos is checked).
  int photos = 0;
  std::uint64_t seed = 1;
  int max_attempts = 6;            // per request (see SyncOptions)
  int backoff_ms = 250;            // first retry pause (doubles, capped at 16x)
  std::int64_t start_ms = 1475280000000;  // simulated device clock start

  bool use_proxy = false;          // sync through a FaultProxy during the rounds
  FaultOptions faults;             // its fault probabilities (seed: derived from `seed`)
  bool inject_lost_ack = false;    // test hook: the oracle pretends the server acknowledged an edit it
                                   // never saw, and that an acknowledged edit set a value the server
                                   // does not have; the check must report both as lost
};

struct SimReport {
  bool converged = false;
  std::size_t tablets = 0, records = 0, saves = 0, creates = 0, edits = 0, deletes = 0;
  std::size_t syncs = 0, failed_syncs = 0;  // failed: gave up after retries during the faulty rounds
  std::size_t acked = 0;                    // distinct dots acknowledged by push answers
  std::size_t conflicts = 0;                // records in conflict at the end
  std::size_t entries = 0;                  // conflict inbox entries (field and delete_edit)
  std::size_t rejected = 0;                 // edits the server rejected (each is a violation)
  std::size_t fields_checked = 0;           // (acked edit, field) pairs checked by invariant 2
  std::size_t restarts = 0;                 // SIGKILL + restart of the server
  std::size_t kills = 0;                    // SIGKILLs of a server (restarted or not)
  std::size_t kills_in_flight = 0;          // of them, with a request written to it and not yet answered
  std::size_t instances = 1;                // managed servers on one database
  std::size_t old_form_tablets = 0;         // tablets on Form A v1 (old_form_percent)
  std::size_t old_form_saves = 0;           // their saves
  std::size_t deletes_checked = 0;          // acknowledged deletes checked by invariant 2
  std::size_t cursor_checks = 0;            // feeds read from a mid-run cursor (invariant 5)
  int settle_passes = 0;                    // sync passes needed until nothing moved
  // Photos (SimOptions::photos).
  std::size_t photos_referenced = 0;        // distinct photos that saved records reference
  std::size_t photos_read = 0;              // of them, read back by digest with their bytes
  std::size_t photos_never = 0;             // of them, never uploaded (and not readable)
  std::size_t photo_records = 0;            // live records holding a photo, checked for pending_upload
  std::size_t pending_records = 0;          // of them, pending_upload (all for never-uploaded photos)
  std::size_t photo_files_sent = 0;         // files uploaded (a file sent by two tablets counts twice)
  std::uint64_t photo_bytes_sent = 0, photo_file_bytes = 0;  // chunk bytes put on the wire; file sizes
  std::size_t photo_upload_failures = 0;    // uploads that gave up on the network (retried later)
  bool inbox_checked = false;
  FaultCounts faults;
  double seconds = 0;
  std::vector<std::string> problems;        // divergences (invariant 1), at most 20
  std::vector<std::string> violations;      // every other invariant broken, at most 50 kept
  std::size_t violation_count = 0;          // all of them, divergences included
  bool ok() const { return converged && violation_count == 0; }
};

// Runs the simulation. kIOError when the server cannot be reached or started; other Status codes from
// the tablets' stores. Broken invariants are not errors: they are in the report.
Result<SimReport> run_fleet(const SimOptions& options);

// ---- Order independence (DESIGN §7.4) ----

// A fresh, empty server for one order: its port, an admin account, and the devices it knows (the same
// actors and tokens every time: the replayed pushes carry their dots). `keep` holds it alive.
struct FreshServer {
  std::uint16_t port = 0;
  std::string admin_user, admin_password;
  std::vector<SimDevice> devices;
  std::shared_ptr<void> keep;
};
using ServerFactory = std::function<Result<FreshServer>()>;

struct OrderOptions {
  ServerFactory fresh;             // called once per order; needs tablets + 1 devices
  std::string forms_dir;           // published on every fresh server (and a v2 of Form A, see below)
  std::string work_dir;            // the tablets' databases go here (must exist)
  int histories = 4;               // independent histories, each replayed in `orders` orders
  int orders = 4;                  // per history: the recorded order and orders-1 others
  int tablets = 5;                 // devices that save (a further device creates the records first)
  int records = 3;                 // Form A records every tablet pulls before saving offline
  int rule_records = 1;            // and infrastructure cards (so1_infra_monitoring: cross-field rules)
  int saves = 1;                   // saves per device, each pushed as its own batch (1 or more)
  bool repeat_record = true;       // a device may save the same record again (its own line of history);
                                   // false: each save of a device is on another record
  int delete_percent = 20;         // chance (%) that a save deletes its record
  int old_form_percent = 30;       // chance (%) that a tablet runs Form A v1 (see SimOptions)
  std::uint64_t seed = 1;
};

struct OrderReport {
  std::size_t histories = 0, runs = 0, pushes = 0, saves = 0, edits = 0, deletes = 0, old_form_saves = 0;
  std::size_t entries = 0, flagged = 0;     // summed over the recorded orders
  std::size_t rejected = 0;                 // edits a server rejected (each is a violation)
  std::size_t semantic_skipped = 0;         // semantic entries left out (two saves: DESIGN §7.4)
  std::vector<std::string> violations;      // at most 50 kept
  std::size_t violation_count = 0;
  double seconds = 0;
  bool ok() const { return violation_count == 0; }
};

// Per history: every tablet pulls `records` Form A records and `rule_records` infrastructure cards (whose
// concurrent visits can break a rule together: semantic entries), then saves offline `saves` times, pushing after
// each save (the recorded order: round-robin over the tablets). Then the same push bodies, byte for
// byte, are replayed on fresh servers in other interleavings that keep each device's own order; each
// outcome must equal the recorded one: per record the deletion state, the flagged paths and the
// unflagged values, and the inbox entries (kind, path, status, base, candidates by dot and value; a
// server version's dot by value only). Provisional values may differ. With saves > 1, `semantic`
// entries and the paths they flag are left out (the open point of DESIGN §7.4).
Result<OrderReport> run_order_check(const OrderOptions& options);

// Starts aktsyncd `binary` on work_dir (a new, empty data folder) with `devices` static devices whose
// actors and tokens follow from `seed`, and an admin account; for OrderOptions::fresh.
Result<FreshServer> start_aktsyncd(const std::string& binary, const std::string& work_dir, int devices,
                                   std::uint64_t seed);

}  // namespace akt::client

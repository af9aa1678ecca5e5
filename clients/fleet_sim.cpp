// The fleet simulator. Saves are chosen from each tablet's own local view (as a user would see it) and
// logged in an oracle with their dot, clock and the values of the fields they set; push answers are
// observed on the way back (the acknowledgements). At the end the oracle reads the server's feed and
// conflict inbox and checks DESIGN §7 (the list is in fleet_sim.hpp; the exact rules in check_oracle).
#include "clients/fleet_sim.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "clients/attachments.hpp"
#include "clients/http_client.hpp"
#include "clients/record_gen.hpp"
#include "clients/server_process.hpp"
#include "clients/sync_client.hpp"
#include "schema/store/tablet_store.hpp"
#include "sync/cursor.hpp"
#include "sync/uuid.hpp"
#include "sync/wire_json.hpp"
#include "sync/hex.hpp"
#include "sync/attachment_ref.hpp"

namespace akt::client {
namespace {

using nlohmann::json;
using sync::Dot;

constexpr const char* kForm = "so1_interethnic_survey";
constexpr const char* kPhotoField = "photo_context";  // Form A's photo question
constexpr const char* kInfraForm = "so1_infra_monitoring";  // cross-field rules (order check only)

// Fields of Form A a user edits after the interview: select_one answers without cross-field rules, and
// the free-text comment. Every value is valid, so no edit is ever rejected.
struct EditableField {
  const char* key;
  std::vector<const char*> values;
};
const std::vector<EditableField>& editable_fields() {
  static const std::vector<const char*> comfort{"very_uncomfortable", "uncomfortable", "comfortable",
                                                "very_comfortable", "dont_know", "no_answer"};
  static const std::vector<const char*> trust{"none_at_all", "not_much", "somewhat", "a_lot", "dont_know", "no_answer"};
  static const std::vector<const char*> change{"much_worse", "worse", "same", "better", "much_better", "dont_know"};
  static const std::vector<EditableField> f{
      {"comfort_neighbour", comfort}, {"comfort_coworker", comfort},  {"comfort_shop", comfort},
      {"trust_municipality", trust},  {"trust_mun_assembly", trust},  {"trust_central_gov", trust},
      {"trust_police", trust},        {"relations_change", change},   {"relations_outlook", change},
      {"comments", {}}};
  return f;
}

// ---- The oracle ----

struct OEdit {
  std::string record;
  Dot dot;
  sync::VectorClock clock;       // context ⊔ dot
  bool deleted = false;
  std::map<std::string, json> set;  // field -> value this save set
};

struct Entry {
  std::string record, kind, path, status;
  std::vector<std::pair<Dot, json>> candidates;
  std::vector<bool> deleted;  // per candidate: delete_edit's `deleted`
  json raw;                   // the entry as the server sent it
};

// Form A version 2: version 1 plus `followup_note`, a field version 1 does not know.
constexpr const char* kNewField = "followup_note";

// Photos (PROTOCOL §14).
// When a tablet uploads a photo: before the push that carries its record, after that push was
// acknowledged, or never (the record must then stay pending_upload for it).
enum class PhotoPlan { kBeforePush, kAfterPush, kNever };

struct SimPhoto {
  std::string bytes;
  sync::AttachmentRef ref;
  PhotoPlan plan = PhotoPlan::kNever;
};

struct Oracle {
  std::map<Dot, OEdit> edits;
  std::map<std::string, std::vector<Dot>> by_record;
  std::set<Dot> acked;
  std::set<Dot> rejected;
  std::set<std::string> actors;  // the devices' actors (other dots in entries are the server's)
  SimReport* rep = nullptr;

  void violation(const std::string& what) {
    ++rep->violation_count;
    if (rep->violations.size() < 50) rep->violations.push_back(what);
  }

  void on_push_answer(const std::string& body) {
    auto r = sync::decode_push_response(body);
    if (!r.ok()) return violation("push answer does not decode: " + r.status().message());
    for (const auto& x : r->results) {
      if (x.outcome == sync::Outcome::kRejected) {
        if (rejected.insert(x.dot).second) {
          ++rep->rejected;
          violation("edit " + x.dot.actor + ":" + std::to_string(x.dot.n) + " of " + x.record_id + " rejected: " +
                    x.error_code + " " + x.error_detail + " " + x.error_fields);
        }
      } else {
        acked.insert(x.dot);
      }
    }
  }

  bool is_acked(const OEdit& e) const { return acked.count(e.dot) > 0; }

  // Photos (SimOptions::photos): the run's files and those a saved record references.
  const std::vector<SimPhoto>* photos = nullptr;
  std::set<std::size_t> referenced;
};


std::string dot_text(const Dot& d) {
  const std::string a = d.actor.size() > 12 ? d.actor.substr(0, 8) + ".." + d.actor.substr(d.actor.size() - 4) : d.actor;
  return a + ":" + std::to_string(d.n);
}

struct SimTablet {
  std::unique_ptr<store::TabletStore> store;
  std::unique_ptr<HttpClient> http;  // through the proxy when there is one
  std::mt19937_64 rng;
  std::int64_t now = 0;
  int form_version = 0;      // Form A version of the app: pushes carry it (0: the record's own, 1)
  bool omit_newer = false;   // a v1 app that drops the fields it does not know before saving
  std::string token;         // the device's bearer token (uploads)
  std::optional<AttachmentBox> box;   // its photo files (SimOptions::photos)
  std::vector<std::size_t> after_push;  // photos to upload once the push carrying them is acknowledged
};

std::string sha256_hex(const std::string& s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), md, &len, EVP_sha256(), nullptr);
  return sync::to_hex(md, len);
}

// `n` small JPEG files of 2-6 KB (a JFIF header and an end marker around seeded random bytes: real
// bytes, several chunks each at the simulator's chunk size); photo i's plan is i % 3 (PhotoPlan).
std::vector<SimPhoto> make_photos(int n, std::uint64_t seed) {
  std::mt19937_64 rng(seed * 104729 + 3);
  std::vector<SimPhoto> out;
  for (int i = 0; i < n; ++i) {
    SimPhoto p;
    const std::size_t size = 2048 + rng() % 4096;
    p.bytes.assign("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00", 20);
    while (p.bytes.size() < size - 2) p.bytes.push_back(static_cast<char>(rng() & 0xff));
    p.bytes += "\xFF\xD9";
    p.ref = {sha256_hex(p.bytes), static_cast<std::int64_t>(p.bytes.size()), "image/jpeg"};
    p.plan = static_cast<PhotoPlan>(i % 3);
    out.push_back(std::move(p));
  }
  return out;
}

// A created record's photo, as the app keeps it: the file goes into the tablet's box now (uploaded
// before the next push), or after that push, or never.
Status take_photo(SimTablet& t, Oracle& o, std::size_t i) {
  const SimPhoto& p = (*o.photos)[i];
  o.referenced.insert(i);
  if (p.plan == PhotoPlan::kAfterPush) t.after_push.push_back(i);
  if (p.plan != PhotoPlan::kBeforePush) return {};
  auto ref = t.box->add(p.bytes, p.ref.media_type);
  if (!ref.ok()) return ref.status();
  return ref->digest == p.ref.digest ? Status() : Status::corruption("the photo box changed a file's digest");
}

// Logs a save just made: its clock is the one the store stamped on the device's version.
Status log_save(store::TabletStore& st, Oracle& o, const std::string& id, const Dot* dot_or_null,
                const std::vector<std::string>& changed, bool deleted) {
  auto rec = st.record(id);
  if (!rec.ok()) return rec.status();
  if (!*rec) return Status::corruption("the record just saved is missing: " + id);
  const store::LocalVersion* v = nullptr;
  for (const auto& x : (*rec)->live)
    if (x.is_local && (dot_or_null == nullptr || x.dot == *dot_or_null)) v = &x;
  if (v == nullptr) return Status::corruption("the save just made is missing from " + id);
  OEdit e{id, v->dot, v->clock, deleted, {}};
  if (!deleted) {
    json body = json::parse(v->body, nullptr, false);
    for (const auto& f : changed)
      if (body.is_object() && body.contains(f)) e.set[f] = body[f];
  }
  o.by_record[id].push_back(e.dot);
  o.edits[e.dot] = std::move(e);
  return {};
}

// A random save from the tablet's own view. `pick` limits edits and deletes to the records it names
// (empty: any). Saves nothing when the record picked is gone or deletion-pending (read-only on a
// tablet, CONFLICTS.md).
Status random_save(SimTablet& t, const SimOptions& opt, Oracle& o, SimReport& rep,
                   const std::vector<std::string>* pick = nullptr) {
  t.now += 60000;
  auto ids = t.store->record_ids();
  if (!ids.ok()) return ids.status();
  if (pick) *ids = *pick;
  const int roll = static_cast<int>(t.rng() % 100);
  if (ids->empty() || roll < opt.create_percent) {
    GeneratedRecord g = generate_survey_record(t.rng);
    if (o.photos && !o.photos->empty() && t.box) {
      // Half of the interviews have a photo, one of the run's (so records share some); the others none.
      json b = json::parse(g.body);
      if (t.rng() % 2) {
        const std::size_t i = t.rng() % o.photos->size();
        b[kPhotoField] = sync::format_attachment_ref((*o.photos)[i].ref);
        if (Status st = take_photo(t, o, i); !st.ok()) return st;
      } else {
        b.erase(kPhotoField);
        g.changed.erase(std::remove(g.changed.begin(), g.changed.end(), kPhotoField), g.changed.end());
      }
      g.body = b.dump();
    }
    if (t.form_version == 2 && t.rng() % 2) {
      json b = json::parse(g.body);
      b[kNewField] = "Vizitë përsëritëse / ponovna poseta " + std::to_string(t.rng() % 100);
      g.body = b.dump();
      g.changed.push_back(kNewField);
    }
    std::array<std::uint8_t, 10> random{};
    for (auto& b : random) b = static_cast<std::uint8_t>(t.rng());
    auto id = t.store->create({kForm, std::max(1, t.form_version), g.scope, g.body, g.changed}, t.now, random);
    if (!id.ok()) return id.status();
    ++rep.saves;
    rep.old_form_saves += t.form_version == 1 ? 1 : 0;
    ++rep.creates;
    return log_save(*t.store, o, *id, nullptr, g.changed, false);
  }
  const std::string& id = (*ids)[t.rng() % ids->size()];
  auto rec = t.store->record(id);
  if (!rec.ok()) return rec.status();
  if (!*rec || (*rec)->is_deleted() || (*rec)->deletion_pending) return {};  // a user does not edit what is gone
  if (roll < opt.create_percent + opt.delete_percent) {
    auto d = t.store->remove(id, t.now);
    if (!d.ok()) return d.status();
    ++rep.saves;
    rep.old_form_saves += t.form_version == 1 ? 1 : 0;
    ++rep.deletes;
    return log_save(*t.store, o, id, &*d, {}, true);
  }
  json body = json::parse((*rec)->live[(*rec)->current].body, nullptr, false);
  if (!body.is_object()) return Status::corruption("record " + id + " has a body that is not an object");
  if ((*rec)->form_id == kInfraForm) {
    // A monitoring visit, valid from what this tablet sees: lower the completion of works not yet
    // completed, record the completion of works at 100 %, or rate the works. Two of them merged can
    // break a rule neither broke (completed at 95 %): a semantic entry.
    std::vector<std::string> changed;
    const std::string status = body.value("status", "");
    const bool done = status == "completed" || status == "handed_over";
    const int move = static_cast<int>(t.rng() % 3);
    if (move == 0 && !done) {
      body["pct_complete"] = t.rng() % 2 ? 95 : 90;
      changed = {"pct_complete"};
    } else if (move == 1 && !done && body.value("pct_complete", 0) == 100) {
      body["status"] = "completed";
      body["actual_end"] = t.rng() % 2 ? "2016-10-14" : "2016-10-20";
      body["maintenance_agreement"] = "written";
      changed = {"actual_end", "maintenance_agreement", "status"};
    } else {
      static const char* quality[] = {"good", "acceptable", "poor"};
      body["works_quality"] = quality[t.rng() % 3];
      changed = {"works_quality"};
    }
    auto d = t.store->edit(id, body.dump(), changed, t.now);
    if (!d.ok()) return d.status();
    ++rep.saves;
    ++rep.edits;
    return log_save(*t.store, o, id, &*d, changed, false);
  }
  // A v1 app that does not keep what it does not know drops the v2-only field (without listing it as
  // changed: the server must not blank it, CONFLICTS.md).
  if (t.form_version == 1 && t.omit_newer) body.erase(kNewField);
  std::vector<std::string> changed;
  const int n = 1 + static_cast<int>(t.rng() % 2);
  for (int i = 0; i < n; ++i) {
    const std::size_t choices = editable_fields().size() + (t.form_version == 2 ? 1 : 0);
    const std::size_t c = t.rng() % choices;
    std::string key;
    if (c == editable_fields().size()) {
      key = kNewField;
      body[key] = "Vizitë përsëritëse / ponovna poseta " + std::to_string(t.rng() % 4);
    } else {
      const EditableField& f = editable_fields()[c];
      key = f.key;
      if (f.values.empty()) {
        body[key] = "Shënim " + std::to_string(t.rng() % 1000) + " / Napomena: posjeta u Gračanici";
      } else {
        body[key] = f.values[t.rng() % f.values.size()];
      }
    }
    if (std::find(changed.begin(), changed.end(), key) == changed.end()) changed.push_back(key);
  }
  auto d = t.store->edit(id, body.dump(), changed, t.now);
  if (!d.ok()) return d.status();
  ++rep.saves;
  rep.old_form_saves += t.form_version == 1 ? 1 : 0;
  ++rep.edits;
  return log_save(*t.store, o, id, &*d, changed, false);
}

// The push body as the tablet's app sends it: every edit carries the app's form version.
std::string as_form_version(const std::string& body, int form_version) {
  if (form_version == 0) return body;
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.contains("edits") || !j["edits"].is_array()) return body;
  for (json& e : j["edits"])
    if (e.value("form", "") == kForm) e["form_version"] = form_version;
  return j.dump();
}

// A push as sent, for the order check.
struct SentPush {
  std::size_t device = 0;
  std::string body;
};

Transport observed(HttpClient& http, Oracle& o, int form_version = 0, std::vector<SentPush>* sent = nullptr,
                   std::size_t device = 0) {
  return [&http, &o, form_version, sent, device](const std::string& method, const std::string& target,
                                                 const std::string& in_body, const Headers& headers) {
    const bool push = method == "POST" && target == "/v1/push";
    const std::string body = push ? as_form_version(in_body, form_version) : in_body;
    if (push && sent && (sent->empty() || sent->back().device != device || sent->back().body != body))
      sent->push_back({device, body});  // a retry resends the same bytes: recorded once
    auto r = http.request(method, target, body, headers);
    // An answer read back after it was lost (GET /v1/push/{batch_id}, PROTOCOL §4.3) acknowledges too.
    const bool answer = push || (method == "GET" && target.rfind("/v1/push/", 0) == 0);
    if (r.ok() && r->status == 200 && answer) o.on_push_answer(r->body);
    return r;
  };
}

// Uploads the tablet's unsent photos the server lacks over `http` (small chunks, so a cut resumes
// mid-file). The number of files the server now holds from it; an upload that gave up on the network
// is counted and tried again at the next sync; any other failure is a violation.
std::size_t upload_photos(SimTablet& t, HttpClient& http, Oracle& o, const SimOptions& opt, SimReport& rep) {
  UploadOptions uo;
  uo.chunk_bytes = 1024;
  uo.max_attempts = opt.max_attempts;
  uo.backoff_initial = std::chrono::milliseconds(opt.backoff_ms);
  uo.backoff_max = std::chrono::milliseconds(opt.backoff_ms * 16);
  auto r = upload_attachments(*t.box, http_transport(http), t.token, uo);
  if (!r.ok()) {
    if (r.status().code() == Status::Code::kIOError) ++rep.photo_upload_failures;
    else o.violation("photo upload failed: " + r.status().message());
    return 0;
  }
  rep.photo_files_sent += r->files;
  rep.photo_bytes_sent += r->bytes_sent;
  rep.photo_file_bytes += r->file_bytes;
  return r->files;
}

Result<SyncSummary> sync_one(SimTablet& t, HttpClient& http, Oracle& o, const SimOptions& opt, SimReport& rep) {
  SyncOptions so;
  so.max_attempts = opt.max_attempts;
  so.batch_edits = 50;
  so.pull_limit = 100;
  so.jitter_seed = t.rng();
  so.backoff_initial = std::chrono::milliseconds(opt.backoff_ms);
  so.backoff_max = std::chrono::milliseconds(opt.backoff_ms * 16);
  SyncClient c(*t.store, observed(http, o, t.form_version), so);
  auto s = c.sync(t.now);
  if (s.ok()) ++rep.syncs;
  return s;
}

// A tablet's sync as the app makes it with photos: the files saved with records go up before the push,
// then the push and pull; the files kept back go up once the push was acknowledged. `uploaded` counts
// the files the server now holds from it.
Result<SyncSummary> sync_tablet(SimTablet& t, HttpClient& http, Oracle& o, const SimOptions& opt, SimReport& rep,
                                std::size_t* uploaded = nullptr) {
  std::size_t files = 0;
  if (t.box) files += upload_photos(t, http, o, opt, rep);
  auto s = sync_one(t, http, o, opt, rep);
  if (s.ok() && t.box && !t.after_push.empty()) {
    for (std::size_t i : t.after_push) {
      const SimPhoto& p = (*o.photos)[i];
      auto ref = t.box->add(p.bytes, p.ref.media_type);
      if (!ref.ok()) return ref.status();
    }
    t.after_push.clear();
    files += upload_photos(t, http, o, opt, rep);
  }
  if (uploaded) *uploaded = files;
  return s;
}

// The server's whole feed with `token`, in pages of `limit`. `seen` counts how often each record came.
Result<std::map<std::string, sync::RecordState>> server_feed(HttpClient& http, const std::string& token,
                                                             int limit, std::map<std::string, int>* seen = nullptr,
                                                             std::string cursor = {}) {
  std::map<std::string, sync::RecordState> out;
  for (int page = 0; page < 1000000; ++page) {
    auto r = http.request("GET", "/v1/changes?since=" + cursor + "&limit=" + std::to_string(limit), {},
                          {{"Authorization", "Bearer " + token}});
    if (!r.ok()) return r.status();
    if (r->status != 200) return Status::io_error("feed: HTTP " + std::to_string(r->status));
    json j = json::parse(r->body, nullptr, false);
    if (j.is_discarded() || !j.contains("changes") || !j.contains("next") || !j["next"].is_string())
      return Status::corruption("feed: malformed page");
    try {
      for (const json& x : j["changes"]) {
        auto s = sync::decode_record_state(x);
        if (!s.ok()) return s.status();
        if (seen) ++(*seen)[s->record_id];
        out[s->record_id] = std::move(*s);
      }
    } catch (const std::exception& e) {
      return Status::corruption(std::string("feed: ") + e.what());
    }
    cursor = j["next"].get<std::string>();
    auto more = j.find("more");
    if (more == j.end() || !more->is_boolean() || !more->get<bool>()) return out;
  }
  return Status::corruption("feed: never ended");
}

Result<std::vector<Entry>> inbox(HttpClient& http, const std::string& admin_token) {
  std::vector<Entry> out;
  std::string before;
  for (int page = 0; page < 100000; ++page) {
    auto r = http.request("GET", "/v1/admin/conflicts?status=all&limit=500" + (before.empty() ? "" : "&before=" + before),
                          {}, {{"Authorization", "Bearer " + admin_token}});
    if (!r.ok()) return r.status();
    if (r->status != 200) return Status::io_error("conflicts: HTTP " + std::to_string(r->status) + " " + r->body);
    json j = json::parse(r->body, nullptr, false);
    if (j.is_discarded() || !j.contains("entries") || !j["entries"].is_array())
      return Status::corruption("conflicts: malformed page");
    try {
      for (const json& x : j["entries"]) {
        Entry e{x.at("record").get<std::string>(), x.at("kind").get<std::string>(), x.value("path", ""),
                x.at("status").get<std::string>(), {}, {}, x};
        for (const json& c : x.value("candidates", json::array())) {
          Dot d{c.at("dot").at("actor").get<std::string>(), c.at("dot").at("n").get<std::int64_t>()};
          // `absent` is a flag for field candidates, a list of fields for semantic ones.
          const bool absent = c.contains("absent") && c["absent"].is_boolean() && c["absent"].get<bool>();
          e.candidates.emplace_back(d, absent ? json() : c.value("value", json()));
          e.deleted.push_back(c.contains("deleted") && c["deleted"].is_boolean() && c["deleted"].get<bool>());
        }
        out.push_back(std::move(e));
      }
    } catch (const std::exception& e) {
      return Status::corruption(std::string("conflicts: ") + e.what());
    }
    auto nb = j.find("next_before");
    if (nb == j.end() || nb->is_null()) return out;
    before = nb->is_string() ? nb->get<std::string>() : nb->dump();
  }
  return Status::corruption("conflicts: never ended");
}

void compare(std::size_t k, store::TabletStore& st, const std::map<std::string, sync::RecordState>& feed,
             SimReport& rep) {
  auto problem = [&rep, k](const std::string& what) {
    ++rep.violation_count;
    if (rep.problems.size() < 20) rep.problems.push_back("tablet " + std::to_string(k) + ": " + what);
  };
  auto ids = st.record_ids();
  if (!ids.ok()) return problem(ids.status().message());
  if (ids->size() != feed.size())
    problem(std::to_string(ids->size()) + " records, the server has " + std::to_string(feed.size()));
  for (const auto& [id, state] : feed) {
    auto r = st.record(id);
    if (!r.ok() || !*r) {
      problem("record " + id + " missing");
      continue;
    }
    const store::LocalRecord& lr = **r;
    bool same = lr.unsynced == 0 && lr.live.size() == state.live.size() && lr.deletion_pending == state.deletion_pending &&
                lr.conflicted == state.conflicted;
    for (std::size_t i = 0; same && i < state.live.size(); ++i)
      same = lr.live[i].dot == state.live[i].dot && lr.live[i].body == state.live[i].body &&
             lr.live[i].deleted == state.live[i].deleted && !lr.live[i].is_local;
    if (!same) problem("record " + id + " differs from the server");
  }
}

bool same_state(const sync::RecordState& a, const sync::RecordState& b) {
  if (a.seq != b.seq || a.deleted != b.deleted || a.live.size() != b.live.size()) return false;
  for (std::size_t i = 0; i < a.live.size(); ++i)
    if (a.live[i].dot != b.live[i].dot || a.live[i].body != b.live[i].body) return false;
  return true;
}

bool concurrent(const OEdit& a, const OEdit& b) { return !a.clock.contains(b.dot) && !b.clock.contains(a.dot); }

// DESIGN §7.2 and §7.3 against the final feed and inbox. Per record, over the ACKNOWLEDGED edits E:
//  2a every e in E: some live version's clock contains e.dot;
//  2b every e in E that deletes: the record is deleted, or deletion-pending, or has a delete_edit entry,
//     or some e' in E contains e.dot in its clock (a causally later edit);
//  2c every e in E and field f it set to v: the live body has f = v; or some e' in E causally after e
//     deleted the record or set f; or an entry for (record, f) has a candidate with value v (without
//     the inbox: the feed lists f in the record's `conflicted`);
//  3a (no false merge; records without deletions): for each field f, the maximal setters of f in E (no
//     other setter of f in E is causally after them) that disagree must all appear as candidate values
//     of an entry for (record, f);
//  3b (no false conflict): every `field` entry has two concurrent edits in E setting its path to
//     different values, and each candidate is an edit in E that set the path to that value; every
//     `delete_edit` entry has a deletion in E concurrent with an edit in E; no other kind appears.
void check_oracle(Oracle& o, const std::map<std::string, sync::RecordState>& feed, const std::vector<Entry>* entries,
                  SimReport& rep) {
  std::map<std::string, std::vector<const Entry*>> by_record;
  if (entries)
    for (const Entry& e : *entries) by_record[e.record].push_back(&e);
  auto entry_for = [&](const std::string& r, const std::string& path) -> const Entry* {
    for (const Entry* e : by_record[r])
      if (e->kind == "field" && e->path == path) return e;
    return nullptr;
  };
  for (const auto& [rid, dots] : o.by_record) {
    std::vector<const OEdit*> E;
    for (const Dot& d : dots)
      if (o.acked.count(d)) E.push_back(&o.edits.at(d));
    if (E.empty()) continue;
    auto fit = feed.find(rid);
    if (fit == feed.end()) {
      o.violation("record " + rid + " has acknowledged edits but is not in the feed");
      continue;
    }
    const sync::RecordState& st = fit->second;
    json body = st.live.empty() ? json::object() : json::parse(st.live.front().body, nullptr, false);
    auto later = [&](const OEdit& e, const std::string* field) {
      for (const OEdit* x : E)
        if (x->dot != e.dot && x->clock.contains(e.dot) && (field == nullptr || x->deleted || x->set.count(*field)))
          return true;
      return false;
    };
    const Entry* delete_entry = nullptr;
    for (const Entry* e : by_record[rid])
      if (e->kind == "delete_edit" && (!delete_entry || e->status == "open")) delete_entry = e;
    // A delete superseded by a causally later acknowledged delete (its own line's, or another's).
    auto later_delete = [&](const OEdit& e) {
      for (const OEdit* x : E)
        if (x->dot != e.dot && x->deleted && x->clock.contains(e.dot)) return true;
      return false;
    };
    // The clock of a candidate's version: an acknowledged edit's, or a live server version's.
    auto clock_of = [&](const Dot& d) -> const sync::VectorClock* {
      auto it = o.edits.find(d);
      if (it != o.edits.end()) return &it->second.clock;
      for (const auto& v : st.live)
        if (v.dot == d) return &v.clock;
      return nullptr;
    };
    std::vector<const OEdit*> standing;  // acknowledged deletes no later delete superseded
    for (const OEdit* e : E)
      if (e->deleted && !later_delete(*e)) standing.push_back(e);
    for (const OEdit* e : E) {
      bool covered = false;
      for (const auto& v : st.live) covered = covered || v.clock.contains(e->dot);
      if (!covered) o.violation("lost: edit " + dot_text(e->dot) + " of " + rid + " is not in the live clock");
      if (e->deleted) {
        // 2b: deleted, superseded, or a `deleted` candidate of the delete_edit entry.
        ++rep.deletes_checked;
        if (st.deleted || later_delete(*e)) continue;
        bool candidate = false;
        if (delete_entry)
          for (std::size_t i = 0; i < delete_entry->candidates.size(); ++i)
            candidate = candidate || (delete_entry->candidates[i].first == e->dot && delete_entry->deleted[i]);
        if (candidate || (!entries && st.deletion_pending)) continue;
        o.violation("lost: deletion " + dot_text(e->dot) + " of " + rid + (st.deletion_pending ? " (deletion pending)" : "") +
                    (delete_entry ? " is not a candidate of its delete_edit entry" : " has no effect and no delete_edit entry") +
                    " (live " + dot_text(st.live.front().dot) + ", " + std::to_string(st.live.size()) + " live)" +
                    (entries ? "" : " (inbox not read)"));
        continue;
      }
      // 2d: an edit concurrent with a standing delete is a keep candidate of the delete_edit entry (or
      // a causally later edit of it is); on a deleted record, a causally later delete superseded it.
      const OEdit* against = nullptr;
      for (const OEdit* d : standing)
        if (concurrent(*d, *e)) against = d;
      if (against && !later_delete(*e)) {
        if (st.deleted) {
          o.violation("lost: edit " + dot_text(e->dot) + " of " + rid + ", concurrent with deletion " +
                      dot_text(against->dot) + ", vanished with the record");
        } else if (entries) {
          bool kept = false;
          if (delete_entry)
            for (std::size_t i = 0; i < delete_entry->candidates.size(); ++i) {
              const sync::VectorClock* c = clock_of(delete_entry->candidates[i].first);
              kept = kept || (!delete_entry->deleted[i] && c && c->contains(e->dot));
            }
          if (!kept) {
            std::string cands;
            if (delete_entry)
              for (std::size_t i = 0; i < delete_entry->candidates.size(); ++i)
                cands += " " + dot_text(delete_entry->candidates[i].first) + (delete_entry->deleted[i] ? "(delete)" : "(keep)");
            o.violation("lost: edit " + dot_text(e->dot) + " of " + rid + ", concurrent with deletion " +
                        dot_text(against->dot) + ", is not a keep candidate" +
                        (delete_entry ? " of the delete_edit entry (candidates:" + cands + ")" : " (no delete_edit entry)"));
          }
        }
      }
      for (const auto& [f, v] : e->set) {
        ++rep.fields_checked;
        if (!st.deleted && body.is_object() && body.contains(f) && body[f] == v) continue;
        if (later(*e, &f)) continue;
        const Entry* en = entry_for(rid, f);
        bool candidate = false;
        if (en)
          for (const auto& c : en->candidates) candidate = candidate || c.second == v;
        if (candidate) continue;
        // Without the inbox (no admin token) a field the feed flags as conflicted is given the benefit
        // of the doubt: its candidates cannot be read.
        if (!entries && std::find(st.conflicted.begin(), st.conflicted.end(), f) != st.conflicted.end()) continue;
        o.violation("lost: field " + f + " = " + v.dump() + " of edit " + dot_text(e->dot) + " on " + rid +
                    (entries ? "" : " (inbox not read)"));
      }
    }
    if (!entries) continue;
    // 3a
    std::map<std::string, std::vector<const OEdit*>> setters;
    for (const OEdit* e : E)
      for (const auto& [f, v] : e->set) setters[f].push_back(e);
    // Setters a causally later delete superseded are left out (their values went with the deletion).
    if (!st.deleted) {
      for (const auto& [f, all] : setters) {
        std::vector<const OEdit*> S;
        for (const OEdit* e : all)
          if (!later_delete(*e)) S.push_back(e);
        std::vector<const OEdit*> maximal;
        for (const OEdit* e : S) {
          bool dominated = false;
          for (const OEdit* x : all) dominated = dominated || (x != e && x->clock.contains(e->dot));
          if (!dominated) maximal.push_back(e);
        }
        if (maximal.empty()) continue;
        bool differ = false;
        for (const OEdit* m : maximal) differ = differ || m->set.at(f) != maximal.front()->set.at(f);
        if (!differ) continue;
        const Entry* en = entry_for(rid, f);
        if (!en) {
          o.violation("false merge: concurrent values of " + f + " on " + rid + " without a conflict entry");
          continue;
        }
        for (const OEdit* m : maximal) {
          bool found = false;
          for (const auto& c : en->candidates) found = found || c.second == m->set.at(f);
          if (!found)
            o.violation("false merge: value " + m->set.at(f).dump() + " of " + f + " on " + rid + " (edit " +
                        dot_text(m->dot) + ") is not a candidate");
        }
      }
    }
    // 3b
    for (const Entry* en : by_record[rid]) {
      if (en->kind == "delete_edit") {
        bool ok = false;
        for (const OEdit* a : E)
          for (const OEdit* b : E) ok = ok || (a->deleted && !b->deleted && concurrent(*a, *b));
        if (!ok) o.violation("false conflict: delete_edit entry on " + rid + " without a concurrent delete and edit");
        for (std::size_t i = 0; i < en->candidates.size(); ++i) {
          const Dot& d = en->candidates[i].first;
          auto it = o.edits.find(d);
          if (it == o.edits.end()) {
            if (o.actors.count(d.actor))
              o.violation("delete_edit entry on " + rid + ": candidate " + dot_text(d) + " is no acknowledged edit");
            continue;  // a server version (a merge)
          }
          if (it->second.record != rid || !o.acked.count(d) || it->second.deleted != en->deleted[i])
            o.violation("delete_edit entry on " + rid + ": candidate " + dot_text(d) + " (deleted " +
                        std::to_string(en->deleted[i]) + ") does not match the acknowledged edit");
        }
        continue;
      }
      if (en->kind != "field") {
        o.violation("unexpected " + en->kind + " entry on " + rid + " (" + en->path + ")");
        continue;
      }
      const auto& S = setters[en->path];
      bool pair = false;
      for (const OEdit* a : S)
        for (const OEdit* b : S) pair = pair || (concurrent(*a, *b) && a->set.at(en->path) != b->set.at(en->path));
      if (!pair) o.violation("false conflict: entry for " + en->path + " on " + rid + " without concurrent different values");
      for (const auto& [d, v] : en->candidates) {
        bool ok = false;
        for (const OEdit* a : S) ok = ok || (a->dot == d && a->set.at(en->path) == v);
        if (!ok) o.violation("conflict entry for " + en->path + " on " + rid + ": candidate " + v.dump() + " by " +
                             dot_text(d) + " is not an acknowledged edit's value");
      }
    }
  }
}

// Form A version 2: version 1 of forms_dir plus the field kNewField.
Result<std::string> form_a_v2(const std::string& forms_dir) {
  std::ifstream in(forms_dir + "/" + kForm + ".json");
  json j = json::parse(std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()), nullptr,
                       false);
  if (j.is_discarded() || !j.contains("fields") || !j["fields"].is_array())
    return Status::invalid_argument(std::string("no form ") + kForm + " in " + forms_dir);
  j["version"] = 2;
  j["fields"].push_back({{"key", kNewField},
                         {"type", "text"},
                         {"label", {{"en", "Follow-up visit note (version 2)"}, {"sq", "Shënim i vizitës pasuese (versioni 2)"}, {"sr", "Напомена о накнадној посети (верзија 2)"}}},
                         {"length", {{"max", 200}}},
                         {"sensitivity", "-"}});
  return j.dump(1);
}

// Logs in as the admin `user` and, with forms_dir, uploads and publishes every form there (and Form A
// version 2 when `form_v2`); returns the admin's session token.
Result<std::string> prepare_server(const std::string& host, std::uint16_t port, const std::string& user,
                                   const std::string& password, const std::string& forms_dir, bool form_v2) {
  namespace fs = std::filesystem;
  HttpClient http(host, port);
  const Headers ct{{"Content-Type", "application/json"}};
  auto login = http.request("POST", "/v1/login", json{{"username", user}, {"password", password}}.dump(), ct);
  if (!login.ok()) return login.status();
  if (login->status != 200) return Status::io_error("admin login: HTTP " + std::to_string(login->status));
  const std::string token = json::parse(login->body, nullptr, false).value("token", "");
  if (forms_dir.empty()) return token;
  const Headers admin{{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
  std::vector<std::string> defs;
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(forms_dir, ec))
    if (f.path().extension() == ".json") files.push_back(f.path());
  std::sort(files.begin(), files.end());
  if (files.empty()) return Status::invalid_argument("no form definitions (*.json) in " + forms_dir);
  for (const auto& f : files) {
    std::ifstream in(f);
    defs.emplace_back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  if (form_v2) {
    auto v2 = form_a_v2(forms_dir);
    if (!v2.ok()) return v2.status();
    defs.push_back(*v2);
  }
  for (const auto& def : defs) {
    json j = json::parse(def, nullptr, false);
    if (j.is_discarded() || !j.contains("form_id")) return Status::invalid_argument("not a form: " + def.substr(0, 60));
    const std::string name = j["form_id"].get<std::string>() + " v" + std::to_string(j["version"].get<int>());
    auto up = http.request("POST", "/v1/admin/forms", def, admin);
    if (!up.ok()) return up.status();
    if (up->status != 201 && up->status != 409)
      return Status::io_error("upload " + name + ": HTTP " + std::to_string(up->status) + " " + up->body);
    auto pub = http.request("POST", "/v1/admin/forms/" + j["form_id"].get<std::string>() + "/" +
                                        std::to_string(j["version"].get<int>()) + "/publish", "{}", admin);
    if (!pub.ok()) return pub.status();
    if (pub->status != 200 && pub->status != 409)
      return Status::io_error("publish " + name + ": HTTP " + std::to_string(pub->status) + " " + pub->body);
  }
  return token;
}

struct Managed {
  std::unique_ptr<ServerProcess> server;
  std::vector<std::unique_ptr<ServerProcess>> others;  // more instances on the same database
  std::string admin_token;
  std::vector<SimDevice> devices;
  // The instance the restart SIGKILLs: the last one.
  ServerProcess* victim() const { return others.empty() ? server.get() : others.back().get(); }
  std::vector<std::uint16_t> ports() const {
    std::vector<std::uint16_t> out{server->port()};
    for (const auto& o : others) out.push_back(o->port());
    return out;
  }
};

Result<Managed> start_managed(const SimOptions& o) {
  Managed m;
  namespace fs = std::filesystem;
  const std::string dir = o.work_dir + "/server";
  std::error_code ec;
  fs::create_directories(dir + "/data", ec);
  if (ec) return Status::io_error("cannot make " + dir + ": " + ec.message());
  std::mt19937_64 rng(o.seed * 104729 + 17);
  json cfg{{"listen", "127.0.0.1:0"},
           {"data_dir", dir + "/data"},
           {"log_level", "warn"},
           {"io_threads", 2},
           {"workers", 4},
           {"forms", {{"validate", true}}},
           {"accounts", {{"password_kdf_n", 1024}}},
           {"limits", {{"requests_per_minute", 0}}},
           {"devices", json::array()}};
  for (int k = 0; k < o.tablets; ++k) {
    std::array<std::uint8_t, 16> b{};
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    SimDevice d{sync::format_uuid(sync::make_uuid_v4(b)), "sim-token-" + std::to_string(rng())};
    cfg["devices"].push_back({{"actor", d.actor}, {"name", "sim-" + std::to_string(k)}, {"token_sha256", sha256_hex(d.token)}});
    m.devices.push_back(d);
  }
  const std::string config = dir + "/aktsyncd.json";
  if (!o.postgres_url.empty()) cfg["store"] = {{"engine", "postgres"}, {"url", o.postgres_url}};
  std::ofstream(config) << cfg.dump(2) << "\n";
  const std::string pw = "sim-admin-password-" + std::to_string(o.seed);
  std::ofstream(dir + "/admin-password") << pw << "\n";
  if (int rc = run_child(o.aktsyncd, {"--config", config, "--create-user", "simadmin", "--role", "admin",
                                      "--password-file", dir + "/admin-password"},
                         dir + "/aktsyncd.log");
      rc != 0 && rc != 3)  // 3: the user exists (a re-run on the same folder)
    return Status::io_error("aktsyncd --create-user failed (" + std::to_string(rc) + "); see " + dir + "/aktsyncd.log");
  auto srv = ServerProcess::start(o.aktsyncd, config, dir);
  if (!srv.ok()) return srv.status();
  m.server = std::move(*srv);
  // More instances on the same database, each with its own data folder, started before the forms are
  // published (on the first): they learn of the forms from the database, as in production.
  for (int i = 1; i < o.instances; ++i) {
    const std::string d = o.work_dir + "/server-" + std::to_string(i);
    fs::create_directories(d + "/data", ec);
    if (ec) return Status::io_error("cannot make " + d + ": " + ec.message());
    json c = cfg;
    c["data_dir"] = d + "/data";
    // One pseudonym key for the database (STORE.md §12), as an operator copies it: the first server's.
    if (!c.contains("pseudonym_key_file")) c["pseudonym_key_file"] = cfg["data_dir"].get<std::string>() + "/pseudonym.key";
    std::ofstream(d + "/aktsyncd.json") << c.dump(2) << "\n";
    auto other = ServerProcess::start(o.aktsyncd, d + "/aktsyncd.json", d);
    if (!other.ok()) return other.status();
    m.others.push_back(std::move(*other));
  }
  auto token = prepare_server("127.0.0.1", m.server->port(), "simadmin", pw, o.forms_dir, o.old_form_percent > 0);
  if (!token.ok()) return token.status();
  m.admin_token = *token;
  return m;
}

// The photos at the end (SimOptions::photos): every file a tablet was to upload is held (nothing unsent
// in its box) and readable by digest with `token`, byte for byte; a never-uploaded one is not readable;
// and a live record is pending_upload for its photo exactly when that photo was never uploaded.
void check_photos(Oracle& o, std::vector<SimTablet>& tablets, HttpClient& http, const std::string& token,
                  const std::map<std::string, sync::RecordState>& feed, SimReport& rep) {
  for (std::size_t k = 0; k < tablets.size(); ++k) {
    const std::size_t unsent = tablets[k].box ? tablets[k].box->unsent().size() : 0;
    if (unsent > 0) o.violation("photo: tablet " + std::to_string(k) + " still has " + std::to_string(unsent) + " files unsent");
    if (!tablets[k].after_push.empty()) o.violation("photo: tablet " + std::to_string(k) + " kept files back after its last push");
  }
  std::set<std::string> never;  // references of the photos never uploaded
  rep.photos_referenced = o.referenced.size();
  for (std::size_t i : o.referenced) {
    const SimPhoto& p = (*o.photos)[i];
    auto r = http.request("GET", "/v1/blobs/" + p.ref.digest, {}, {{"Authorization", "Bearer " + token}});
    if (!r.ok()) {
      o.violation("photo " + p.ref.digest.substr(0, 12) + ": " + r.status().message());
      continue;
    }
    if (p.plan == PhotoPlan::kNever) {
      ++rep.photos_never;
      never.insert(sync::format_attachment_ref(p.ref));
      if (r->status != 404) o.violation("photo " + p.ref.digest.substr(0, 12) + " was never uploaded but reads HTTP " + std::to_string(r->status));
    } else if (r->status != 200 || r->body != p.bytes) {
      o.violation("photo " + p.ref.digest.substr(0, 12) + " uploaded but reads HTTP " + std::to_string(r->status) +
                  (r->status == 200 ? " with other bytes" : ""));
    } else {
      ++rep.photos_read;
    }
  }
  for (const auto& [id, st] : feed) {
    if (st.deleted || st.out_of_scope) continue;
    bool photo = false, missing = false;
    for (const sync::Version& v : st.live) {
      const json b = json::parse(v.body, nullptr, false);
      if (v.deleted || !b.is_object() || !b.contains(kPhotoField) || !b[kPhotoField].is_string()) continue;
      photo = true;
      missing = missing || never.count(b[kPhotoField].get<std::string>()) > 0;
    }
    rep.photo_records += photo ? 1 : 0;
    const bool pending = std::find(st.pending_upload.begin(), st.pending_upload.end(), kPhotoField) != st.pending_upload.end();
    rep.pending_records += pending ? 1 : 0;
    if (pending != missing)
      o.violation("photo: record " + id + (missing ? " holds a photo never uploaded but is not pending_upload"
                                                   : " is pending_upload but its photo was uploaded"));
    if (st.pending_upload.size() > (pending ? 1u : 0u)) o.violation("photo: record " + id + " pending_upload for other paths");
  }
}

}  // namespace

Result<SimReport> run_fleet(const SimOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  SimOptions o = opt;
  Managed managed;
  if (o.instances < 1 || (o.instances > 1 && (o.aktsyncd.empty() || o.postgres_url.empty())))
    return Status::invalid_argument("several instances need a managed server (aktsyncd) on PostgreSQL (postgres_url)");
  if (o.instances > 1) o.use_proxy = true;  // the round robin is the proxy's
  if (!o.aktsyncd.empty()) {
    if (o.tablets < 1) return Status::invalid_argument("the simulation needs at least one tablet");
    auto m = start_managed(o);
    if (!m.ok()) return m.status();
    managed = std::move(*m);
    o.devices = managed.devices;
    o.admin_token = managed.admin_token;
    o.port = managed.server->port();
  }
  if (o.devices.empty()) return Status::invalid_argument("the simulation needs at least one device");
  if (!managed.server && !o.admin_user.empty()) {
    auto token = prepare_server(o.host, o.port, o.admin_user, o.admin_password, o.forms_dir, o.old_form_percent > 0);
    if (!token.ok()) return token.status();
    o.admin_token = *token;
  }
  if (o.old_form_percent > 0 && o.forms_dir.empty())
    return Status::invalid_argument("tablets on an older form version need the forms (forms_dir) published");
  if (o.photos > 0 && o.forms_dir.empty())
    return Status::invalid_argument("photos need the forms (forms_dir) published: the server finds photo fields by form");
  SimReport rep;
  Oracle oracle;
  oracle.rep = &rep;
  const std::vector<SimPhoto> photos = make_photos(o.photos, o.seed);
  oracle.photos = &photos;
  for (const auto& d : o.devices) oracle.actors.insert(d.actor);
  std::unique_ptr<FaultProxy> proxy;
  if (o.use_proxy) {
    FaultOptions f = o.faults;
    f.seed = o.seed * 31 + 7;
    auto p = FaultProxy::start(o.port, f);
    if (!p.ok()) return p.status();
    proxy = std::move(*p);
    if (o.instances > 1) proxy->set_upstream_ports(managed.ports());
  }
  rep.instances = static_cast<std::size_t>(o.instances);
  const std::uint16_t path_port = proxy ? proxy->port() : o.port;
  std::vector<SimTablet> tablets;
  for (std::size_t k = 0; k < o.devices.size(); ++k) {
    // Simulated tablets skip the fsync per save (their crash safety is tablet_store_test's subject).
    auto st = store::TabletStore::open(o.work_dir + "/tablet-" + std::to_string(k) + ".db", false);
    if (!st.ok()) return st.status();
    if (!(*st)->device().ok()) {
      const std::string server = o.host + ":" + std::to_string(o.port);
      if (Status s = (*st)->init({o.devices[k].actor, server, o.devices[k].token}, o.seed * 1000 + k, o.start_ms);
          !s.ok())
        return s;
    }
    tablets.push_back({std::move(*st), std::make_unique<HttpClient>(o.host, path_port),
                       std::mt19937_64(o.seed * 7919 + k), o.start_ms, 0, false, o.devices[k].token, std::nullopt, {}});
    if (o.photos > 0) {
      auto box = AttachmentBox::open(o.work_dir + "/tablet-" + std::to_string(k) + ".attachments");
      if (!box.ok()) return box.status();
      tablets.back().box = std::move(*box);
    }
    if (o.old_form_percent > 0) {
      SimTablet& t = tablets.back();
      t.form_version = static_cast<int>(t.rng() % 100) < o.old_form_percent ? 1 : 2;
      t.omit_newer = t.form_version == 1 && rep.old_form_tablets++ % 2 == 1;
    }
  }
  rep.tablets = tablets.size();
  // The server restart: SIGKILL a few ms into one tablet's sync in a seeded round, then start it again.
  int restart_round = o.restart_at_round;
  if (restart_round == kSeededRestart) restart_round = o.rounds / 4 + static_cast<int>(o.seed % static_cast<std::uint64_t>(std::max(1, o.rounds / 2)));
  const std::size_t restart_tablet = static_cast<std::size_t>(o.seed % tablets.size());
  const int kill_after_ms = static_cast<int>(o.seed % 7);
  std::string mid_cursor, mid_token;
  for (int round = 0; round < o.rounds; ++round) {
    for (std::size_t k = 0; k < tablets.size(); ++k) {
      SimTablet& t = tablets[k];
      for (int i = 0; i < o.ops_per_round; ++i) {
        if (Status s = random_save(t, o, oracle, rep); !s.ok()) return s;
      }
      const bool restart = managed.server && round == restart_round && k == restart_tablet;
      if (static_cast<int>(t.rng() % 100) < o.sync_percent || restart) {
        std::thread killer;
        std::shared_ptr<std::atomic<bool>> fired;
        if (restart && o.instances > 1) {
          // Several servers: SIGKILL the last one the moment a request of this sync was written to it,
          // before its answer (the proxy's thread calls this): a request in flight on the killed server.
          fired = std::make_shared<std::atomic<bool>>(false);
          ServerProcess* victim = managed.victim();
          const std::uint16_t victim_port = victim->port();
          proxy->set_on_forwarded([victim, victim_port, fired](std::uint16_t port) {
            if (port == victim_port && !fired->exchange(true)) victim->kill9();
          });
        } else if (restart) {
          killer = std::thread([&managed, kill_after_ms] {
            std::this_thread::sleep_for(std::chrono::milliseconds(kill_after_ms));
            managed.victim()->kill9();
          });
        }
        auto s = sync_tablet(t, *t.http, oracle, o, rep);
        if (restart) {
          if (killer.joinable()) killer.join();
          if (fired) {
            proxy->set_on_forwarded(nullptr);
            if (fired->exchange(true)) ++rep.kills_in_flight;
            else managed.victim()->kill9();  // no request of that sync reached it: killed now
          }
          ++rep.kills;
          if (o.instances == 1 || o.restart_killed) {
            if (Status st = managed.victim()->restart(); !st.ok()) return st;
            ++rep.restarts;
          }
          if (o.instances > 1) {
            // Killed and left down: the proxy skips its refused port. Restarted: its new port joins.
            if (o.restart_killed) proxy->set_upstream_ports(managed.ports());
          } else {
            o.port = managed.server->port();
            if (proxy) proxy->set_upstream_port(o.port);
            else
              for (SimTablet& x : tablets) x.http = std::make_unique<HttpClient>(o.host, o.port);
          }
        }
        if (!s.ok()) {
          if (s.status().code() == Status::Code::kIOError) ++rep.failed_syncs;
          else oracle.violation("sync failed: " + s.status().message());
        } else if (mid_cursor.empty() && round >= o.rounds / 2) {
          // A cursor from the middle of the run, and what was acknowledged when it was issued.
          auto dev = t.store->device();
          if (dev.ok() && !dev->cursor.empty()) {
            mid_cursor = dev->cursor;
            mid_token = o.devices[k].token;
          }
        }
      }
    }
  }
  // Settle, fault-free and straight to the server: everyone syncs until a whole pass moves nothing.
  if (proxy) proxy->set_faults(false);
  std::vector<std::unique_ptr<HttpClient>> direct;
  // Several instances: through the proxy still (faults off), so that settling uses every instance.
  const std::uint16_t settle_port = o.instances > 1 ? proxy->port() : o.port;
  for (std::size_t k = 0; k < tablets.size(); ++k) direct.push_back(std::make_unique<HttpClient>(o.host, settle_port));
  for (rep.settle_passes = 1; rep.settle_passes <= 10; ++rep.settle_passes) {
    bool moved = false;
    for (std::size_t k = 0; k < tablets.size(); ++k) {
      std::size_t uploaded = 0;
      auto s = sync_tablet(tablets[k], *direct[k], oracle, o, rep, &uploaded);
      if (!s.ok()) return s.status();
      // A file that arrives gives its records a new feed position: one more pass pulls them.
      moved = moved || s->pushed > 0 || s->pulled > 0 || uploaded > 0;
    }
    if (!moved) break;
  }
  if (proxy) {
    rep.faults = proxy->counts();
    proxy->stop();
    if (rep.faults.replay_mismatch > 0)
      oracle.violation(std::to_string(rep.faults.replay_mismatch) + " replayed pushes answered differently");
  }
  HttpClient http(o.host, o.port);
  auto feed = server_feed(http, o.devices.front().token, 5000);
  if (!feed.ok()) return feed.status();
  rep.records = feed->size();
  for (const auto& [id, s] : *feed) rep.conflicts += s.conflict ? 1 : 0;
  // §7.1
  for (std::size_t k = 0; k < tablets.size(); ++k) compare(k, *tablets[k].store, *feed, rep);
  rep.converged = rep.problems.empty();
  // §7.5: small pages from the start give every record once, at the state of the one big page.
  std::map<std::string, int> seen;
  auto paged = server_feed(http, o.devices.front().token, 7, &seen);
  if (!paged.ok()) return paged.status();
  for (const auto& [id, n] : seen)
    if (n != 1) oracle.violation("feed: record " + id + " came " + std::to_string(n) + " times");
  for (const auto& [id, s] : *feed) {
    auto it = paged->find(id);
    if (it == paged->end()) oracle.violation("feed: record " + id + " missing from the paged feed");
    else if (!same_state(it->second, s)) oracle.violation("feed: record " + id + " differs between page sizes");
  }
  if (paged->size() != feed->size()) oracle.violation("feed: paged and whole feeds differ in size");
  // §7.5 from a cursor a tablet got in the middle of the run: exactly the records whose latest change
  // is after it, each once, at its latest state. (The oracle peeks into the cursor, `<epoch>-<seq>-<scope
  // version>` by PROTOCOL §5.1, for the seq; clients never do.)
  if (!mid_cursor.empty()) {
    const auto parsed = sync::parse_cursor(mid_cursor);
    const long long mid_seq = parsed ? parsed->seq : -1;
    std::map<std::string, int> since_seen;
    auto since = server_feed(http, mid_token, 13, &since_seen, mid_cursor);
    if (!since.ok()) return since.status();
    if (mid_seq <= 0) oracle.violation("feed: cursor " + mid_cursor + " has no seq");
    ++rep.cursor_checks;
    for (const auto& [id, st] : *feed) {
      const bool after = st.seq > mid_seq;
      auto it = since->find(id);
      if (after && it == since->end())
        oracle.violation("feed: record " + id + " changed after a mid-run cursor but missing from the feed since it");
      if (!after && it != since->end())
        oracle.violation("feed: record " + id + " unchanged since a mid-run cursor but in the feed since it");
      if (it != since->end() && !same_state(it->second, st))
        oracle.violation("feed: record " + id + " from the mid-run cursor is not at its latest state");
      if (it != since->end() && since_seen[id] != 1)
        oracle.violation("feed: record " + id + " came twice since the mid-run cursor");
    }
    if (since->size() > feed->size()) oracle.violation("feed: more records since a cursor than in the whole feed");
  }
  // Every save must have been acknowledged by now.
  for (const auto& [d, e] : oracle.edits)
    if (!oracle.acked.count(d) && !oracle.rejected.count(d))
      oracle.violation("edit " + dot_text(d) + " of " + e.record + " never acknowledged");
  if (o.inject_lost_ack && !oracle.by_record.empty()) {
    // A fake acknowledgement of an edit the server never received.
    const std::string& rid = oracle.by_record.begin()->first;
    OEdit fake{rid, Dot{o.devices.front().actor, 1'000'000'000}, {}, false, {{"comments", "never pushed"}}};
    fake.clock.advance(fake.dot.actor, fake.dot.n);
    oracle.by_record[rid].push_back(fake.dot);
    oracle.acked.insert(fake.dot);
    oracle.edits[fake.dot] = fake;
    // And a real acknowledged edit whose logged value of a field differs from what was sent, for a field
    // no causally later edit set again: as if the server had kept another value.
    bool done = false;
    for (auto& [d, e] : oracle.edits) {
      if (done || !oracle.acked.count(d) || e.deleted || d == fake.dot) continue;
      for (auto& [f, v] : e.set) {
        bool later = false;
        for (const Dot& x : oracle.by_record[e.record]) {
          const OEdit& o2 = oracle.edits.at(x);
          later = later || (x != d && oracle.acked.count(x) && o2.clock.contains(d) && (o2.deleted || o2.set.count(f)));
        }
        if (!later) {
          v = "tampered by the oracle self-test";
          done = true;
          break;
        }
      }
    }
  }
  rep.acked = oracle.acked.size();
  std::vector<Entry> entries;
  if (!o.admin_token.empty()) {
    auto e = inbox(http, o.admin_token);
    if (!e.ok()) return e.status();
    entries = std::move(*e);
    rep.entries = entries.size();
    rep.inbox_checked = true;
  }
  check_oracle(oracle, *feed, rep.inbox_checked ? &entries : nullptr, rep);
  if (!photos.empty()) check_photos(oracle, tablets, http, o.devices.front().token, *feed, rep);
  if (managed.server) {
    if (Status s = managed.server->stop(); !s.ok()) oracle.violation(s.message());
  }
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

}  // namespace akt::client

// ---- Order independence (DESIGN §7.4) ----

namespace akt::client {
namespace {

struct RecOutcome {
  bool deleted = false, pending = false;
  std::set<std::string> flagged;
  json body;  // the live body (provisional values included; compared without the flagged paths)
};

struct OrderOutcome {
  std::map<std::string, RecOutcome> records;
  std::map<std::string, std::vector<std::string>> entries;  // record -> its entries, canonical, sorted
  std::map<std::string, std::set<std::string>> semantic;    // record -> paths of its semantic entries
  std::size_t entry_count = 0, flagged = 0;
};

// An entry without what may depend on arrival order or time: ids, times, provisional values, the
// server's own dot numbers (a merge version is named by its values).
std::string canonical_entry(const json& raw, const std::set<std::string>& actors) {
  json e = json::object();
  for (const char* k : {"record", "kind", "path", "status", "closed_by", "ancestor"})
    if (raw.contains(k)) e[k] = raw[k];
  if (raw.contains("detail") && raw["detail"].is_object()) {
    json d = raw["detail"];
    for (const char* k : {"provisional", "reverted", "kept"}) d.erase(k);
    e["detail"] = d;
  }
  std::vector<std::string> cands;
  for (const json& c : raw.value("candidates", json::array())) {
    json x = c;
    for (const char* k : {"device_time", "server_time", "sides", "device", "user"}) x.erase(k);
    if (x.contains("dot") && x["dot"].is_object() && !actors.count(x["dot"].value("actor", ""))) x["dot"] = "server";
    cands.push_back(x.dump());
  }
  std::sort(cands.begin(), cands.end());
  e["candidates"] = cands;
  return e.dump();
}

Result<OrderOutcome> read_outcome(HttpClient& http, const std::string& device_token, const std::string& admin_token,
                                  const std::set<std::string>& actors) {
  OrderOutcome out;
  auto feed = server_feed(http, device_token, 500);
  if (!feed.ok()) return feed.status();
  for (const auto& [id, st] : *feed) {
    RecOutcome r;
    r.deleted = st.deleted;
    r.pending = st.deletion_pending;
    r.flagged.insert(st.conflicted.begin(), st.conflicted.end());
    out.flagged += r.flagged.size();
    r.body = st.deleted || st.live.empty() ? json::object() : json::parse(st.live.front().body, nullptr, false);
    out.records[id] = std::move(r);
  }
  auto entries = inbox(http, admin_token);
  if (!entries.ok()) return entries.status();
  for (const Entry& e : *entries) {
    // Settled by agreement (DESIGN §4): a disagreement that a device's own later edit removed. Whether
    // it ever existed depends on arrival order (in another order the later edit came first and no entry
    // opened), and no disagreement remains: it counts as no entry. An entry open in one order and
    // settled in another still differs.
    const json* res = e.raw.contains("resolution") ? &e.raw["resolution"] : nullptr;
    if (res && res->is_object() && res->value("closed_by", "") == "agreement") continue;
    ++out.entry_count;
    out.entries[e.record].push_back(canonical_entry(e.raw, actors));
    if (e.kind == "semantic") {
      std::size_t a = 0;
      for (std::size_t b = 0; b <= e.path.size(); ++b)
        if (b == e.path.size() || e.path[b] == ',') {
          out.semantic[e.record].insert(e.path.substr(a, b - a));
          a = b + 1;
        }
    }
  }
  for (auto& [id, v] : out.entries) std::sort(v.begin(), v.end());
  return out;
}

std::string joined(const std::set<std::string>& s) {
  std::string out = "[";
  for (const auto& x : s) out += (out.size() > 1 ? "," : "") + x;
  return out + "]";
}

std::string shorten(const std::string& s, std::size_t n = 400) { return s.size() <= n ? s : s.substr(0, n) + "..."; }

// The differences of `b` from the recorded `a`, as violations.
void compare_outcomes(const OrderOutcome& a, const OrderOutcome& b, bool skip_semantic, const std::string& where,
                      OrderReport& rep) {
  auto violation = [&rep, &where](const std::string& what) {
    ++rep.violation_count;
    if (rep.violations.size() < 50) rep.violations.push_back(where + ": " + what);
  };
  std::set<std::string> ids;
  for (const auto& [id, r] : a.records) ids.insert(id);
  for (const auto& [id, r] : b.records) ids.insert(id);
  for (const std::string& id : ids) {
    auto ia = a.records.find(id), ib = b.records.find(id);
    if (ia == a.records.end() || ib == b.records.end()) {
      violation("record " + id + " only in " + (ia == a.records.end() ? "this order" : "the recorded order"));
      continue;
    }
    const RecOutcome &x = ia->second, &y = ib->second;
    std::set<std::string> skip;  // semantic paths (two saves per device: DESIGN §7.4's open point)
    if (skip_semantic) {
      for (const auto* m : {&a.semantic, &b.semantic}) {
        auto it = m->find(id);
        if (it != m->end()) skip.insert(it->second.begin(), it->second.end());
      }
    }
    if (x.deleted != y.deleted || x.pending != y.pending)
      violation("record " + id + ": deleted " + std::to_string(x.deleted) + "/" + std::to_string(y.deleted) +
                ", deletion pending " + std::to_string(x.pending) + "/" + std::to_string(y.pending) +
                " (recorded/this order)");
    std::set<std::string> fx, fy;
    for (const auto& p : x.flagged)
      if (!skip.count(p)) fx.insert(p);
    for (const auto& p : y.flagged)
      if (!skip.count(p)) fy.insert(p);
    if (fx != fy) violation("record " + id + ": flagged " + joined(fx) + " recorded, " + joined(fy) + " in this order");
    std::set<std::string> keys;
    for (const json* body : {&x.body, &y.body})
      if (body->is_object())
        for (const auto& [k, v] : body->items()) keys.insert(k);
    std::set<std::string> differ;
    for (const auto& k : keys) {
      if (x.flagged.count(k) || y.flagged.count(k) || skip.count(k)) continue;  // provisional
      const json nil;
      const json& vx = x.body.is_object() && x.body.contains(k) ? x.body[k] : nil;
      const json& vy = y.body.is_object() && y.body.contains(k) ? y.body[k] : nil;
      if (vx != vy) differ.insert(k + " " + vx.dump() + "/" + vy.dump());
    }
    if (!differ.empty()) violation("record " + id + ": unflagged values differ (recorded/this order): " + joined(differ));
    std::vector<std::string> ea, eb;
    for (const auto& pair : {std::make_pair(&a, &ea), std::make_pair(&b, &eb)}) {
      auto it = pair.first->entries.find(id);
      if (it == pair.first->entries.end()) continue;
      for (const auto& e : it->second)
        if (!skip_semantic || json::parse(e).value("kind", "") != "semantic") pair.second->push_back(e);
    }
    if (ea != eb) {
      std::vector<std::string> only_a, only_b;
      std::set_difference(ea.begin(), ea.end(), eb.begin(), eb.end(), std::back_inserter(only_a));
      std::set_difference(eb.begin(), eb.end(), ea.begin(), ea.end(), std::back_inserter(only_b));
      violation("record " + id + ": entries differ; recorded only: " +
                shorten(only_a.empty() ? "-" : only_a.front()) + (only_a.size() > 1 ? " (+more)" : "") +
                "; this order only: " + shorten(only_b.empty() ? "-" : only_b.front()) +
                (only_b.size() > 1 ? " (+more)" : ""));
    }
  }
}

// Pushes the recorded bodies in `order` (indices into `sent`) as their devices; rejections are
// violations.
Status replay(HttpClient& http, const std::vector<SentPush>& sent, const std::vector<std::size_t>& order,
              const std::vector<SimDevice>& devices, const std::string& where, OrderReport& rep) {
  for (std::size_t i : order) {
    const SentPush& p = sent[i];
    auto r = http.request("POST", "/v1/push", p.body,
                          {{"Authorization", "Bearer " + devices[p.device].token}, {"Content-Type", "application/json"}});
    if (!r.ok()) return r.status();
    ++rep.pushes;
    if (r->status != 200) {
      ++rep.violation_count;
      if (rep.violations.size() < 50)
        rep.violations.push_back(where + ": push answered HTTP " + std::to_string(r->status) + " " + shorten(r->body, 200));
      continue;
    }
    auto d = sync::decode_push_response(r->body);
    if (!d.ok()) return Status::corruption(where + ": push answer: " + d.status().message());
    for (const auto& x : d->results)
      if (x.outcome == sync::Outcome::kRejected) {
        ++rep.rejected;
        ++rep.violation_count;
        if (rep.violations.size() < 50)
          rep.violations.push_back(where + ": edit " + dot_text(x.dot) + " of " + x.record_id + " rejected: " +
                                   x.error_code + " " + shorten(x.error_detail, 120) + " " + shorten(x.error_fields, 200));
      }
  }
  return {};
}

}  // namespace

Result<FreshServer> start_aktsyncd(const std::string& binary, const std::string& work_dir, int devices,
                                   std::uint64_t seed) {
  SimOptions o;
  o.aktsyncd = binary;
  o.work_dir = work_dir;
  o.tablets = devices;
  o.seed = seed;
  auto m = start_managed(o);  // no forms_dir: the admin only logs in; run_order_check publishes
  if (!m.ok()) return m.status();
  FreshServer f;
  f.port = m->server->port();
  f.admin_user = "simadmin";
  f.admin_password = "sim-admin-password-" + std::to_string(seed);
  f.devices = m->devices;
  f.keep = std::shared_ptr<ServerProcess>(std::move(m->server));
  return f;
}

Result<OrderReport> run_order_check(const OrderOptions& opt) {
  namespace fs = std::filesystem;
  const auto t0 = std::chrono::steady_clock::now();
  if (!opt.fresh) return Status::invalid_argument("the order check needs a server factory");
  if (opt.tablets < 2 || opt.records < 1 || opt.saves < 1 || opt.orders < 2)
    return Status::invalid_argument("the order check needs 2+ tablets, 1+ records, 1+ saves, 2+ orders");
  const bool v2 = opt.old_form_percent > 0;
  OrderReport rep;
  for (int h = 0; h < opt.histories; ++h) {
    const std::uint64_t seed = opt.seed * 1000003 + static_cast<std::uint64_t>(h);
    const std::string where = "seed " + std::to_string(opt.seed) + " history " + std::to_string(h);
    // The recorded order, on its own server: the tablets' stores, saves and pushes.
    auto srv = opt.fresh();
    if (!srv.ok()) return srv.status();
    if (srv->devices.size() < static_cast<std::size_t>(opt.tablets) + 1)
      return Status::invalid_argument("the server factory gives too few devices");
    auto admin = prepare_server("127.0.0.1", srv->port, srv->admin_user, srv->admin_password, opt.forms_dir, v2);
    if (!admin.ok()) return admin.status();
    const std::string dir = opt.work_dir + "/history-" + std::to_string(h);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return Status::io_error("cannot make " + dir + ": " + ec.message());
    SimReport srep;
    Oracle oracle;
    oracle.rep = &srep;
    std::set<std::string> actors;
    for (const auto& d : srv->devices) actors.insert(d.actor);
    std::vector<SimTablet> tablets;
    for (int k = 0; k <= opt.tablets; ++k) {
      auto st = store::TabletStore::open(dir + "/tablet-" + std::to_string(k) + ".db", false);
      if (!st.ok()) return st.status();
      const SimDevice& d = srv->devices[static_cast<std::size_t>(k)];
      if (Status s = (*st)->init({d.actor, "127.0.0.1:" + std::to_string(srv->port), d.token}, seed * 1000 + k,
                                 1475280000000);
          !s.ok())
        return s;
      tablets.push_back({std::move(*st), std::make_unique<HttpClient>("127.0.0.1", srv->port),
                         std::mt19937_64(seed * 7919 + static_cast<std::uint64_t>(k)), 1475280000000, 0, false, {},
                         std::nullopt, {}});
      SimTablet& t = tablets.back();
      if (v2) {
        t.form_version = k == 0 || static_cast<int>(t.rng() % 100) >= opt.old_form_percent ? 2 : 1;
        t.omit_newer = t.form_version == 1 && t.rng() % 2;
      }
    }
    std::vector<SentPush> sent;
    SyncOptions so;
    so.max_attempts = 3;
    so.backoff_initial = std::chrono::milliseconds(5);
    auto push = [&](std::size_t k) -> Status {
      SimTablet& t = tablets[k];
      SyncClient c(*t.store, observed(*t.http, oracle, t.form_version, &sent, k), so);
      SyncSummary s;
      return c.push(s);
    };
    // Device 0 creates the records; every tablet pulls them.
    SimOptions create;
    create.create_percent = 100;
    for (int r = 0; r < opt.records; ++r)
      if (Status s = random_save(tablets[0], create, oracle, srep); !s.ok()) return s;
    for (int r = 0; r < opt.rule_records; ++r) {
      SimTablet& t = tablets[0];
      GeneratedRecord g = generate_infra_card(t.rng);
      std::array<std::uint8_t, 10> random{};
      for (auto& b : random) b = static_cast<std::uint8_t>(t.rng());
      t.now += 60000;
      auto id = t.store->create({kInfraForm, 1, g.scope, g.body, g.changed}, t.now, random);
      if (!id.ok()) return id.status();
    }
    if (Status s = push(0); !s.ok()) return s;
    const std::size_t setup_pushes = sent.size();
    auto ids = tablets[0].store->record_ids();
    if (!ids.ok()) return ids.status();
    for (std::size_t k = 1; k < tablets.size(); ++k) {
      SyncClient c(*tablets[k].store, http_transport(*tablets[k].http), so);
      SyncSummary s;
      if (Status st = c.pull(s); !st.ok()) return st;
    }
    // Offline saves, each pushed as its own batch, round-robin: the recorded order.
    std::vector<std::set<std::string>> saved(tablets.size());
    SimOptions edit;
    edit.create_percent = 0;
    edit.delete_percent = opt.delete_percent;
    for (int s = 0; s < opt.saves; ++s)
      for (std::size_t k = 1; k < tablets.size(); ++k) {
        std::vector<std::string> pick;  // without the records this tablet saved already, unless allowed
        for (const auto& id : *ids)
          if (opt.repeat_record || !saved[k].count(id)) pick.push_back(id);
        if (pick.empty()) continue;
        const std::size_t before = oracle.edits.size();
        if (Status st = random_save(tablets[k], edit, oracle, srep, &pick); !st.ok()) return st;
        for (const auto& [d, e] : oracle.edits)
          if (oracle.edits.size() > before && d.actor == srv->devices[k].actor) saved[k].insert(e.record);
        if (Status st = push(k); !st.ok()) return st;
      }
    rep.saves += srep.saves;
    rep.edits += srep.edits;
    rep.deletes += srep.deletes;
    rep.old_form_saves += srep.old_form_saves;
    rep.pushes += sent.size();
    ++rep.runs;
    for (const std::string& v : srep.violations) {  // rejections in the recorded order
      ++rep.violation_count;
      ++rep.rejected;
      if (rep.violations.size() < 50) rep.violations.push_back(where + " recorded order: " + v);
    }
    HttpClient http("127.0.0.1", srv->port);
    auto recorded = read_outcome(http, srv->devices[0].token, *admin, actors);
    if (!recorded.ok()) return recorded.status();
    rep.entries += recorded->entry_count;
    rep.flagged += recorded->flagged;
    srv->keep.reset();
    // The other orders: each device's batches in its own order, the devices interleaved differently.
    std::mt19937_64 rng(seed * 131 + 5);
    for (int j = 1; j < opt.orders; ++j) {
      std::vector<std::vector<std::size_t>> queues(tablets.size());
      for (std::size_t i = setup_pushes; i < sent.size(); ++i) queues[sent[i].device].push_back(i);
      std::vector<std::size_t> order;
      for (std::size_t i = 0; i < setup_pushes; ++i) order.push_back(i);
      if (j == 1) {  // every device's batches together, the last device first
        for (std::size_t k = queues.size(); k-- > 0;) order.insert(order.end(), queues[k].begin(), queues[k].end());
      } else {       // a random interleaving
        std::vector<std::size_t> next(queues.size(), 0);
        for (std::size_t left = sent.size() - setup_pushes; left > 0; --left) {
          std::vector<std::size_t> ready;
          for (std::size_t k = 0; k < queues.size(); ++k)
            if (next[k] < queues[k].size()) ready.push_back(k);
          const std::size_t k = ready[rng() % ready.size()];
          order.push_back(queues[k][next[k]++]);
        }
      }
      auto fresh = opt.fresh();
      if (!fresh.ok()) return fresh.status();
      auto token = prepare_server("127.0.0.1", fresh->port, fresh->admin_user, fresh->admin_password, opt.forms_dir, v2);
      if (!token.ok()) return token.status();
      HttpClient h2("127.0.0.1", fresh->port);
      const std::string here = where + " order " + std::to_string(j);
      if (Status s = replay(h2, sent, order, fresh->devices, here, rep); !s.ok()) return s;
      auto outcome = read_outcome(h2, fresh->devices[0].token, *token, actors);
      if (!outcome.ok()) return outcome.status();
      if (opt.saves > 1)
        for (const auto* m : {&recorded->semantic, &outcome->semantic})
          for (const auto& [id, paths] : *m) rep.semantic_skipped += paths.empty() ? 0 : 1;
      compare_outcomes(*recorded, *outcome, opt.saves > 1, here, rep);
      ++rep.runs;
    }
    ++rep.histories;
  }
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

}  // namespace akt::client

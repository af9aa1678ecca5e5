// The in-memory push port: each operation a few lines over the containers of memory_push_port.hpp.
#include "tests/store/memory_push_port.hpp"

#include <algorithm>

namespace akt::test {

using store::KeyHolder;
using store::LiveHead;
using store::OpenEntry;
using store::RecordHead;
using store::StoredVersion;

Result<std::optional<std::pair<std::string, std::string>>> MemoryPushPort::stored_batch(const std::string& device,
                                                                                        const std::string& batch_id) {
  auto it = batches_.find({device, batch_id});
  if (it == batches_.end()) return std::optional<std::pair<std::string, std::string>>();
  return std::optional<std::pair<std::string, std::string>>(it->second);
}

Status MemoryPushPort::store_batch(const std::string& device, const std::string& batch_id, const std::string& digest,
                                   const std::string& response, std::int64_t) {
  if (!batches_.emplace(std::make_pair(device, batch_id), std::make_pair(digest, response)).second)
    return Status::conflict("batch stored twice");
  return {};
}

Status MemoryPushPort::note_push(const std::string& device, std::int64_t now) {
  last_push_[device] = now;
  return {};
}

Status MemoryPushPort::insert_quarantine(const store::QuarantineEntry& q) {
  quarantined.push_back(q);
  quarantined.back().id = static_cast<std::int64_t>(quarantined.size());
  return {};
}

Result<std::optional<RecordHead>> MemoryPushPort::read_record(const std::string& record_id) {
  auto it = records.find(record_id);
  if (it == records.end()) return std::optional<RecordHead>();
  return std::optional<RecordHead>(it->second.head);
}

Status MemoryPushPort::write_record(const sync::Edit& e, std::int64_t seq, std::int64_t live_count, bool deleted,
                                    std::int64_t now, const std::vector<std::string>& pending_upload) {
  auto [it, fresh] = records.try_emplace(e.record_id);
  Record& r = it->second;
  if (fresh) {
    r.head.form_id = e.form_id;
    r.created_at = now;
    r.pending_upload = pending_upload;
  }
  r.head.form_version = e.form_version;
  r.head.scope = e.scope;
  r.head.seq = seq;
  r.head.live_count = live_count;
  r.deleted = deleted;
  r.updated_at = now;
  return {};
}

Status MemoryPushPort::advance_record(const std::string& record_id, std::int64_t seq, std::int64_t live_count,
                                      bool deleted, std::optional<std::int64_t> form_version, std::int64_t now) {
  auto it = records.find(record_id);
  if (it == records.end()) return {};
  it->second.head.seq = seq;
  it->second.head.live_count = live_count;
  it->second.deleted = deleted;
  if (form_version) it->second.head.form_version = *form_version;
  it->second.updated_at = now;
  return {};
}

Status MemoryPushPort::set_record_scope(const std::string& record_id, const sync::Scope& scope) {
  if (auto it = records.find(record_id); it != records.end()) it->second.head.scope = scope;
  return {};
}

Status MemoryPushPort::remember_scope(const std::string& record_id, const sync::Scope& scope) {
  scopes.emplace(record_id, scope.municipality, scope.community, scope.component);
  return {};
}

Status MemoryPushPort::set_record_flags(const std::string& record_id, const std::vector<std::string>& conflicted,
                                        bool deletion_pending) {
  if (auto it = records.find(record_id); it != records.end()) {
    it->second.conflicted = conflicted;
    it->second.deletion_pending = deletion_pending;
  }
  return {};
}

Result<std::optional<std::string>> MemoryPushPort::dot_digest(const sync::Dot& dot) {
  for (const Row& r : rows)
    if (r.v.dot == dot) return std::optional<std::string>(r.digest);
  return std::optional<std::string>();
}

Result<std::int64_t> MemoryPushPort::max_counter(const std::string& actor) {
  std::int64_t n = 0;
  for (const Row& r : rows)
    if (r.v.dot.actor == actor) n = std::max(n, r.v.dot.n);
  return n;
}

Status MemoryPushPort::live_heads(const std::string& record_id, std::vector<LiveHead>& out) {
  for (const Row& r : rows)
    if (r.record_id == record_id && r.live) out.push_back({r.v.dot, r.v.clock, r.v.deleted});
  return {};
}

Status MemoryPushPort::live_versions(const std::string& record_id, std::vector<sync::Version>& out) {
  for (const Row& r : rows)
    if (r.record_id == record_id && r.live) out.push_back(r.v);
  return {};
}

Status MemoryPushPort::versions(const std::string& record_id, std::vector<StoredVersion>& out) {
  for (const Row& r : rows)
    if (r.record_id == record_id) out.push_back({r.v, r.live, r.scope});
  return {};
}

Result<std::optional<sync::Version>> MemoryPushPort::version_with_clock(const std::string& record_id,
                                                                        const sync::VectorClock& clock) {
  for (const Row& r : rows)
    if (r.record_id == record_id && r.v.clock == clock) return std::optional<sync::Version>(r.v);
  return std::optional<sync::Version>();
}

Result<std::optional<sync::Version>> MemoryPushPort::version_by_dot(const sync::Dot& dot) {
  for (const Row& r : rows)
    if (r.v.dot == dot) return std::optional<sync::Version>(r.v);
  return std::optional<sync::Version>();
}

Status MemoryPushPort::insert_edit_version(const store::EditVersion& v) {
  const sync::Edit& e = v.edit;
  for (const Row& r : rows)
    if (r.v.dot == e.dot) return Status::conflict("dot stored twice");
  Row row;
  row.record_id = e.record_id;
  row.v.dot = e.dot;
  row.v.clock = e.clock();
  row.v.parents = v.parents;
  row.v.changed = e.changed;
  row.v.body = e.body;
  row.v.deleted = e.deleted;
  row.v.form_version = e.form_version;
  row.v.device_time = e.device_time;
  row.v.server_time = v.server_time;
  row.live = v.live;
  row.digest = v.digest;
  row.scope = e.scope;
  rows.push_back(std::move(row));
  return {};
}

Status MemoryPushPort::insert_server_version(const std::string& record_id, const sync::Version& v,
                                             const sync::Scope& scope, const std::string& digest) {
  for (const Row& r : rows)
    if (r.v.dot == v.dot) return Status::conflict("dot stored twice");
  rows.push_back({record_id, v, true, digest, scope});
  rows.back().v.device_time = 0;
  return {};
}

Status MemoryPushPort::retire_version(const sync::Dot& dot) {
  for (Row& r : rows)
    if (r.v.dot == dot) r.live = false;
  return {};
}

Status MemoryPushPort::retire_live(const std::string& record_id) {
  for (Row& r : rows)
    if (r.record_id == record_id) r.live = false;
  return {};
}

Status MemoryPushPort::note_clock_actor(const std::string& actor) {
  std::string lower = actor;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  clock_actors.insert(lower);
  return {};
}

MemoryPushPort::Entry* MemoryPushPort::open_entry(const std::string& record_id, sync::InboxKind kind,
                                                  const std::string& path) {
  for (Entry& e : entries)
    if (e.record_id == record_id && e.kind == kind && e.path == path && e.status == "open") return &e;
  return nullptr;
}

Status MemoryPushPort::open_entries(const std::string& record_id, std::vector<OpenEntry>& out) {
  for (const Entry& e : entries)
    if (e.record_id == record_id && e.status == "open") out.push_back({e.kind, e.path, e.candidates_json});
  return {};
}

Result<std::optional<std::string>> MemoryPushPort::open_entry_candidates(const std::string& record_id,
                                                                         sync::InboxKind kind,
                                                                         const std::string& path) {
  const Entry* e = open_entry(record_id, kind, path);
  return e ? std::optional<std::string>(e->candidates_json) : std::optional<std::string>();
}

Status MemoryPushPort::put_open_entry(const store::EntryWrite& w) {
  if (Entry* e = open_entry(w.record_id, w.kind, w.path)) {
    if (e->candidates_json != w.candidates_json) trace(*e);
    e->candidates_json = w.candidates_json;
    e->ancestor_json = w.ancestor_json;
    e->updated_at = w.now;
    e->detail_json = w.detail_json;
    return {};
  }
  Entry e;
  e.id = static_cast<std::int64_t>(entries.size()) + 1;
  e.record_id = w.record_id;
  e.kind = w.kind;
  e.path = w.path;
  e.ancestor_json = w.ancestor_json;
  e.candidates_json = w.candidates_json;
  e.form_id = w.form_id;
  e.municipality = w.municipality;
  e.opened_at = e.updated_at = w.now;
  e.detail_json = w.detail_json;
  entries.push_back(std::move(e));
  trace(entries.back());
  return {};
}

Status MemoryPushPort::set_open_entry_candidates(const std::string& record_id, sync::InboxKind kind,
                                                 const std::string& path, const std::string& candidates_json,
                                                 const std::optional<std::string>& ancestor_json, std::int64_t now) {
  if (Entry* e = open_entry(record_id, kind, path)) {
    if (e->candidates_json != candidates_json) trace(*e);
    e->candidates_json = candidates_json;
    e->ancestor_json = ancestor_json;
    e->updated_at = now;
  }
  return {};
}

Status MemoryPushPort::close_open_entry(const std::string& record_id, sync::InboxKind kind,
                                        const std::string& path, const std::string& candidates_json,
                                        const std::string& resolution_json, std::int64_t now) {
  if (Entry* e = open_entry(record_id, kind, path)) {
    e->status = "resolved";
    e->resolved_at = e->updated_at = now;
    e->resolved_by = "";
    e->candidates_json = candidates_json;
    e->resolution_json = resolution_json;
  }
  return {};
}

Status MemoryPushPort::move_open_entries(const std::string& record_id, const std::string& municipality) {
  for (Entry& e : entries)
    if (e.record_id == record_id && e.status == "open") e.municipality = municipality;
  return {};
}

Status MemoryPushPort::start_entry_trace() {
  traced_.clear();
  return {};
}

Result<std::vector<std::int64_t>> MemoryPushPort::take_touched_entries() {
  std::vector<std::int64_t> ids;
  ids.swap(traced_);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

Result<std::optional<std::string>> MemoryPushPort::record_key(const std::string& record_id) {
  auto it = keys_.find(record_id);
  return it == keys_.end() ? std::optional<std::string>() : std::optional<std::string>(it->second.second);
}

Status MemoryPushPort::put_record_key(const std::string& record_id, const std::string& form_id,
                                      const std::string& key) {
  keys_[record_id] = {form_id, key};
  return {};
}

Status MemoryPushPort::delete_record_key(const std::string& record_id) {
  keys_.erase(record_id);
  return {};
}

Result<std::vector<KeyHolder>> MemoryPushPort::key_holders(const std::string& form_id, const std::string& key,
                                                           std::size_t limit) {
  std::vector<KeyHolder> out;  // keys_ is ordered by record id
  for (const auto& [record, fk] : keys_) {
    if (out.size() >= limit) break;
    auto r = records.find(record);
    if (fk.first != form_id || fk.second != key || r == records.end() || r->second.deleted) continue;
    out.push_back({record, r->second.updated_at});
  }
  return out;
}

Status MemoryPushPort::note_attachment_refs(const std::string& record_id, const std::string& actor,
                                            const store::AttachmentRefs& refs) {
  for (const auto& [path, ref] : refs) refs_.emplace(ref.digest, record_id, actor);
  return {};
}

Status MemoryPushPort::set_pending_upload(const std::string& record_id, const std::vector<std::string>& paths) {
  if (auto it = records.find(record_id); it != records.end()) it->second.pending_upload = paths;
  return {};
}

}  // namespace akt::test

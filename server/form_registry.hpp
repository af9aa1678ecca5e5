// The parsed form definitions the server validates pushes against: every published and retired
// version, parsed once. Thread-safe (readers share, publication writes).
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <memory>
#include <shared_mutex>
#include <string>
#include <utility>

#include "schema/forms/form_def.hpp"
#include "schema/store/sync_store.hpp"
#include "sync/merge.hpp"

namespace akt::server {

// The merge policies a form gives its fields: set union, admin-only, repeat groups by item id.
sync::MergeSchema merge_schema_of(const forms::FormDef& form);

class FormRegistry {
 public:
  // Loads every published and retired version from the store. A stored definition that no longer
  // parses is reported (kCorruption naming it), never silently skipped.
  Status load(store::TransactionalStore& store);
  // The form version, or nullptr when it is not published (drafts never validate records).
  std::shared_ptr<const forms::FormDef> get(const std::string& form_id, std::int64_t version) const;
  // Loads the store's forms again, unless a load that began after this call did has ended meanwhile
  // (concurrent callers share one): another server on the same database may have published a version
  // this one has not parsed (docs/STORE.md §12). The push handler calls it when an edit names a version
  // it does not know, or fails validation with no later version known: one reload per such push.
  void catch_up(store::TransactionalStore& store);
  void put(std::shared_ptr<const forms::FormDef> form);
  // Every published or retired version of a form, oldest first.
  std::vector<std::shared_ptr<const forms::FormDef>> versions_of(const std::string& form_id) const;
  std::size_t size() const;
  // The merge schema of a form version; defaults when the version is unknown.
  sync::MergeSchema schema_for(const std::string& form_id, std::int64_t version) const;

 private:
  mutable std::shared_mutex mu_;
  std::mutex reload_mu_;                                   // one catch_up load at a time
  std::chrono::steady_clock::time_point load_began_{};  // of the last catch_up load (under reload_mu_)
  std::map<std::pair<std::string, std::int64_t>, std::shared_ptr<const forms::FormDef>> forms_;
};

}  // namespace akt::server

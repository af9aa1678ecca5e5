// The parsed form definitions the server validates pushes against: every published and retired
// version, parsed once. Thread-safe (readers share, publication writes).
#pragma once

#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <utility>

#include "schema/forms/form_def.hpp"
#include "schema/store/server_store.hpp"

namespace akt::server {

class FormRegistry {
 public:
  // Loads every published and retired version from the store. A stored definition that no longer
  // parses is reported (kCorruption naming it), never silently skipped.
  Status load(store::ServerStore& store);
  // The form version, or nullptr when it is not published (drafts never validate records).
  std::shared_ptr<const forms::FormDef> get(const std::string& form_id, std::int64_t version) const;
  void put(std::shared_ptr<const forms::FormDef> form);
  std::size_t size() const;

 private:
  mutable std::shared_mutex mu_;
  std::map<std::pair<std::string, std::int64_t>, std::shared_ptr<const forms::FormDef>> forms_;
};

}  // namespace akt::server

// The form rules the push engine consults (merge policies, post-merge checks, edits of an older form
// version): handed to the store once, at construction (ServerStoreOptions::form_rules), never per push.
// The server implements it over its form registry; the store knows no form definition itself.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "schema/store/server_store.hpp"
#include "sync/merge.hpp"
#include "sync/record.hpp"

namespace akt::store {

// Thread-safe: called from the group-commit leader and from pushing callers at once.
class FormRules {
 public:
  virtual ~FormRules() = default;
  // The merge policies of a form version (set union, admin-only fields, repeat groups); defaults for an
  // unknown form.
  virtual sync::MergeSchema schema_for(const std::string& form_id, std::int64_t version) const = 0;
  // Whether merged bodies are checked at all (check_merged is called only when true).
  virtual bool checks_merged() const = 0;
  // Recomputes the computed fields of `body` (canonical JSON, rewritten canonical) and returns the hard
  // rules it breaks under the form version (DESIGN §4 post-merge validation). `now_ms`: the push's time.
  virtual std::vector<RuleBreak> check_merged(const std::string& form_id, std::int64_t version, std::string& body,
                                              std::int64_t now_ms) const = 0;
  // An edit filled with an older form version than its base's `base_version` (PROTOCOL §4.4): the body to
  // store, its changed paths, or a rejection (messages in `lang`, a language tag; "" = English). nullopt
  // when the forms are unknown: the edit is then stored as sent.
  virtual std::optional<OlderFormEdit> adapt_older(const sync::Edit& edit, std::int64_t base_version,
                                                   const std::string& base_body, const std::string& lang,
                                                   std::int64_t now_ms) const = 0;
};

// No forms: default merge policies, no checks, edits stored as sent.
class NoFormRules final : public FormRules {
 public:
  sync::MergeSchema schema_for(const std::string&, std::int64_t) const override { return {}; }
  bool checks_merged() const override { return false; }
  std::vector<RuleBreak> check_merged(const std::string&, std::int64_t, std::string&, std::int64_t) const override {
    return {};
  }
  std::optional<OlderFormEdit> adapt_older(const sync::Edit&, std::int64_t, const std::string&, const std::string&,
                                           std::int64_t) const override {
    return std::nullopt;
  }
};

}  // namespace akt::store

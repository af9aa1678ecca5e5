#include "server/form_registry.hpp"

#include <chrono>
#include <mutex>

#include "schema/forms/form_parser.hpp"
#include "schema/store/store_tx.hpp"

namespace akt::server {

namespace {

sync::FieldPolicy policy_of(forms::MergePolicy p) {
  switch (p) {
    case forms::MergePolicy::kSetUnion: return sync::FieldPolicy::kSetUnion;
    case forms::MergePolicy::kAdminOnly: return sync::FieldPolicy::kAdminOnly;
    case forms::MergePolicy::kDefault: break;
  }
  return sync::FieldPolicy::kDefault;
}

}  // namespace

sync::MergeSchema merge_schema_of(const forms::FormDef& form) {
  sync::MergeSchema schema;
  for (const forms::FieldDef& f : form.fields) {
    if (f.type == forms::FieldType::kRepeat) {
      sync::RepeatGroup g;
      g.item_id = f.item_id;
      for (const forms::FieldDef& item : f.fields)
        if (item.calculate) g.policies[item.key] = sync::FieldPolicy::kComputed;
        else if (item.merge_policy != forms::MergePolicy::kDefault) g.policies[item.key] = policy_of(item.merge_policy);
      schema.repeats[f.key] = std::move(g);
    } else if (f.calculate) {
      schema.policies[f.key] = sync::FieldPolicy::kComputed;
    } else if (f.merge_policy != forms::MergePolicy::kDefault) {
      schema.policies[f.key] = policy_of(f.merge_policy);
    }
  }
  return schema;
}

sync::MergeSchema FormRegistry::schema_for(const std::string& form_id, std::int64_t version) const {
  auto form = get(form_id, version);
  return form ? merge_schema_of(*form) : sync::MergeSchema{};
}

Status FormRegistry::load(store::TransactionalStore& store) {
  std::vector<store::FormRow> rows;
  AKT_TRY(store.query([&](store::StoreReader& tx) {
    auto r = tx.list_forms(true);
    if (!r.ok()) return r.status();
    rows = std::move(*r);
    return Status();
  }));
  for (const auto& row : rows) {
    if (row.status == "draft") continue;
    auto form = forms::parse_form(row.definition);
    if (!form.ok())
      return Status::corruption("stored form " + row.form_id + " v" + std::to_string(row.version) +
                                " no longer parses: " + form.status().message());
    put(std::make_shared<const forms::FormDef>(std::move(*form)));
  }
  return {};
}

void FormRegistry::catch_up(store::TransactionalStore& store) {
  const auto asked = std::chrono::steady_clock::now();
  std::lock_guard lock(reload_mu_);
  if (load_began_ > asked) return;  // a load that began after this call read the store already
  load_began_ = std::chrono::steady_clock::now();
  (void)load(store);  // a failure leaves the forms known so far: the edit is judged on them
}

std::shared_ptr<const forms::FormDef> FormRegistry::get(const std::string& form_id, std::int64_t version) const {
  std::shared_lock lock(mu_);
  auto it = forms_.find({form_id, version});
  return it == forms_.end() ? nullptr : it->second;
}

void FormRegistry::put(std::shared_ptr<const forms::FormDef> form) {
  std::unique_lock lock(mu_);
  forms_[{form->form_id, form->version}] = std::move(form);
}

std::vector<std::shared_ptr<const forms::FormDef>> FormRegistry::versions_of(const std::string& form_id) const {
  std::shared_lock lock(mu_);
  std::vector<std::shared_ptr<const forms::FormDef>> out;
  for (auto it = forms_.lower_bound({form_id, 0}); it != forms_.end() && it->first.first == form_id; ++it)
    out.push_back(it->second);
  return out;
}

std::size_t FormRegistry::size() const {
  std::shared_lock lock(mu_);
  return forms_.size();
}

}  // namespace akt::server

#include "server/form_registry.hpp"

#include <mutex>

#include "schema/forms/form_parser.hpp"
#include "schema/store/forms_store.hpp"

namespace akt::server {

Status FormRegistry::load(store::ServerStore& store) {
  std::vector<store::FormRow> rows;
  AKT_TRY(store.read([&](store::Db& db) {
    auto r = store::list_forms(db, true);
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

std::shared_ptr<const forms::FormDef> FormRegistry::get(const std::string& form_id, std::int64_t version) const {
  std::shared_lock lock(mu_);
  auto it = forms_.find({form_id, version});
  return it == forms_.end() ? nullptr : it->second;
}

void FormRegistry::put(std::shared_ptr<const forms::FormDef> form) {
  std::unique_lock lock(mu_);
  forms_[{form->form_id, form->version}] = std::move(form);
}

std::size_t FormRegistry::size() const {
  std::shared_lock lock(mu_);
  return forms_.size();
}

}  // namespace akt::server

// Cross-field checks of form definitions: keys, choice lists, references, cycles, evaluation order.
// Scoping rule: a field may reference its siblings (same level) and, inside a repeat item, the
// top-level fields; never fields inside another repeat or inside a repeat from outside it.
#include "schema/forms/form_links.hpp"

#include <algorithm>
#include <map>
#include <utility>

namespace akt::forms {
namespace {

class Linker {
 public:
  Linker(FormDef& form, const ChoiceLists& shared, std::vector<DefinitionError>& errors)
      : form_(form), shared_(shared), errors_(errors) {}

  void run() {
    index(form_.fields);
    if (!errors_.empty()) return;
    level(form_.fields, nullptr, form_.order);
  }

 private:
  void err(std::string path, std::string code, std::string message) {
    if (errors_.size() < 100) errors_.push_back({std::move(path), std::move(code), std::move(message)});
  }

  void index(const std::vector<FieldDef>& fields) {
    for (const FieldDef& f : fields) {
      auto [it, fresh] = where_.emplace(f.key, &f);
      if (!fresh)
        err(f.def_path + ".key", "duplicate_key", "key '" + f.key + "' already defined at " + it->second->def_path);
      if (f.type == FieldType::kRepeat) index(f.fields);
    }
  }

  const ChoiceList* resolve_list(const std::string& name) {
    if (const ChoiceList* l = form_.list(name)) return l;
    auto it = shared_.find(name);
    if (it == shared_.end()) return nullptr;
    form_.choice_lists[name] = it->second;
    return form_.list(name);
  }

  void check_field(FieldDef& f) {
    if (!f.choices.empty()) {
      const ChoiceList* l = resolve_list(f.choices);
      if (l == nullptr) {
        err(f.def_path + ".choices", "unknown_choice_list", "no choice list named '" + f.choices + "'");
      } else {
        for (const std::string& code : f.exclusive) {
          if (!l->contains(code))
            err(f.def_path + ".exclusive", "unknown_code", "'" + code + "' is not in " + f.choices);
        }
      }
    }
    if (f.type == FieldType::kRepeat && !f.item_id.empty()) {
      auto it = std::find_if(f.fields.begin(), f.fields.end(), [&](const FieldDef& c) { return c.key == f.item_id; });
      if (it == f.fields.end() || it->type != FieldType::kText) {
        err(f.def_path + ".item_id", "bad_item_id", "item_id must name a text field of the repeat");
      } else {
        it->required = true;
        it->immutable = true;
      }
    }
  }

  // Resolves the references of `e` for field `f` at a level whose fields are `siblings`; adds
  // dependency edges (sibling index -> f's index) to `deps`.
  void refs(const Expression& e, const std::string& path, const FieldDef& f, const std::vector<FieldDef>& siblings,
            const FieldDef* repeat, bool self_ok, std::vector<std::size_t>& deps) {
    for (const std::string& key : e.refs) {
      auto sib = std::find_if(siblings.begin(), siblings.end(), [&](const FieldDef& s) { return s.key == key; });
      const FieldDef* target = nullptr;
      if (sib != siblings.end()) {
        target = &*sib;
        if (key == f.key) {
          if (!self_ok) err(path, "cycle", "'" + key + "' depends on itself");
        } else {
          deps.push_back(static_cast<std::size_t>(sib - siblings.begin()));
        }
      } else if (repeat != nullptr) {
        auto top =
            std::find_if(form_.fields.begin(), form_.fields.end(), [&](const FieldDef& s) { return s.key == key; });
        if (top != form_.fields.end()) target = &*top;
      }
      if (target == nullptr) {
        auto it = where_.find(key);
        if (it == where_.end())
          err(path, "dangling_reference", "${" + key + "} refers to no field");
        else
          err(path, "bad_reference", "${" + key + "} is inside repeat '" + it->second->repeat + "', out of scope here");
      } else if (!target->is_value_field()) {
        err(path, "bad_reference", "${" + key + "} is a " + std::string(to_string(target->type)) + " and has no value");
      }
    }
  }

  void level(std::vector<FieldDef>& fields, const FieldDef* repeat, std::vector<std::size_t>& order) {
    std::size_t n = fields.size();
    std::vector<std::vector<std::size_t>> deps(n);  // deps[i]: siblings field i depends on
    for (std::size_t i = 0; i < n; ++i) {
      FieldDef& f = fields[i];
      check_field(f);
      if (f.relevant) refs(*f.relevant, f.def_path + ".relevant", f, fields, repeat, false, deps[i]);
      if (f.calculate) refs(*f.calculate, f.def_path + ".calculate", f, fields, repeat, false, deps[i]);
      for (const Check& c : f.checks) refs(c.expr, c.def_path, f, fields, repeat, true, deps[i]);
      if (f.type == FieldType::kRepeat) level(f.fields, &f, f.order);
    }
    topo_sort(fields, deps, order);
  }

  // Kahn's algorithm, stable (definition order among ready fields); reports one cycle if any.
  void topo_sort(const std::vector<FieldDef>& fields, const std::vector<std::vector<std::size_t>>& deps,
                 std::vector<std::size_t>& order) {
    std::size_t n = fields.size();
    std::vector<std::size_t> pending(n, 0);
    std::vector<std::vector<std::size_t>> users(n);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t d : deps[i]) {
        ++pending[i];
        users[d].push_back(i);
      }
    }
    std::vector<bool> done(n, false);
    order.clear();
    for (bool progress = true; progress;) {
      progress = false;
      for (std::size_t i = 0; i < n; ++i) {
        if (done[i] || pending[i] != 0) continue;
        done[i] = true;
        progress = true;
        order.push_back(i);
        for (std::size_t u : users[i]) --pending[u];
      }
    }
    if (order.size() == n) return;
    // Walk back through unfinished dependencies until a field repeats: that loop is a cycle.
    std::size_t at = 0;
    while (done[at]) ++at;
    std::vector<std::size_t> trail;
    std::vector<int> seen_at(n, -1);
    while (seen_at[at] < 0) {
      seen_at[at] = static_cast<int>(trail.size());
      trail.push_back(at);
      for (std::size_t d : deps[at]) {
        if (!done[d]) {
          at = d;
          break;
        }
      }
    }
    std::string chain;
    for (std::size_t k = static_cast<std::size_t>(seen_at[at]); k < trail.size(); ++k) {
      chain += fields[trail[k]].key + " <- ";
    }
    chain += fields[at].key;
    err(fields[at].def_path, "cycle", "reference cycle: " + chain);
  }

  FormDef& form_;
  const ChoiceLists& shared_;
  std::vector<DefinitionError>& errors_;
  std::map<std::string, const FieldDef*, std::less<>> where_;
};

}  // namespace

void link_form(FormDef& form, const ChoiceLists& shared, std::vector<DefinitionError>& errors) {
  Linker(form, shared, errors).run();
}

}  // namespace akt::forms

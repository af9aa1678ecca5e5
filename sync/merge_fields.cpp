// The field-level engine of the three-way merge: per path, who set what, and what the merged body
// holds. Pure; invariants in the design notes of merge.cpp (numbers cited as [Mn]).
#include "sync/merge_fields.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <string_view>

namespace akt::sync::detail {
namespace {

using json = nlohmann::json;

// Values compare as canonical text (sorted keys, minified): 1 and 1.0 differ, as they do on the wire.
std::string canonical(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }
std::optional<std::string> text_of(const json* j) {
  return j == nullptr ? std::nullopt : std::optional<std::string>(canonical(*j));
}
std::optional<json> copy_of(const json* j) { return j == nullptr ? std::nullopt : std::optional<json>(*j); }

// `above` lies strictly above `below` in path terms: "visit" above "visit[V-a]" above "visit[V-a].x".
bool is_above(std::string_view above, std::string_view below) {
  return below.size() > above.size() && below.substr(0, above.size()) == above &&
         (below[above.size()] == '.' || below[above.size()] == '[');
}

// [M2] An edit changed `path` if its `changed` lists the path, a path above it or a path below it.
bool lists(const std::vector<std::string>& changed, std::string_view path) {
  return std::any_of(changed.begin(), changed.end(), [&](const std::string& e) {
    return e == path || is_above(e, path) || is_above(path, e);
  });
}

// A place in a body: "key", "key[item]" (a repeat item itself) or "key[item].field".
struct Leaf {
  std::string key;
  std::optional<std::string> item;
  std::optional<std::string> field;
  std::string path() const {
    std::string p = key;
    if (item) p += "[" + *item + "]";
    if (field) p += "." + *field;
    return p;
  }
};

const json* find_item(const json& array, const std::string& id_key, const std::string& id) {
  if (!array.is_array()) return nullptr;
  for (const json& it : array) {
    auto f = it.find(id_key);
    if (f != it.end() && f->is_string() && f->get_ref<const std::string&>() == id) return &it;
  }
  return nullptr;
}

// The value at `leaf` in `doc`; nullptr when absent.
const json* value_at(const json& doc, const Leaf& leaf, const std::string& id_key) {
  auto it = doc.find(leaf.key);
  if (it == doc.end()) return nullptr;
  if (!leaf.item) return &*it;
  const json* item = find_item(*it, id_key, *leaf.item);
  if (item == nullptr || !leaf.field) return item;
  auto f = item->find(*leaf.field);
  return f == item->end() ? nullptr : &*f;
}

// A candidate while merging: a version that set the path, and the sides it belongs to.
struct Cand {
  Dot dot;
  std::vector<Dot> sides;
  const json* value;
};

class Engine {
 public:
  Engine(const MergeSchema& schema, const std::vector<Side>& sides, const json* ancestor,
         const json& provisional, const MergeInput& in, const std::map<Dot, VectorClock>& clocks)
      : schema_(schema), sides_(sides), anc_(ancestor), prov_(provisional), in_(in), clocks_(clocks) {
    if (anc_ != nullptr) pool_.push_back(anc_);
    for (const Side& s : sides_)
      for (const Body* b : s.history)
        if (!b->version->deleted) pool_.push_back(&b->doc);
  }

  // Every top-level key any body holds, by name; repeat groups item by item, the rest as one field.
  FieldMerge run() {
    std::set<std::string> keys;
    for (const json* d : pool_)
      for (auto it = d->begin(); it != d->end(); ++it) keys.insert(it.key());
    for (const std::string& key : keys) {
      auto g = schema_.repeats.find(key);
      if (g != schema_.repeats.end() && is_item_array(key, g->second.item_id)) {
        out_.body[key] = merge_group(key, g->second);
      } else if (auto v = decide(Leaf{key, {}, {}}, std::nullopt, policy(schema_.policies, key), "")) {
        out_.body[key] = std::move(*v);
      }
    }
    std::sort(out_.conflicts.begin(), out_.conflicts.end(),
              [](const FieldConflict& a, const FieldConflict& b) { return a.path < b.path; });
    std::sort(out_.changed.begin(), out_.changed.end());
    std::sort(out_.settled.begin(), out_.settled.end());
    return std::move(out_);
  }

 private:
  static FieldPolicy policy(const std::map<std::string, FieldPolicy>& m, const std::string& k) {
    auto it = m.find(k);
    return it == m.end() ? FieldPolicy::kDefault : it->second;
  }

  // [M6] Item-wise merging needs every body's value to be null or an array of objects with distinct
  // string ids; otherwise the group merges as one plain field.
  bool is_item_array(const std::string& key, const std::string& id_key) const {
    std::vector<const json*> docs = pool_;
    docs.push_back(&prov_);
    for (const json* d : docs) {
      auto it = d->find(key);
      if (it == d->end() || it->is_null()) continue;
      if (!it->is_array()) return false;
      std::set<std::string> ids;
      for (const json& item : *it) {
        auto f = item.is_object() ? item.find(id_key) : item.end();
        if (!item.is_object() || f == item.end() || !f->is_string()) return false;
        if (!ids.insert(f->get<std::string>()).second) return false;
      }
    }
    return true;
  }

  // [M3] Per side, the latest versions (not dominated within the side) that changed `cover`; with no
  // ancestor, a side without such a version offers its sibling. Merged across sides by dot.
  std::vector<Cand> candidates(const Leaf& leaf, const std::string& cover, const std::string& id_key) const {
    std::vector<Cand> out;
    for (const Side& s : sides_) {
      std::vector<const Body*> setters;
      for (const Body* b : s.history)
        if (!b->version->deleted && lists(b->version->changed, cover)) setters.push_back(b);
      // Within one side setters are ordered unless the side already holds a merge of concurrent ones:
      // then every maximal setter stays a candidate, so an open conflict is offered again ([M3]).
      std::vector<const Body*> latest;
      for (const Body* b : setters) {
        bool dominated = std::any_of(setters.begin(), setters.end(), [&](const Body* o) {
          return b->version->clock.compare(o->version->clock) == Order::kBefore;
        });
        if (!dominated) latest.push_back(b);
      }
      if (latest.empty() && anc_ == nullptr && !s.tip->version->deleted) latest.push_back(s.tip);
      for (const Body* b : latest) {
        auto same = std::find_if(out.begin(), out.end(), [&](const Cand& c) { return c.dot == b->version->dot; });
        if (same == out.end()) same = out.insert(out.end(), Cand{b->version->dot, {}, value_at(b->doc, leaf, id_key)});
        same->sides.push_back(s.tip->version->dot);
      }
    }
    std::sort(out.begin(), out.end(), [](const Cand& a, const Cand& b) { return a.dot < b.dot; });
    for (Cand& c : out) std::sort(c.sides.begin(), c.sides.end());
    return out;
  }

  // [M13] When the sides brought candidates for `path`, the open entry's candidates for it join them;
  // then one candidate per device line, none a decider has seen. Returns whether an entry was open.
  bool join_open(const std::string& path, std::vector<Cand>& cands) {
    if (cands.empty()) return false;
    auto op = in_.open.find(path);
    const bool had_open = op != in_.open.end();
    std::vector<Candidate> cs;
    std::map<Dot, const json*> values;
    for (const Cand& c : cands) {
      cs.push_back({text_of(c.value), c.dot, c.sides});
      values[c.dot] = c.value;
    }
    if (had_open)
      for (const Candidate& c : op->second) {
        cs.push_back(c);
        if (!values.count(c.dot))
          values[c.dot] = c.value ? &owned_.emplace_back(json::parse(*c.value, nullptr, false)) : nullptr;
      }
    narrow_candidates(cs, clocks_, in_.server_actor, in_.deciders);
    cands.clear();
    for (Candidate& c : cs) cands.push_back(Cand{c.dot, std::move(c.sides), values.at(c.dot)});
    return had_open;
  }

  void conflict(const Leaf& leaf, const json* anc, const std::vector<Cand>& cands) {
    FieldConflict fc{leaf.path(), text_of(anc), {}};
    for (const Cand& c : cands) fc.candidates.push_back({text_of(c.value), c.dot, c.sides});
    out_.conflicts.push_back(std::move(fc));
  }

  // [M4] The value of one field; nullopt = absent. `cover` overrides the path used to find setters.
  std::optional<json> decide(const Leaf& leaf, const std::optional<std::string>& cover, FieldPolicy pol,
                             const std::string& id_key) {
    const std::string path = leaf.path();
    std::vector<Cand> cands = candidates(leaf, cover.value_or(path), id_key);
    const bool had_open = join_open(path, cands);
    const json* anc = anc_ == nullptr ? nullptr : value_at(*anc_, leaf, id_key);
    if (cands.empty()) return copy_of(anc);
    // Absent (nullopt) is a value of its own: a removal disagrees with any set value, even null.
    std::set<std::optional<std::string>> distinct;
    for (const Cand& c : cands) distinct.insert(text_of(c.value));
    if (distinct.size() == 1) {
      if (had_open) {  // settled by agreement
        out_.settled.push_back(path);
        std::vector<Candidate>& agreed = out_.agreed[path];
        for (const Cand& c : cands) agreed.push_back({text_of(c.value), c.dot, c.sides});
      }
      return copy_of(cands.front().value);
    }
    if (pol == FieldPolicy::kComputed) return copy_of(value_at(prov_, leaf, id_key));  // recomputed by the caller
    if (pol == FieldPolicy::kSetUnion && anc_ != nullptr) {
      if (auto u = set_union(anc, cands)) {
        out_.changed.push_back(path);
        return u;
      }
    }
    conflict(leaf, anc, cands);
    // The provisional value; when the server had none and every candidate sets one, the first candidate's
    // (by dot), so that a field in conflict never vanishes from the body.
    if (const json* p = value_at(prov_, leaf, id_key)) return copy_of(p);
    if (std::none_of(cands.begin(), cands.end(), [](const Cand& c) { return c.value == nullptr; }))
      return copy_of(cands.front().value);
    return std::nullopt;
  }

  // [M5] Ancestor minus every side's removals plus every side's additions; nullopt when a value is not
  // an array (then the default rule applies). Order: kept ancestor elements, then additions by text.
  static std::optional<json> set_union(const json* anc, const std::vector<Cand>& cands) {
    auto usable = [](const json* v) { return v == nullptr || v->is_null() || v->is_array(); };
    if (!usable(anc)) return std::nullopt;
    const json empty = json::array();
    const json& base = (anc == nullptr || anc->is_null()) ? empty : *anc;
    std::set<std::string> base_texts, removed;
    for (const json& e : base) base_texts.insert(canonical(e));
    std::map<std::string, const json*> added;
    for (const Cand& c : cands) {
      if (!usable(c.value)) return std::nullopt;
      std::set<std::string> mine;
      if (c.value != nullptr && c.value->is_array())
        for (const json& e : *c.value) {
          std::string t = canonical(e);
          if (!base_texts.count(t)) added.emplace(t, &e);
          mine.insert(std::move(t));
        }
      for (const std::string& t : base_texts)
        if (!mine.count(t)) removed.insert(t);
    }
    // Duplicated codes in the ancestor collapse to one; a valid select_multiple has none anyway.
    json out = json::array();
    std::set<std::string> seen;
    for (const json& e : base) {
      std::string t = canonical(e);
      if (!removed.count(t) && seen.insert(t).second) out.push_back(e);
    }
    for (const auto& [t, e] : added) out.push_back(*e);
    return out;
  }

  enum class Presence { kAbsent, kMerge, kProvisional };

  // [M6] Whether an item is in the result: an item removed on one side and kept (or edited) on another
  // is one conflict on "key[id]" and keeps the provisional item whole.
  Presence presence(const Leaf& leaf, const std::string& id_key) {
    std::vector<Cand> cands = candidates(leaf, leaf.path(), id_key);
    const json* anc = anc_ == nullptr ? nullptr : value_at(*anc_, leaf, id_key);
    if (anc_ != nullptr && anc == nullptr) {
      // A side that never held an item the ancestor lacks cannot have removed it (a coarse "key" entry).
      std::erase_if(cands, [&](const Cand& c) {
        return c.value == nullptr && std::none_of(c.sides.begin(), c.sides.end(), [&](const Dot& d) {
          return side_held(d, leaf, id_key);
        });
      });
    }
    const bool had_open = join_open(leaf.path(), cands);
    if (cands.empty()) return anc != nullptr ? Presence::kMerge : Presence::kAbsent;
    bool any_present = false, any_absent = false;
    for (const Cand& c : cands) (c.value != nullptr ? any_present : any_absent) = true;
    if (!(any_present && any_absent)) {
      if (had_open) out_.settled.push_back(leaf.path());
      return any_present ? Presence::kMerge : Presence::kAbsent;
    }
    conflict(leaf, anc, cands);
    return Presence::kProvisional;
  }

  bool side_held(const Dot& tip, const Leaf& leaf, const std::string& id_key) const {
    for (const Side& s : sides_)
      if (s.tip->version->dot == tip)
        for (const Body* b : s.history)
          if (!b->version->deleted && value_at(b->doc, leaf, id_key) != nullptr) return true;
    return false;
  }

  json merge_group(const std::string& key, const RepeatGroup& group) {
    const std::string& id_key = group.item_id;
    // Items ordered by id ([M6]): the order never depends on which siblings met first.
    std::set<std::string> ids;
    for (const json* d : pool_) {  // the ancestor is in the pool
      auto it = d->find(key);
      if (it != d->end() && it->is_array())
        for (const json& item : *it)
          if (auto f = item.find(id_key); f != item.end() && f->is_string()) ids.insert(f->get<std::string>());
    }

    json out = json::array();
    for (const std::string& id : ids) {
      const Leaf item_leaf{key, id, {}};
      switch (presence(item_leaf, id_key)) {
        case Presence::kAbsent:
          continue;
        case Presence::kProvisional:
          if (const json* p = value_at(prov_, item_leaf, id_key)) out.push_back(*p);
          continue;
        case Presence::kMerge:
          out.push_back(merge_item(item_leaf, group));
          continue;
      }
    }
    return out;
  }

  // Field by field over every key the item has in any body; item fields follow the group's policies.
  json merge_item(const Leaf& item_leaf, const RepeatGroup& group) {
    const std::string& id_key = group.item_id;
    // [M7] An item the ancestor lacks was added whole by the edits that touched it.
    const bool is_new = anc_ == nullptr || value_at(*anc_, item_leaf, id_key) == nullptr;
    std::set<std::string> fields;
    for (const json* d : pool_)
      if (const json* item = value_at(*d, item_leaf, id_key))
        for (auto it = item->begin(); it != item->end(); ++it) fields.insert(it.key());
    json item = json::object();
    for (const std::string& f : fields) {
      const Leaf leaf{item_leaf.key, item_leaf.item, f};
      std::optional<std::string> cover;
      if (is_new) cover = item_leaf.path();
      if (auto v = decide(leaf, cover, policy(group.policies, f), id_key)) item[f] = std::move(*v);
    }
    return item;
  }

  // Borrowed for one run(); merge_fields() keeps them alive.
  const MergeSchema& schema_;
  const std::vector<Side>& sides_;
  const json* anc_;
  const json& prov_;
  const MergeInput& in_;
  const std::map<Dot, VectorClock>& clocks_;
  std::vector<const json*> pool_;  // ancestor and every non-deleted version body: where keys come from
  std::deque<json> owned_;         // values of open candidates (stable addresses)
  FieldMerge out_{json::object(), {}, {}, {}, {}};
};

}  // namespace

FieldMerge merge_fields(const MergeSchema& schema, const std::vector<Side>& sides, const json* ancestor,
                        const json& provisional, const MergeInput& in, const std::map<Dot, VectorClock>& clocks) {
  return Engine(schema, sides, ancestor, provisional, in, clocks).run();
}

}  // namespace akt::sync::detail

namespace akt::sync {

std::optional<std::string> value_at_path(const std::string& body, const std::string& path, const MergeSchema& schema) {
  using nlohmann::json;
  const json doc = json::parse(body, nullptr, false);
  if (!doc.is_object()) return std::nullopt;
  detail::Leaf leaf;
  const std::size_t open = path.find('[');
  leaf.key = path.substr(0, open);
  std::string id_key;
  if (open != std::string::npos) {
    const std::size_t close = path.find(']', open);
    if (close == std::string::npos) return std::nullopt;
    leaf.item = path.substr(open + 1, close - open - 1);
    if (close + 1 < path.size()) {
      if (path[close + 1] != '.') return std::nullopt;
      leaf.field = path.substr(close + 2);
    }
    auto g = schema.repeats.find(leaf.key);
    if (g == schema.repeats.end()) return std::nullopt;
    id_key = g->second.item_id;
  }
  return detail::text_of(detail::value_at(doc, leaf, id_key));
}

}  // namespace akt::sync

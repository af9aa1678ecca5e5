// Planning a merge: the meet of clocks, the ancestor and each sibling's side history. Pure; the store
// only loads (dot, clock) rows and hands them here.
#include "sync/merge.hpp"

#include <algorithm>

namespace akt::sync {

VectorClock meet(const VectorClock& a, const VectorClock& b) {
  VectorClock out;
  // Entries absent from either clock are 0 in the meet, so walk only a's entries.
  for (const auto& [actor, n] : a.entries()) out.advance(actor, std::min(n, b.get(actor)));
  return out;
}

VectorClock meet(const std::vector<VectorClock>& clocks) {
  if (clocks.empty()) return {};
  VectorClock out = clocks.front();
  for (std::size_t i = 1; i < clocks.size(); ++i) out = meet(out, clocks[i]);
  return out;
}

namespace {

const VersionRef* find(const std::vector<VersionRef>& versions, const Dot& dot) {
  for (const VersionRef& v : versions)
    if (v.dot == dot) return &v;
  return nullptr;
}

// strictly a < b
bool before(const VectorClock& a, const VectorClock& b) { return a.leq(b) && !(a == b); }

}  // namespace

Result<MergePlan> plan_merge(const std::vector<VersionRef>& versions, const std::vector<Dot>& siblings) {
  if (siblings.empty()) return Status::invalid_argument("plan_merge: no siblings");
  MergePlan plan;
  plan.siblings = siblings;
  std::sort(plan.siblings.begin(), plan.siblings.end());
  plan.siblings.erase(std::unique(plan.siblings.begin(), plan.siblings.end()), plan.siblings.end());

  // The siblings' clocks; the meet is what all of them have seen.
  std::vector<const VersionRef*> tips;
  std::vector<VectorClock> clocks;
  for (const Dot& d : plan.siblings) {
    const VersionRef* v = find(versions, d);
    if (v == nullptr) return Status::invalid_argument("plan_merge: sibling " + d.actor + ":" +
                                                      std::to_string(d.n) + " is not among the versions");
    tips.push_back(v);
    clocks.push_back(v->clock);
  }

  // The ancestor: a maximal version under the meet; ties (criss-cross) go to the greatest dot so the
  // choice does not depend on row order.
  const VectorClock m = meet(clocks);
  std::vector<const VersionRef*> under;
  for (const VersionRef& v : versions)
    if (v.clock.leq(m)) under.push_back(&v);
  const VersionRef* anc = nullptr;
  for (const VersionRef* v : under) {
    bool dominated = std::any_of(under.begin(), under.end(),
                                 [&](const VersionRef* w) { return before(v->clock, w->clock); });
    if (!dominated && (anc == nullptr || anc->dot < v->dot)) anc = v;
  }
  if (anc != nullptr) plan.ancestor = anc->dot;

  // A side's history: what its sibling has seen that the ancestor has not. Versions concurrent with the
  // ancestor but under the sibling count too: the ancestor's body lacks their changes.
  for (const VersionRef* tip : tips) {
    std::vector<Dot> h;
    for (const VersionRef& v : versions) {
      if (!v.clock.leq(tip->clock)) continue;
      if (anc != nullptr && v.clock.leq(anc->clock)) continue;
      h.push_back(v.dot);
    }
    std::sort(h.begin(), h.end());
    h.erase(std::unique(h.begin(), h.end()), h.end());
    plan.histories.push_back(std::move(h));
  }
  return plan;
}

}  // namespace akt::sync

// Vector clock operations; pure.
#include "sync/vector_clock.hpp"

#include <algorithm>

namespace akt::sync {

std::int64_t VectorClock::get(const std::string& actor) const {
  auto it = entries_.find(actor);
  return it == entries_.end() ? 0 : it->second;
}

void VectorClock::advance(const std::string& actor, std::int64_t n) {
  if (n <= 0) return;
  auto [it, inserted] = entries_.try_emplace(actor, n);
  if (!inserted) it->second = std::max(it->second, n);
}

VectorClock VectorClock::join(const VectorClock& other) const {
  VectorClock out = *this;
  for (const auto& [actor, n] : other.entries_) out.advance(actor, n);
  return out;
}

bool VectorClock::leq(const VectorClock& other) const {
  // Both maps are sorted: walk them together instead of one lookup per entry.
  auto o = other.entries_.begin();
  for (const auto& [actor, n] : entries_) {
    while (o != other.entries_.end() && o->first < actor) ++o;
    if (o == other.entries_.end() || o->first != actor || o->second < n) return false;
  }
  return true;
}

Order VectorClock::compare(const VectorClock& other) const {
  bool le = leq(other);
  bool ge = other.leq(*this);
  if (le && ge) return Order::kEqual;
  if (le) return Order::kBefore;
  if (ge) return Order::kAfter;
  return Order::kConcurrent;
}

VectorClock edit_clock(const VectorClock& context, const Dot& dot) {
  VectorClock out = context;
  out.advance(dot.actor, dot.n);
  return out;
}

}  // namespace akt::sync

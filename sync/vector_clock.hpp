// Vector clocks and dots (DESIGN §2). Pure value types; no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace akt::sync {

// One edit's identity: the actor (device or server replica id, a UUID string) and its counter.
struct Dot {
  std::string actor;
  std::int64_t n = 0;
  friend bool operator==(const Dot&, const Dot&) = default;
  friend auto operator<=>(const Dot&, const Dot&) = default;
};

enum class Order { kEqual, kBefore, kAfter, kConcurrent };

// A map actor -> highest counter seen. Entries with counter 0 are never stored, so two clocks that
// mean the same thing compare equal with operator==.
class VectorClock {
 public:
  VectorClock() = default;

  // Counter for `actor`, 0 when absent.
  std::int64_t get(const std::string& actor) const;
  // Raises the entry for `actor` to at least `n` (never lowers it). REQUIRES: n >= 0.
  void advance(const std::string& actor, std::int64_t n);
  // Pointwise maximum of the two clocks.
  VectorClock join(const VectorClock& other) const;
  // True when every entry of *this is <= the same entry of `other`.
  bool leq(const VectorClock& other) const;
  // Causal order of *this relative to `other`: kBefore means *this < other.
  Order compare(const VectorClock& other) const;
  // True when the dot is covered by the clock (the clock has seen that edit).
  bool contains(const Dot& d) const { return get(d.actor) >= d.n; }

  bool empty() const { return entries_.empty(); }
  std::size_t size() const { return entries_.size(); }
  const std::map<std::string, std::int64_t>& entries() const { return entries_; }

  friend bool operator==(const VectorClock&, const VectorClock&) = default;

 private:
  std::map<std::string, std::int64_t> entries_;
};

// The clock of an edit: its context joined with its own dot.
VectorClock edit_clock(const VectorClock& context, const Dot& dot);

}  // namespace akt::sync

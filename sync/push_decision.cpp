// The push decision of DESIGN §3; pure.
#include "sync/push_decision.hpp"

namespace akt::sync {

const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::kApplied: return "applied";
    case Outcome::kConcurrent: return "concurrent";
    case Outcome::kMerged: return "merged";
    case Outcome::kSuperseded: return "superseded";
    case Outcome::kDuplicate: return "duplicate";
    case Outcome::kRejected: return "rejected";
  }
  return "rejected";
}

namespace {

Decision reject(std::string code, std::string detail) {
  Decision d;
  d.outcome = Outcome::kRejected;
  d.reject_code = std::move(code);
  d.reject_detail = std::move(detail);
  return d;
}

}  // namespace

Decision decide_push(DotStatus dot_status, const std::vector<LiveRef>& live, const Dot& dot,
                     const VectorClock& context) {
  if (dot_status == DotStatus::kAppliedSameContent) return Decision{Outcome::kDuplicate, {}, {}, {}};
  if (dot_status == DotStatus::kAppliedOtherContent) {
    return reject("dot_reuse", "dot " + dot.actor + ":" + std::to_string(dot.n) +
                                   " was already applied with different content");
  }
  if (context.get(dot.actor) >= dot.n) {
    return reject("invalid_context", "the context already contains the edit's own dot");
  }
  const VectorClock clock = edit_clock(context, dot);
  Decision d;
  for (const LiveRef& s : live) {
    switch (s.clock.compare(clock)) {
      case Order::kBefore:
        // Retiring s is only right when the user saw it; a device that forgot its own line of
        // history would otherwise retire edits it never saw (DESIGN §2).
        if (!s.clock.leq(context)) {
          return reject("stale_context", "the edit's context does not contain the device's own earlier edit " +
                                             s.dot.actor + ":" + std::to_string(s.dot.n) + " of this record");
        }
        d.retire.push_back(s.dot);
        break;
      case Order::kEqual:
      case Order::kAfter:
        // Live versions are pairwise concurrent, so an edit dominated by one cannot dominate another.
        return Decision{Outcome::kSuperseded, {}, {}, {}};
      case Order::kConcurrent:
        break;
    }
  }
  const std::size_t remaining = live.size() - d.retire.size();
  d.outcome = remaining == 0 ? Outcome::kApplied : Outcome::kConcurrent;
  return d;
}

}  // namespace akt::sync

// The push decision of DESIGN §3 steps 1-3 as a pure function: live siblings + incoming edit -> outcome.
// The store supplies what it knows (is the dot applied, with which content; the live versions); this
// file decides. No I/O.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sync/vector_clock.hpp"

namespace akt::sync {

enum class Outcome {
  kApplied,     // the edit is the single live version
  kConcurrent,  // the edit is live beside other live versions (siblings; only until they are merged)
  kMerged,      // the edit was concurrent; the server merged it with the siblings into one version
  kSuperseded,  // a live version already covers it; kept in history only
  kDuplicate,   // this dot was applied before with the same content; nothing changes
  kRejected,    // refused; see the reject code
};

const char* to_string(Outcome o);

struct LiveRef {
  Dot dot;
  VectorClock clock;
};

struct Decision {
  Outcome outcome = Outcome::kRejected;
  std::vector<Dot> retire;     // live versions the edit dominates; they move to history
  std::string reject_code;     // machine-readable, when outcome == kRejected
  std::string reject_detail;   // human-readable
};

// What the store knows of the incoming dot before deciding.
enum class DotStatus { kNew, kAppliedSameContent, kAppliedOtherContent };

// Decides the fate of an edit with `dot` and `context` against the record's `live` versions.
// Rules (DESIGN §3): a dot seen with the same content is a duplicate; with other content, dot_reuse.
// The context must not already contain the edit's own dot (invalid_context). A live sibling s with
// clock(s) < clock(edit) retires, but only if the user saw it (clock(s) <= context); otherwise the
// edit claims to have seen an edit it never saw and is rejected as stale_context, so that nothing is
// retired silently. If clock(edit) <= clock(s) for some s, the edit is superseded. Otherwise it becomes
// live: applied when it is then the only live version, concurrent when siblings remain.
Decision decide_push(DotStatus dot_status, const std::vector<LiveRef>& live, const Dot& dot,
                     const VectorClock& context);

}  // namespace akt::sync

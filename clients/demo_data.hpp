// The quickstart's demo data (aktsync-seed): records of all four instruments with varied, realistic
// answers from two tablets, the reviews a supervisor makes of them, three edits the server refuses (the
// quarantine) and the concurrent edits that open one conflict of each inbox kind (PROTOCOL §11.2).
// Deterministic from its arguments (fixed seeds, fixed batch ids), so a second run replays the same
// batches and changes nothing. No I/O.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "sync/wire.hpp"

namespace akt::client {

struct DemoPush {
  int tablet = 0;  // 0 or 1
  sync::PushRequest request;
};

struct DemoReview {
  std::string record;
  std::string status;   // approved | returned
  std::string comment;  // "" for none
};

struct DemoData {
  std::vector<DemoPush> first;       // every record, the quarantined edits and the conflicts' bases
  std::vector<DemoReview> reviews;   // made after `first`, before `then`
  std::vector<DemoPush> then;        // the concurrent edits (one conflict of each kind)
  std::map<std::string, std::size_t> count;  // records per form (live or deletion pending)
  std::size_t expected_rejections = 0;
};

// `surveys` Form A interviews (0 or more) besides the records every demo has: 17 infrastructure cards,
// 56 business follow-ups, 24 municipal service assessments and the conflicts' records.
DemoData make_demo_data(int surveys, const std::string& actor1, const std::string& user1, const std::string& actor2,
                        const std::string& user2);

}  // namespace akt::client

// Reading what arrived of a change-feed page that was cut in transit (PROTOCOL §5.1, resuming a page):
// the entries received whole, so that the pull goes on after the last of them instead of from the
// page's start. Pure text scanning; no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace akt::client {

struct PagePrefix {
  std::string epoch;                 // the page's epoch, when it arrived whole
  std::vector<std::string> entries;  // the JSON text of each entry of `changes` received whole, in order
};

// Scans the beginning of a feed answer ({"v":1,"epoch":"…","changes":[ENTRY,…). An entry is whole when
// its closing brace arrived; anything after the last whole entry is ignored. Never throws.
PagePrefix whole_entries(std::string_view body);

}  // namespace akt::client

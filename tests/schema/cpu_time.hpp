// CPU time of the calling thread, for the tests that bound the cost of hostile input: what a runaway
// parse or match costs, unaffected by a loaded machine the way wall-clock time is.
#pragma once

#include <ctime>

namespace akt::forms::test {

inline double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace akt::forms::test

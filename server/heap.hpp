// How aktsyncd uses the C library's allocator (README, Memory; measured with tests/bench/mem_bench.cpp).
#pragma once

namespace akt::server {

// At process start, before any thread: at most 2 malloc arenas shared by all threads, and a fixed mmap
// threshold of 256 KiB, so that every block from 256 KiB up (request bodies, parse buffers, feed pages,
// answers) is mapped on its own and unmapped when freed. glibc's default threshold grows to the largest
// block freed so far (up to 32 MiB) and its trim threshold with it: big buffers then come from the arenas
// and stay there once freed. An environment variable the operator set (MALLOC_ARENA_MAX,
// MALLOC_MMAP_THRESHOLD_) wins. No effect without glibc.
void configure_heap();

// Gives the allocator's free pages back to the system (malloc_trim(0)): what fragmentation left free
// inside the arenas after a burst of pushes. The server calls it every kHeapTrimSeconds. Thread-safe
// (glibc locks each arena in turn).
void trim_heap();
inline constexpr int kHeapTrimSeconds = 2;

}  // namespace akt::server

// MemoryUsage: a process's resident memory, read from /proc/PID/statm.
//
// statm costs a few microseconds to read (smaps_rollup costs ~1.4 ms), so
// workers can afford it after every job. `rss` is what ps and top show and
// what the soft and hard limits apply to; `anon` leaves out file-backed pages
// (shared code), which is the part that copy-on-write and leaks grow.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace qd {

struct MemoryUsage {
  uint64_t rss = 0;   // bytes
  uint64_t anon = 0;  // bytes: resident minus file-backed and shmem

  // pid 0 = this process. Returns false if the process is gone.
  static bool Read(pid_t pid, MemoryUsage* out);
  // Gives freed heap back to the kernel (glibc keeps it in RSS otherwise),
  // then reads this process.
  static MemoryUsage TrimAndReadSelf();
};

}  // namespace qd

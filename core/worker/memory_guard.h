// MemoryGuard: the worker's soft memory limit, as an IoManager.
//
// Once a second it gives freed heap back with malloc_trim, reads
// /proc/self/statm and sends the master a status report (state and RSS).
// Between those, AfterWork() (after each run chunk) reads statm at most
// every kQuickEvery, and trims only when the reading is over the limit: a
// job that allocated a lot is caught within a chunk or two, and the hot path
// pays three syscalls per 100 ms instead of a trim and a report per chunk
// (which cost 15% of a no-op drain). Over daemon.soft_limit after the trim,
// the worker stops taking work, finishes what it holds and exits with the
// recycle code; the master replaces it at once.
//
// The guard knows nothing of the Worker: it gets the limit and the three
// things it does to its worker as Hooks, so it can be tested alone.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "core/os/memory_usage.h"
#include "queuedaemon/io_manager.h"

namespace qd {

class MemoryGuard : public IoManager {
 public:
  // What the guard asks of its worker. REQUIRES: all three set.
  struct Hooks {
    // True once the worker stopped taking work (for any reason).
    std::function<bool()> draining;
    // Stop taking work, finish what is held, exit with kExitRecycle.
    std::function<void(const std::string& why)> recycle;
    // Tells the master the worker's state ("idle", "draining") and memory.
    std::function<void(const std::string& state, const MemoryUsage& memory)>
        report;
  };

  // `soft_limit`: RSS in bytes (daemon.soft_limit).
  MemoryGuard(uint64_t soft_limit, Hooks hooks);
  void Start() override;
  // Trims, reads, reports. True if over the soft limit (now recycling).
  bool Check();
  // The cheap check after a run chunk (see above).
  void AfterWork();

  static constexpr std::chrono::milliseconds kQuickEvery{100};

 private:
  void OnTimer() override;
  const uint64_t soft_limit_;
  Hooks hooks_;
  std::chrono::steady_clock::time_point next_quick_{};
};

}  // namespace qd

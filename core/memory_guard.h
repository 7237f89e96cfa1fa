// MemoryGuard: the worker's soft memory limit, as an IoManager.
//
// Once a second (and whenever Check() is called, e.g. after a job) it gives
// freed heap back with malloc_trim and reads /proc/self/statm. Over
// daemon.soft_limit, the worker stops taking work, finishes what it holds and
// exits with the recycle code; the master replaces it at once. Each check
// also sends the master a status report (state and RSS).
#pragma once

#include <cstdint>

#include "queuedaemon/io_manager.h"

namespace qd {

class Worker;

class MemoryGuard : public IoManager {
 public:
  explicit MemoryGuard(Worker* worker);
  void Start() override;
  // Returns true if the worker is over the soft limit (and now recycling).
  bool Check();

 private:
  void OnTimer() override;
  Worker* worker_;
};

}  // namespace qd

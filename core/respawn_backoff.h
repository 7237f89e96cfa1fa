// RespawnBackoff: how long a worker slot waits before its next respawn.
//
// Exponential per slot: the first crash waits `initial` (100 ms), each crash
// after that doubles it, up to `cap` (30 s); a worker that lived at least
// `reset_after` (60 s) resets the slot to `initial`. So a crash loop costs
// the master a handful of forks a minute, never a hot loop, and an isolated
// crash is repaired at once. Pure policy: times are passed in, so tests drive
// the clock.
#pragma once

#include <chrono>

namespace qd {

class RespawnBackoff {
 public:
  using Duration = std::chrono::milliseconds;

  RespawnBackoff(Duration initial = Duration(100),
                 Duration cap = Duration(30000),
                 Duration reset_after = Duration(60000));

  // A worker of this slot died after living `lived`; returns the delay before
  // its replacement is started.
  Duration OnCrash(Duration lived);
  // The delay the next crash would get (for logs and status).
  Duration current() const { return next_; }
  void Reset() { next_ = initial_; }

 private:
  Duration initial_;
  Duration cap_;
  Duration reset_after_;
  Duration next_;
};

}  // namespace qd

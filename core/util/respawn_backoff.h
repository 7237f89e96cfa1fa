// RespawnBackoff: how long a worker slot waits before its next respawn.
//
// Exponential per slot: the first crash waits `initial` (100 ms), each crash
// after that doubles it, up to `cap` (30 s); a worker that lived at least
// `reset_after` (60 s) resets the slot to `initial`. So a crash loop costs
// the master a handful of forks a minute, never a hot loop, and an isolated
// crash is repaired at once.
//
// A worker slot also allows a burst (AllowBurst): up to `burst` crashes
// within `window` each wait only `initial`, and the doubling starts past
// that. Workers killed from outside now and then (an OOM killer, an operator,
// a chaos test) are replaced at once however long they lived, while a crash
// loop (a worker dies ~50 ms after start, so ~7 a second) passes the burst
// within seconds and backs off. Pure policy: times are passed in, so tests
// drive the clock.
#pragma once

#include <chrono>
#include <deque>

namespace qd {

class RespawnBackoff {
 public:
  using Duration = std::chrono::milliseconds;

  RespawnBackoff(Duration initial = Duration(100),
                 Duration cap = Duration(30000),
                 Duration reset_after = Duration(60000));

  void AllowBurst(int burst, Duration window) {
    burst_ = burst;
    window_ = window;
  }

  // A worker of this slot died after living `lived`, at `now` (a monotonic
  // clock; only read with a burst allowed); returns the delay before its
  // replacement is started.
  Duration OnCrash(Duration lived, Duration now = Duration(0));
  // The delay the next crash would get (for logs and status).
  Duration current() const { return next_; }
  void Reset() { next_ = initial_; }

 private:
  Duration initial_;
  Duration cap_;
  Duration reset_after_;
  Duration next_;
  int burst_ = 0;
  Duration window_{0};
  std::deque<Duration> recent_;  // crash times within window_, at most burst_+1
};

}  // namespace qd

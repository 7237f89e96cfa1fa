// PollBackoff: the delay before the next poll, the original daemon's way:
// 0 after a hit (poll again at once), else first_delay, 2x, 4x ... capped at
// the poll interval. Pure arithmetic, no clock: the caller owns the timer.
#pragma once

#include <chrono>

namespace qd {

class PollBackoff {
 public:
  using Duration = std::chrono::milliseconds;

  // REQUIRES: interval > 0, first_delay > 0.
  PollBackoff(Duration interval, Duration first_delay);

  // Records the outcome of a poll and returns the delay before the next one.
  Duration Next(bool hit);

 private:
  Duration interval_;
  Duration first_delay_;
  Duration current_{0};
};

}  // namespace qd

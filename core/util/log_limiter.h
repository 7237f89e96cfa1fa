// LogLimiter: at most `burst` log lines per `period` for one kind of line
// that a remote peer can cause at will (a refused connection, an oversize
// frame, a failed login), so that a flood of them costs a few lines, not
// one each. Those held back are counted and said in the next line let
// through. The counters in /status and /metrics still count every event.
// Pure policy: times are passed in, so tests drive the clock. Not
// thread-safe (each loop keeps its own).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace qd {

class LogLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  using Duration = std::chrono::milliseconds;

  explicit LogLimiter(int burst = 5, Duration period = Duration(10000));

  // True when a line may be written at `now`; then *note is "" or, when
  // lines were held back since the last one let through, " (N more like
  // it not logged)", for the end of the line.
  bool Allow(Clock::time_point now, std::string* note);
  uint64_t held_back() const { return held_back_; }

 private:
  const int burst_;
  const Duration period_;
  Clock::time_point window_start_{};
  int in_window_ = 0;       // lines let through since window_start_
  uint64_t held_back_ = 0;  // since the last one let through
};

}  // namespace qd

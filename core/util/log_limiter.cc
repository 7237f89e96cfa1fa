#include "core/util/log_limiter.h"

namespace qd {

LogLimiter::LogLimiter(int burst, Duration period)
    : burst_(burst), period_(period) {}

bool LogLimiter::Allow(Clock::time_point now, std::string* note) {
  if (in_window_ == 0 || now - window_start_ >= period_) {
    window_start_ = now;
    in_window_ = 0;
  }
  if (in_window_ >= burst_) {
    ++held_back_;
    return false;
  }
  ++in_window_;
  note->clear();
  if (held_back_ > 0) {
    *note = " (" + std::to_string(held_back_) + " more like it not logged)";
    held_back_ = 0;
  }
  return true;
}

}  // namespace qd

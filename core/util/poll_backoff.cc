#include "core/util/poll_backoff.h"

#include <algorithm>

namespace qd {

PollBackoff::PollBackoff(Duration interval, Duration first_delay)
    : interval_(interval), first_delay_(std::min(first_delay, interval)) {}

PollBackoff::Duration PollBackoff::Next(bool hit) {
  if (hit) {
    current_ = Duration(0);
  } else if (current_ == Duration(0)) {
    current_ = first_delay_;
  } else {
    current_ = std::min(current_ * 2, interval_);
  }
  return current_;
}

}  // namespace qd

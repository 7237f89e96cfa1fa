#include "core/util/respawn_backoff.h"

#include <algorithm>

namespace qd {

RespawnBackoff::RespawnBackoff(Duration initial, Duration cap,
                               Duration reset_after)
    : initial_(initial), cap_(cap), reset_after_(reset_after), next_(initial) {}

RespawnBackoff::Duration RespawnBackoff::OnCrash(Duration lived, Duration now) {
  if (lived >= reset_after_) {
    next_ = initial_;
    recent_.clear();
  }
  if (burst_ > 0) {
    while (!recent_.empty() && now - recent_.front() >= window_) {
      recent_.pop_front();
    }
    recent_.push_back(now);
    if (recent_.size() > static_cast<size_t>(burst_) + 1) recent_.pop_front();
    if (recent_.size() <= static_cast<size_t>(burst_)) {
      next_ = initial_;
      return initial_;
    }
  }
  Duration delay = next_;
  next_ = std::min(next_ * 2, cap_);
  return delay;
}

}  // namespace qd

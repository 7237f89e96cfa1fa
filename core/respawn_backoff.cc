#include "core/respawn_backoff.h"

#include <algorithm>

namespace qd {

RespawnBackoff::RespawnBackoff(Duration initial, Duration cap,
                               Duration reset_after)
    : initial_(initial), cap_(cap), reset_after_(reset_after), next_(initial) {}

RespawnBackoff::Duration RespawnBackoff::OnCrash(Duration lived) {
  if (lived >= reset_after_) next_ = initial_;
  Duration delay = next_;
  next_ = std::min(next_ * 2, cap_);
  return delay;
}

}  // namespace qd

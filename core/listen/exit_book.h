// ExitBook: exits of the master's children that no one claimed when they
// were reaped, kept a little while for a listener that learns the pid
// later.
//
// A request worker is forked by its listener's fork server but is the
// master's child (ForkSibling), so the master may reap one (a worker that
// crashed at once) before the fork server's answer has told the listener
// its pid. The ListenerSet records such exits here; the listener takes
// one when the pid comes, if it was reaped after the request was sent (an
// older exit is of another process that had the same pid). Bounded: at
// most kMaxEntries, each for at most kMaxAge. Used from the master's loop
// only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <deque>

namespace qd {

class ExitBook {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kMaxEntries = 1024;
  static constexpr std::chrono::seconds kMaxAge{60};

  // `pid` was reaped now with `wait_status`, and no one claimed it.
  void Record(pid_t pid, int wait_status);
  // The exit of `pid` reaped at or after `since`, taken out of the book;
  // false when there is none.
  [[nodiscard]] bool Take(pid_t pid, Clock::time_point since, int* wait_status);
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    pid_t pid;
    int wait_status;
    Clock::time_point reaped;
  };
  void Expire(Clock::time_point now);

  std::deque<Entry> entries_;  // oldest first
};

}  // namespace qd

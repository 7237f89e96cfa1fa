// SubjectLogLimiter: remembers when a message about each subject (a Redis key,
// say) was last logged, so that a condition that persists is logged once and
// then at most once per interval, not on every check.
//
// (LogLimiter, beside it, bounds a burst of lines of one kind instead.)
// Plain data; single-threaded (one per owner, on its loop).
#pragma once

#include <chrono>
#include <string>
#include <unordered_map>

namespace qd {

class SubjectLogLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit SubjectLogLimiter(Clock::duration interval) : interval_(interval) {}

  // True when `subject` was not logged within the interval before `now`
  // (then it counts as logged at `now`).
  bool Allow(const std::string& subject, Clock::time_point now = Clock::now()) {
    auto [it, fresh] = last_.try_emplace(subject, now);
    if (fresh) return true;
    if (now - it->second < interval_) return false;
    it->second = now;
    return true;
  }
  // The condition about `subject` ended: its next message is logged at once.
  void Forget(const std::string& subject) { last_.erase(subject); }

 private:
  Clock::duration interval_;
  std::unordered_map<std::string, Clock::time_point> last_;
};

}  // namespace qd

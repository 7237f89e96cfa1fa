#include "core/listen/exit_book.h"

namespace qd {

void ExitBook::Record(pid_t pid, int wait_status) {
  Clock::time_point now = Clock::now();
  Expire(now);
  if (entries_.size() >= kMaxEntries) entries_.pop_front();
  entries_.push_back({pid, wait_status, now});
}

bool ExitBook::Take(pid_t pid, Clock::time_point since, int* wait_status) {
  Expire(Clock::now());
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->pid != pid || it->reaped < since) continue;
    *wait_status = it->wait_status;
    entries_.erase(it);
    return true;
  }
  return false;
}

void ExitBook::Expire(Clock::time_point now) {
  while (!entries_.empty() && now - entries_.front().reaped > kMaxAge) {
    entries_.pop_front();
  }
}

}  // namespace qd

#include "queuedaemon/io_manager.h"

#include <event2/event.h>

#include "core/util/poll_backoff.h"
#include "core/util/units.h"
#include "core/worker/io_master.h"

namespace qd {

struct IoManager::PollState {
  PollState(std::chrono::milliseconds interval,
            std::chrono::milliseconds first_delay)
      : backoff(interval, first_delay) {}
  PollBackoff backoff;
  bool in_flight = false;
};

IoManager::IoManager(std::string name) : name_(std::move(name)) {}

IoManager::~IoManager() {
  for (auto& [fd, ev] : fd_events_) event_free(ev);
  if (timer_ != nullptr) event_free(timer_);
  if (poll_timer_ != nullptr) event_free(poll_timer_);
}

event_base* IoManager::base() const { return io_->base(); }

void IoManager::WatchReadable(int fd) {
  if (fd_events_.count(fd) != 0) return;
  event* ev =
      event_new(base(), fd, EV_READ | EV_PERSIST, &IoManager::FdCallback, this);
  event_add(ev, nullptr);
  fd_events_[fd] = ev;
}

void IoManager::Unwatch(int fd) {
  auto it = fd_events_.find(fd);
  if (it == fd_events_.end()) return;
  event_free(it->second);
  fd_events_.erase(it);
}

void IoManager::WakeAfter(std::chrono::milliseconds delay) {
  if (timer_ == nullptr) {
    timer_ = evtimer_new(base(), &IoManager::TimerCallback, this);
  }
  timeval tv = ToTimeval(delay);
  evtimer_add(timer_, &tv);
}

void IoManager::CancelWake() {
  if (timer_ != nullptr) evtimer_del(timer_);
}

void IoManager::StartPolling(std::chrono::milliseconds interval,
                             std::chrono::milliseconds first_delay) {
  poll_ = std::make_unique<PollState>(interval, first_delay);
  if (poll_timer_ == nullptr) {
    poll_timer_ = evtimer_new(base(), &IoManager::PollCallback, this);
  }
  timeval now = {0, 0};
  evtimer_add(poll_timer_, &now);
}

void IoManager::StopPolling() {
  if (poll_timer_ != nullptr) evtimer_del(poll_timer_);
  poll_.reset();
}

void IoManager::PollDone(bool hit) {
  if (!poll_ || !poll_->in_flight) return;
  poll_->in_flight = false;
  timeval tv = ToTimeval(poll_->backoff.Next(hit));
  evtimer_add(poll_timer_, &tv);
}

void IoManager::FdCallback(int fd, short, void* arg) {
  static_cast<IoManager*>(arg)->OnReadable(fd);
}

void IoManager::TimerCallback(int, short, void* arg) {
  static_cast<IoManager*>(arg)->OnTimer();
}

void IoManager::PollCallback(int, short, void* arg) {
  auto* self = static_cast<IoManager*>(arg);
  if (!self->poll_) return;
  self->poll_->in_flight = true;
  self->Poll();
}

}  // namespace qd

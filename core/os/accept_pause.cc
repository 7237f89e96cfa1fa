#include "core/os/accept_pause.h"

#include <event2/event.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace qd {

AcceptPause::AcceptPause(event_base* base, std::string name,
                         std::chrono::milliseconds pause, Toggle toggle)
    : name_(std::move(name)),
      pause_(pause),
      toggle_(std::move(toggle)),
      timer_(evtimer_new(base, &AcceptPause::OnResume, this)) {}

AcceptPause::~AcceptPause() {
  if (timer_ != nullptr) event_free(timer_);
}

bool AcceptPause::IsShortage(int error) {
  return error == EMFILE || error == ENFILE || error == ENOBUFS ||
         error == ENOMEM;
}

bool AcceptPause::OnAcceptError(int error) {
  if (!IsShortage(error)) return false;
  if (failures_ == 0) {
    ++episodes_;
    started_ = std::chrono::steady_clock::now();
    spdlog::warn(
        "{}: accept: {}; pausing accepts for {} ms at a time until "
        "descriptors free up",
        name_, std::strerror(error), pause_.count());
  }
  ++failures_;
  paused_ = true;
  toggle_(false);
  timeval tv = {static_cast<time_t>(pause_.count() / 1000),
                static_cast<suseconds_t>(pause_.count() % 1000 * 1000)};
  if (timer_ != nullptr) evtimer_add(timer_, &tv);
  return true;
}

void AcceptPause::OnAccepted() {
  if (failures_ == 0) return;
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started_);
  spdlog::info("{}: accepting again after {} ms ({} failed accepts)", name_,
               took.count(), failures_);
  failures_ = 0;
}

void AcceptPause::OnResume(int, short, void* arg) {
  auto* self = static_cast<AcceptPause*>(arg);
  self->paused_ = false;
  // The next accept tells whether the shortage is over: a failure pauses
  // again without a new warning, a success ends the episode.
  self->toggle_(true);
}

}  // namespace qd

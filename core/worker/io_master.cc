#include "core/worker/io_master.h"

#include <event2/event.h>

#include <stdexcept>

namespace qd {
namespace {
// While draining, how often the IoMaster asks its managers whether they are
// still busy. Managers have no "became idle" hook to call, so a cheap check
// at this pace bounds the exit latency without coupling them to the worker.
constexpr timeval kIdleCheckEvery = {0, 20 * 1000};
}  // namespace

IoMaster::IoMaster() : base_(event_base_new()) {
  if (base_ == nullptr) throw std::runtime_error("event_base_new failed");
}

IoMaster::~IoMaster() {
  if (idle_timer_ != nullptr) event_free(idle_timer_);
  managers_.clear();  // their events belong to base_: free them first
  event_base_free(base_);
}

void IoMaster::Add(std::unique_ptr<IoManager> manager) {
  manager->io_ = this;
  managers_.push_back(std::move(manager));
  if (running_) managers_.back()->Start();
}

int IoMaster::Run() {
  running_ = true;
  for (size_t i = 0; i < managers_.size(); ++i) managers_[i]->Start();
  int rc = event_base_dispatch(base_);
  running_ = false;
  return rc < 0 ? -1 : 0;
}

void IoMaster::Stop() { event_base_loopbreak(base_); }

void IoMaster::Drain(std::function<void()> on_idle) {
  on_idle_ = std::move(on_idle);
  if (!draining_) {
    draining_ = true;
    for (auto& m : managers_) m->Drain();
  }
  if (idle_timer_ == nullptr) {
    idle_timer_ = event_new(base_, -1, EV_PERSIST, &IoMaster::IdleCheck, this);
    event_add(idle_timer_, &kIdleCheckEvery);
  }
  CheckIdle();
}

bool IoMaster::Busy() const {
  for (const auto& m : managers_) {
    if (m->Busy()) return true;
  }
  return false;
}

void IoMaster::IdleCheck(int, short, void* arg) {
  static_cast<IoMaster*>(arg)->CheckIdle();
}

void IoMaster::CheckIdle() {
  if (Busy() || !on_idle_) return;
  auto done = std::move(on_idle_);
  on_idle_ = nullptr;
  event_del(idle_timer_);
  done();
}

}  // namespace qd

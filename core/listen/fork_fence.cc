#include "core/listen/fork_fence.h"

#include <event2/event.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>

#include <algorithm>
#include <iterator>
#include <utility>

#include "core/listen/client_conn.h"

namespace qd {

ForkFence::ForkFence(event_base* base, const ListenerConfig& config,
                     ListenerStats* stats, Owner* owner)
    : config_(config), stats_(stats), owner_(owner) {
  timer_ = evtimer_new(base, &ForkFence::OnTimer, this);
  free_done_ = event_new(base, -1, 0, &ForkFence::OnFreeDone, this);
}

ForkFence::~ForkFence() {
  procs_.clear();
  pending_.clear();
  done_.clear();
  event_free(timer_);
  event_free(free_done_);
}

// --- workers ---

bool ForkFence::MayFork() const {
  // Those already waiting go first (AdmitWaiting lets them through).
  return open_ && !full() && (queue_.empty() || admitting_);
}

WorkerProc* ForkFence::Add(std::unique_ptr<WorkerProc> proc) {
  WorkerProc* p = proc.get();
  ++alive_;
  if (p->pid() <= 0) {
    pending_.push_back(std::move(proc));
    return p;
  }
  procs_.emplace(p->pid(), std::move(proc));
  ++stats_->forks;
  return p;
}

void ForkFence::Forked(WorkerProc* p, pid_t pid) {
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [p](const auto& q) { return q.get() == p; });
  if (it == pending_.end()) return;
  p->set_pid(pid);
  procs_.emplace(pid, std::move(*it));
  pending_.erase(it);
  ++stats_->forks;
}

void ForkFence::ForkFailed(WorkerProc* p) {
  if (p->reaped()) return;
  p->set_reaped();
  --alive_;
  if (p->released()) Done(p);
}

bool ForkFence::Reaped(pid_t pid, int wait_status) {
  auto it = procs_.find(pid);
  if (it == procs_.end()) return false;
  if (WIFSIGNALED(wait_status)) {
    spdlog::warn("listener {}: worker {} killed by signal {}", config_.name,
                 pid, WTERMSIG(wait_status));
  }
  it->second->set_reaped();
  --alive_;
  if (it->second->released()) Done(it->second.get());
  return true;
}

void ForkFence::MakeIdle(WorkerProc* p, Duration keepalive) {
  idle_.push_back(p);
  p->idle_pos_ = std::prev(idle_.end());
  p->state_ = WorkerProc::State::kIdle;
  timeval tv = ToTimeval(keepalive);
  evtimer_add(p->keepalive_timer_, &tv);
}

void ForkFence::Unidle(WorkerProc* p) {
  if (p->state_ != WorkerProc::State::kIdle) return;
  idle_.erase(p->idle_pos_);
  p->state_ = WorkerProc::State::kBound;
  evtimer_del(p->keepalive_timer_);
}

void ForkFence::Release(WorkerProc* p) {
  if (p->state_ == WorkerProc::State::kIdle) idle_.erase(p->idle_pos_);
  if (ClientConn* c = p->conn()) {
    c->set_worker(nullptr);
    p->set_conn(nullptr);
  }
  p->CloseChannel();
  if (p->reaped()) Done(p);
}

void ForkFence::Done(WorkerProc* p) {
  auto it = procs_.find(p->pid());
  if (it != procs_.end() && it->second.get() == p) {
    done_.push_back(std::move(it->second));
    procs_.erase(it);
  } else {  // a fork that failed or was lost: never had a pid
    auto at = std::find_if(pending_.begin(), pending_.end(),
                           [p](const auto& q) { return q.get() == p; });
    if (at == pending_.end()) return;
    done_.push_back(std::move(*at));
    pending_.erase(at);
  }
  // Its callback runs after the callback running now has returned.
  event_active(free_done_, EV_TIMEOUT, 0);
}

void ForkFence::OnFreeDone(int, short, void* arg) {
  static_cast<ForkFence*>(arg)->done_.clear();
}

void ForkFence::Reclaim() {
  if (full() && !idle_.empty()) {
    ++stats_->reclaimed;
    Release(idle_.front());
  }
}

void ForkFence::ReleaseIdle() {
  while (!idle_.empty()) Release(idle_.front());
}

void ForkFence::Terminate(int signal_number) {
  for (auto& [pid, p] : procs_) {
    if (p->released() && !p->reaped()) kill(pid, signal_number);
  }
}

void ForkFence::SignalAll(int signal_number) {
  for (auto& [pid, p] : procs_) {
    if (!p->reaped()) kill(pid, signal_number);
  }
}

int ForkFence::busy() const {
  int n = 0;
  for (const auto& [pid, p] : procs_) n += p->busy() ? 1 : 0;
  for (const auto& p : pending_) n += p->busy() ? 1 : 0;
  return n;
}

// --- waiting connections ---

void ForkFence::Enqueue(uint64_t serial) {
  queue_.push_back({serial, Clock::now()});
  if (!evtimer_pending(timer_, nullptr)) {
    timeval tv = ToTimeval(config_.fence_timeout);
    evtimer_add(timer_, &tv);
  }
}

void ForkFence::Leave(uint64_t serial) {
  queue_.erase(
      std::remove_if(queue_.begin(), queue_.end(),
                     [serial](const Waiter& w) { return w.serial == serial; }),
      queue_.end());
}

void ForkFence::AdmitWaiting() {
  if (!open_) return;
  // Bounded: a connection whose fork fails goes back to the end.
  for (size_t n = queue_.size(); n > 0 && !queue_.empty() && !full(); --n) {
    uint64_t serial = queue_.front().serial;
    queue_.pop_front();
    bool was = admitting_;
    admitting_ = true;
    owner_->Admit(serial);
    admitting_ = was;
  }
}

void ForkFence::OnTimer(int, short, void* arg) {
  static_cast<ForkFence*>(arg)->Timeouts();
}

void ForkFence::Timeouts() {
  Clock::time_point now = Clock::now();
  std::vector<uint64_t> expired;
  while (!queue_.empty()) {
    Duration waited =
        std::chrono::duration_cast<Duration>(now - queue_.front().since);
    if (waited < config_.fence_timeout) {
      timeval tv = ToTimeval(config_.fence_timeout - waited);
      evtimer_add(timer_, &tv);
      break;
    }
    expired.push_back(queue_.front().serial);
    queue_.pop_front();
  }
  if (!expired.empty()) owner_->TimedOut(expired);
}

}  // namespace qd

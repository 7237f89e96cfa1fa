#include "core/supervisor/worker_pool.h"

#include <event2/event.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/os/fork_child.h"
#include "core/os/memory_usage.h"
#include "core/worker/slot_board.h"

namespace qd {
namespace {
// Memory and job deadlines are checked at this pace: a job timeout is
// enforced within this much of its deadline.
constexpr timeval kMemoryCheckEvery = {0, 250 * 1000};
}  // namespace

WorkerPool::WorkerPool(event_base* base, ChildMain child_main)
    : base_(base), child_main_(std::move(child_main)) {
  memory_timer_ =
      event_new(base_, -1, EV_PERSIST, &WorkerPool::MemoryTick, this);
  event_add(memory_timer_, &kMemoryCheckEvery);
}

WorkerPool::~WorkerPool() { event_free(memory_timer_); }

void WorkerPool::Resize(int n) {
  target_ = n;
  WorkerSlot::Owner* owner = this;  // a private base: converted here
  while (static_cast<int>(slots_.size()) < n) {
    slots_.push_back(std::make_unique<WorkerSlot>(
        base_, owner, static_cast<int>(slots_.size())));
  }
  for (auto& slot : slots_) {
    if (slot->index() >= n) {
      slot->Drain();
    } else if (slot->state() == WorkerSlot::State::kEmpty && !draining_) {
      Spawn(slot->index());
    }
  }
}

void WorkerPool::RollOver() {
  ++generation_;
  RollNext();
}

void WorkerPool::RollNext() {
  if (draining_ || rolling_slot_ >= 0) return;
  for (auto& slot : slots_) {
    if (slot->index() < target_ && slot->alive() &&
        slot->generation() < generation_) {
      rolling_slot_ = slot->index();
      spdlog::info("rolling over worker slot {} pid {}", slot->index(),
                   slot->pid());
      slot->Drain();
      return;
    }
  }
}

void WorkerPool::DrainAll() {
  draining_ = true;
  for (auto& slot : slots_) slot->Drain();
}

void WorkerPool::KillAll() {
  for (auto& slot : slots_) {
    if (slot->alive()) kill(slot->pid(), SIGKILL);
  }
}

int WorkerPool::Broadcast(const nlohmann::json& message) {
  int missed = 0;
  for (auto& slot : slots_) {
    if (slot->alive() && !slot->Send(message)) ++missed;
  }
  return missed;
}

bool WorkerPool::OnExit(pid_t pid, int wait_status) {
  for (auto& slot : slots_) {
    if (slot->pid() != pid) continue;
    slot->Exited(wait_status, !draining_ && slot->index() < target_);
    return true;
  }
  return false;
}

int WorkerPool::live() const {
  int n = 0;
  for (const auto& slot : slots_) n += slot->alive() ? 1 : 0;
  return n;
}

int WorkerPool::ready() const {
  int n = 0;
  for (const auto& slot : slots_) {
    if (slot->index() < target_ && slot->state() == WorkerSlot::State::kReady) {
      ++n;
    }
  }
  return n;
}

std::vector<WorkerSnapshot> WorkerPool::Snapshot() const {
  std::vector<WorkerSnapshot> out;
  for (const auto& slot : slots_) {
    if (slot->index() >= target_ && !slot->alive()) continue;
    WorkerSnapshot w;
    w.slot = slot->index();
    w.pid = slot->pid();
    w.state = WorkerSlot::StateName(slot->state());
    w.rss = slot->alive() ? slot->rss() : 0;
    w.started_ms = slot->started_ms();
    w.restarts = std::max(0, slot->incarnation() - 1);
    if (slot->alive() && slot->board() != nullptr) {
      SlotBoard::View v = slot->board()->Read();
      w.jobs = v.jobs;
      w.failed = v.failed;
      w.job = v.job;
      w.job_started_ms = v.job_started_ms;
    }
    out.push_back(std::move(w));
  }
  return out;
}

SlotBoard* WorkerPool::board(int slot) const {
  return slot >= 0 && slot < static_cast<int>(slots_.size())
             ? slots_[slot]->board()
             : nullptr;
}

void WorkerPool::Spawn(int index) {
  WorkerSlot& slot = *slots_[index];
  if (slot.board() != nullptr) slot.board()->Reset();  // before the child
  if (slot.incarnation() > 0) ++counters_.respawned;
  Channel master_end, worker_end;
  Status s = Channel::Pair(&master_end, &worker_end);
  std::string n = std::to_string(index);
  pid_t pid =
      s.ok() ? ForkChild({worker_end.fd()}, "qd-worker-" + n, "worker " + n)
             : -1;
  if (pid == 0) {
    master_end.Release();  // closed by ForkChild
    int code =
        child_main_(index, slot.incarnation() + 1, std::move(worker_end));
    _exit(code);
  }
  if (pid < 0) {
    std::string why = s.ok() ? std::strerror(errno) : s.message();
    auto delay = slot.backoff().OnCrash(std::chrono::milliseconds(0));
    spdlog::error("cannot start worker slot {}: {}; retrying in {}", index, why,
                  FormatDuration(delay));
    slot.ScheduleRespawn(delay);
    return;
  }
  slot.Started(pid, std::move(master_end), generation_);
  spdlog::debug("started worker slot {} pid {}", index, pid);
}

void WorkerPool::SlotReady(int index) {
  spdlog::info("worker slot {} pid {} ready", index, slots_[index]->pid());
  if (index == rolling_slot_) {
    rolling_slot_ = -1;
    RollNext();
  }
  if (on_all_ready_ && ready() == target_) {
    auto cb = std::move(on_all_ready_);
    on_all_ready_ = nullptr;
    cb();
  }
}

void WorkerPool::SlotExited(int, WorkerSlot::Exit how, int64_t jobs,
                            int64_t failed) {
  counters_.jobs += jobs;
  counters_.failed += failed;
  if (how == WorkerSlot::Exit::kRecycled) ++counters_.recycled;
  if (how == WorkerSlot::Exit::kCrashed) ++counters_.crashed;
}

void WorkerPool::MemoryTick(int, short, void* arg) {
  static_cast<WorkerPool*>(arg)->CheckMemory();
}

void WorkerPool::CheckMemory() {
  const DaemonConfig& d = config_->daemon;
  auto now = WorkerSlot::Clock::now();
  for (auto& slot : slots_) {
    if (slot->alive() && slot->JobOverdue(now)) {
      slot->Kill(d.kill_grace, "job " + slot->job() + " ran past its timeout");
      continue;
    }
    Duration silent{0};
    if (slot->HeartbeatLate(now, d.heartbeat_timeout, &silent)) {
      SlotBoard::View v = slot->board()->Read();
      slot->Kill(d.kill_grace,
                 fmt::format("no heartbeat for {} (daemon.heartbeat_timeout "
                             "{}): its loop is stuck{}",
                             FormatDuration(silent),
                             FormatDuration(d.heartbeat_timeout),
                             v.job.empty() ? "" : " in job " + v.job));
      continue;
    }
    MemoryUsage m;
    if (!slot->alive() || !MemoryUsage::Read(slot->pid(), &m)) continue;
    if (m.rss > d.memory_limit) {
      slot->Kill(d.kill_grace,
                 fmt::format("RSS {} is over daemon.memory_limit {}",
                             FormatSize(m.rss), FormatSize(d.memory_limit)));
    }
  }
}

}  // namespace qd

#include "core/supervisor/worker_slot.h"

#include <event2/event.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <string.h>
#include <sys/wait.h>

#include <algorithm>

#include "core/util/exit_codes.h"
#include "core/util/units.h"
#include "core/worker/slot_board.h"

namespace qd {
WorkerSlot::WorkerSlot(event_base* base, Owner* owner, int index)
    : base_(base), owner_(owner), index_(index) {
  respawn_timer_ = evtimer_new(base_, &WorkerSlot::OnRespawn, this);
  kill_timer_ = evtimer_new(base_, &WorkerSlot::OnKillGrace, this);
  board_ = SlotBoard::Create();
  // 30 crashes in 10 s (3 a second) before the doubling: see RespawnBackoff.
  backoff_.AllowBurst(30, std::chrono::seconds(10));
}

WorkerSlot::~WorkerSlot() {
  if (channel_event_ != nullptr) event_free(channel_event_);
  event_free(respawn_timer_);
  event_free(kill_timer_);
  SlotBoard::Destroy(board_);
}

const char* WorkerSlot::StateName(State state) {
  switch (state) {
    case State::kEmpty:
      return "empty";
    case State::kStarting:
      return "starting";
    case State::kReady:
      return "ready";
    case State::kStopping:
      return "stopping";
    case State::kBackoff:
      return "backoff";
    case State::kParked:
      return "parked";
  }
  return "?";
}

void WorkerSlot::Started(pid_t pid, Channel channel, int generation) {
  pid_ = pid;
  channel_ = std::move(channel);
  generation_ = generation;
  ++incarnation_;
  state_ = State::kStarting;
  started_at_ = Clock::now();
  killing_ = false;
  started_ms_ = EpochMs();
  rss_ = 0;
  job_deadline_ = Clock::time_point();
  job_.clear();
  channel_event_ = event_new(base_, channel_.fd(), EV_READ | EV_PERSIST,
                             &WorkerSlot::OnChannel, this);
  event_add(channel_event_, nullptr);
}

void WorkerSlot::Drain() {
  switch (state_) {
    case State::kStarting:
    case State::kReady:
      state_ = State::kStopping;
      // A full channel must not leave the worker running: TERM drains too.
      if (!channel_.Send({{"t", "drain"}})) kill(pid_, SIGTERM);
      break;
    case State::kBackoff:
    case State::kParked:
      CancelRespawn();
      state_ = State::kEmpty;
      break;
    case State::kEmpty:
    case State::kStopping:
      break;
  }
}

bool WorkerSlot::HeartbeatLate(Clock::time_point now, Duration timeout,
                               Duration* silent) const {
  // A job with a timeout of its own is watched by that timeout instead.
  if (!alive() || board_ == nullptr || timeout.count() == 0 ||
      job_deadline_ != Clock::time_point()) {
    return false;
  }
  auto ms = [](Clock::time_point t) {
    return std::chrono::duration_cast<Duration>(t.time_since_epoch()).count();
  };
  int64_t last = std::max(board_->Read().beat_ms, ms(started_at_));
  *silent = Duration(ms(now) - last);
  return *silent > timeout;
}

void WorkerSlot::Kill(std::chrono::milliseconds grace, const std::string& why) {
  if (!alive() || killing_) return;  // once per process: TERM, then KILL
  killing_ = true;
  spdlog::warn("killing worker slot {} pid {}: {}", index_, pid_, why);
  state_ = State::kStopping;
  kill(pid_, SIGTERM);
  timeval tv = ToTimeval(grace);
  evtimer_add(kill_timer_, &tv);
}

void WorkerSlot::Exited(int wait_status, bool may_respawn) {
  auto lived = std::chrono::duration_cast<std::chrono::milliseconds>(
      Clock::now() - started_at_);
  State was = state_;
  pid_t pid = pid_;
  pid_ = 0;
  if (channel_event_ != nullptr) event_free(channel_event_);
  channel_event_ = nullptr;
  channel_.Close();
  evtimer_del(kill_timer_);

  SlotBoard::View last;  // the process's counts join the owner's totals
  if (board_ != nullptr) {
    last = board_->Read();
    board_->Reset();
  }
  bool exited = WIFEXITED(wait_status);
  int code = exited ? WEXITSTATUS(wait_status) : -1;
  std::string how = Describe(wait_status);
  Exit judged;
  if (!may_respawn) {
    judged = Exit::kRetired;
    state_ = State::kEmpty;
    spdlog::info("worker slot {} pid {} {} after {}", index_, pid, how,
                 FormatDuration(lived));
  } else if (exited && code == kExitRecycle) {
    spdlog::info("worker slot {} pid {} recycled after {}: replacing it",
                 index_, pid, FormatDuration(lived));
    judged = Exit::kRecycled;
    ScheduleRespawn(std::chrono::milliseconds(0));
  } else if (exited && code == kExitShutdown) {
    judged = Exit::kParked;
    state_ = State::kParked;
    auto retry = std::chrono::milliseconds(30000);
    spdlog::critical(
        "worker slot {} pid {} was over the soft memory limit at start-up: "
        "not respawning it in a loop; raise daemon.memory_limit or "
        "daemon.soft_limit (next try in {})",
        index_, pid, FormatDuration(retry));
    ScheduleRespawn(retry);
  } else if (exited && code == kExitOk && was == State::kStopping) {
    judged = Exit::kDrained;
    spdlog::info("worker slot {} pid {} drained: replacing it", index_, pid);
    ScheduleRespawn(std::chrono::milliseconds(0));
  } else {
    auto delay = backoff_.OnCrash(
        lived, std::chrono::duration_cast<std::chrono::milliseconds>(
                   Clock::now().time_since_epoch()));
    judged = Exit::kCrashed;
    spdlog::warn("worker slot {} pid {} {} after {}: respawning in {}", index_,
                 pid, how, FormatDuration(lived), FormatDuration(delay));
    ScheduleRespawn(delay);
    state_ = State::kBackoff;
  }
  owner_->SlotExited(index_, judged, last.jobs, last.failed);
}

void WorkerSlot::ScheduleRespawn(std::chrono::milliseconds delay) {
  if (state_ != State::kParked) state_ = State::kBackoff;
  timeval tv = ToTimeval(delay);
  evtimer_add(respawn_timer_, &tv);
}

void WorkerSlot::CancelRespawn() { evtimer_del(respawn_timer_); }

void WorkerSlot::OnChannel(int, short, void* arg) {
  static_cast<WorkerSlot*>(arg)->ReadChannel();
}

void WorkerSlot::OnRespawn(int, short, void* arg) {
  auto* self = static_cast<WorkerSlot*>(arg);
  self->state_ = State::kEmpty;
  self->owner_->Spawn(self->index_);
}

void WorkerSlot::OnKillGrace(int, short, void* arg) {
  auto* self = static_cast<WorkerSlot*>(arg);
  if (!self->alive()) return;
  spdlog::warn("worker slot {} pid {} still alive after TERM: KILL",
               self->index_, self->pid_);
  kill(self->pid_, SIGKILL);
}

void WorkerSlot::ReadChannel() {
  nlohmann::json msg;
  for (;;) {
    Channel::ReadResult r = channel_.Read(&msg);
    if (r == Channel::ReadResult::kAgain) return;
    if (r == Channel::ReadResult::kEof) {
      // The worker is exiting; SIGCHLD will tell how.
      event_del(channel_event_);
      return;
    }
    std::string type = msg.value("t", "");
    rss_ = msg.value("rss", rss_);
    if (type == "job") {
      auto timeout = std::chrono::milliseconds(msg.value("timeout_ms", 0));
      // A handler may enforce the timeout itself (exec kills its command
      // and returns a retry with the reason); the master steps in only
      // after a grace, for handlers stuck where they cannot.
      auto grace = std::min(timeout, std::chrono::milliseconds(2000));
      job_deadline_ = Clock::now() + timeout + grace;
      job_ = msg.value("site", "") + "/" + msg.value("queue", "") + " " +
             msg.value("jid", "") + " (timeout " + FormatDuration(timeout) +
             ")";
    } else if (type == "job_done") {
      job_deadline_ = Clock::time_point();
      job_.clear();
    }
    if (type == "ready" && state_ == State::kStarting) {
      state_ = State::kReady;
      owner_->SlotReady(index_);
    }
  }
}

std::string WorkerSlot::Describe(int wait_status) const {
  if (WIFSIGNALED(wait_status)) {
    int sig = WTERMSIG(wait_status);
    return fmt::format("was killed by signal {} ({})", sig, strsignal(sig));
  }
  return fmt::format("exited with code {}", WEXITSTATUS(wait_status));
}

}  // namespace qd

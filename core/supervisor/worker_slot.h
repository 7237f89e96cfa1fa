// WorkerSlot: one slot of the WorkerPool and the worker process in it.
//
// States, and who moves a slot between them:
//   kEmpty      no process, nothing scheduled (never started, or retired by
//               a shrink)
//   kStarting   forked, waiting for its "ready" message
//   kReady      running and taking work
//   kStopping   asked to drain (shutdown, roll-over, shrink, hard limit)
//   kBackoff    its worker crashed; respawn_timer_ will start the next
//   kParked     its worker was over the soft limit at birth; retried after
//               the backoff cap
// The slot owns its channel event, respawn timer and kill-escalation timer;
// all belong to the master's event_base. It forks nothing and keeps no
// totals itself: what it decides goes up to its Owner (the WorkerPool), the
// one tie from a slot to the pool that holds it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "core/os/channel.h"
#include "core/util/respawn_backoff.h"
#include "core/util/units.h"

struct event;
struct event_base;

namespace qd {

class SlotBoard;

class WorkerSlot {
 public:
  enum class State { kEmpty, kStarting, kReady, kStopping, kBackoff, kParked };
  using Clock = std::chrono::steady_clock;

  // How a slot's process ended, as Exited() judged it.
  enum class Exit {
    kRetired,   // not to be respawned (drain-all or shrink): slot empty
    kRecycled,  // kExitRecycle (soft memory limit): replaced at once
    kParked,    // kExitShutdown (over the soft limit at birth): parked
    kDrained,   // exit 0 after a drain (roll-over): replaced at once
    kCrashed    // anything else: respawned after the backoff
  };

  // What a slot asks of the pool that holds it. Spawn and SlotReady come
  // from the slot's own events (respawn timer, channel), SlotExited from
  // inside Exited(); all on the master's loop.
  class Owner {
   public:
    virtual ~Owner() = default;
    // The respawn timer fired: start a process in `slot` (now kEmpty).
    virtual void Spawn(int slot) = 0;
    // The worker in `slot` reported ready (kStarting -> kReady).
    virtual void SlotReady(int slot) = 0;
    // A process of `slot` was reaped and judged `how`; `jobs` and `failed`
    // are what it finished, for the totals (0 when the slot has no board).
    virtual void SlotExited(int slot, Exit how, int64_t jobs,
                            int64_t failed) = 0;
  };

  // The slot's events belong to `base`. REQUIRES: `base` and `owner`
  // outlive the slot.
  WorkerSlot(event_base* base, Owner* owner, int index);
  ~WorkerSlot();

  // The process was forked; `channel` is the master's end.
  void Started(pid_t pid, Channel channel, int generation);
  // Asks the worker to drain (no-op unless starting or ready).
  void Drain();
  // TERM now, KILL after `grace` if still alive.
  void Kill(std::chrono::milliseconds grace, const std::string& why);
  // The process was reaped. Decides and schedules what comes next.
  void Exited(int wait_status, bool may_respawn);
  // Starts the next worker after `delay` (0 = on the next loop turn).
  void ScheduleRespawn(std::chrono::milliseconds delay);
  void CancelRespawn();

  bool Send(const nlohmann::json& message) { return channel_.Send(message); }

  int index() const { return index_; }
  pid_t pid() const { return pid_; }
  State state() const { return state_; }
  bool alive() const { return pid_ > 0; }
  int generation() const { return generation_; }
  int incarnation() const { return incarnation_; }
  uint64_t rss() const { return rss_; }
  // The job the worker reported running, if its queue has a timeout.
  bool JobOverdue(Clock::time_point now) const {
    return job_deadline_ != Clock::time_point() && now > job_deadline_;
  }
  const std::string& job() const { return job_; }
  // The worker's loop has not beaten (SlotBoard) for longer than `timeout`
  // (0: never late) since it started; *silent gets for how long. Not while
  // a job with a timeout runs: JobOverdue watches that.
  bool HeartbeatLate(Clock::time_point now, Duration timeout,
                     Duration* silent) const;
  // Shared with the worker processes of this slot (null if mmap failed).
  SlotBoard* board() const { return board_; }
  // Epoch ms when the current process started (0 = none).
  int64_t started_ms() const { return pid_ > 0 ? started_ms_ : 0; }
  static const char* StateName(State state);
  RespawnBackoff& backoff() { return backoff_; }

 private:
  static void OnChannel(int fd, short what, void* arg);
  static void OnRespawn(int fd, short what, void* arg);
  static void OnKillGrace(int fd, short what, void* arg);
  void ReadChannel();
  std::string Describe(int wait_status) const;

  event_base* base_;
  Owner* owner_;
  const int index_;
  State state_ = State::kEmpty;
  pid_t pid_ = 0;
  Channel channel_;
  int generation_ = 0;
  int incarnation_ = 0;
  Clock::time_point started_at_;
  bool killing_ = false;  // Kill() was called for the current process
  int64_t started_ms_ = 0;
  SlotBoard* board_ = nullptr;
  uint64_t rss_ = 0;
  std::string job_;  // "SITE/QUEUE JID (timeout 5s)"
  Clock::time_point job_deadline_;
  RespawnBackoff backoff_;
  event* channel_event_ = nullptr;
  event* respawn_timer_ = nullptr;
  event* kill_timer_ = nullptr;
};

}  // namespace qd

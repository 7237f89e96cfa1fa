// ForkFence: a listener's request workers and the connections waiting for
// one (docs/architecture.md, "Multiplex listeners").
//
// At most max_concurrent workers of the listener are alive (asked of the
// fork server, or forked, and not yet reaped). A connection that needs a worker
// when the fence is full waits in arrival order (with its reading paused, by
// its Listener); the oldest idle kept-alive worker is reclaimed (its channel
// closed, so it exits) to make room, and a connection still waiting after
// fence_timeout is handed back to the listener for a BusyReply().
//
// Owns every WorkerProc of the listener (personality fork ones too, which
// only count), the idle list (oldest first) and the waiting queue (exact:
// a connection is in it exactly while it is waiting()). Forking is the
// listener's: the fence says whether it may and counts what was forked. A
// multiplex worker is added when its fork is asked for, before its pid is
// known (pending), and keyed by pid once Forked() says it; a fork that
// failed or was lost (ForkFailed) counts as reaped.
// A worker whose channel is closed and whose process is reaped is done; it
// is freed after the current loop turn, never at once, because the caller
// may be inside that worker's own callback (pgbouncer's "just freed" list).
// Used from the master's loop only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/config/config.h"
#include "core/listen/listener_stats.h"
#include "core/listen/worker_proc.h"
#include "core/util/units.h"

struct event;
struct event_base;

namespace qd {

class ForkFence {
 public:
  // What the fence asks of its listener.
  class Owner {
   public:
    virtual ~Owner() = default;
    // The waiting connection `serial` may fork now: it is out of the queue
    // and should be dispatched (MayFork() lets it through meanwhile).
    virtual void Admit(uint64_t serial) = 0;
    // These connections waited fence_timeout, oldest first; they are out
    // of the queue.
    virtual void TimedOut(const std::vector<uint64_t>& serials) = 0;
  };

  // `config` and `stats` are the listener's and outlive the fence; `forks`
  // and `reclaimed` are counted into `stats`.
  ForkFence(event_base* base, const ListenerConfig& config,
            ListenerStats* stats, Owner* owner);
  // Frees every WorkerProc, reaped or not (their channels close), and the
  // done ones not yet freed.
  ~ForkFence();
  ForkFence(const ForkFence&) = delete;
  ForkFence& operator=(const ForkFence&) = delete;

  // --- workers ---
  // A worker may be forked now: one is free under max_concurrent and no
  // connection waits ahead (or it is the one being admitted).
  // Never while closed (set_open: the listener has no fork server).
  bool MayFork() const;
  // Closed: MayFork() is false and AdmitWaiting() admits no one; waiting
  // connections time out as usual.
  void set_open(bool open) { open_ = open; }
  bool full() const { return alive_ >= config_.max_concurrent; }
  // Counts and keeps a worker just forked, or (pid -1) asked for.
  WorkerProc* Add(std::unique_ptr<WorkerProc> proc);
  // The pending worker `proc` was forked as `pid`.
  void Forked(WorkerProc* proc, pid_t pid);
  // The pending worker `proc` was not forked, or its fork server ended
  // without saying: it counts as reaped (done once released too).
  void ForkFailed(WorkerProc* proc);
  // A reaped child: false when `pid` is not one of ours. Done if its
  // channel is closed (freed after the loop turn); otherwise that comes
  // when it is released.
  bool Reaped(pid_t pid, int wait_status);
  // Keeps `proc` for its connection's next request for `keepalive`.
  // REQUIRES: kBound.
  void MakeIdle(WorkerProc* proc, Duration keepalive);
  // Takes `proc` out of the idle list for its next request (no-op unless
  // kIdle).
  void Unidle(WorkerProc* proc);
  // Unbinds `proc` from its connection and closes its channel, so it
  // exits. Done if it was reaped already: freed after the loop turn, so
  // `proc` stays valid until the current callback returns.
  void Release(WorkerProc* proc);
  // When the fence is full, the oldest idle worker gives way.
  void Reclaim();
  // Releases every idle worker (shutdown).
  void ReleaseIdle();
  // Signals every worker not reaped yet whose channel is closed (the fork
  // personality's, which own their clients, and those on their way out).
  void Terminate(int signal_number);
  // Signals every worker not reaped yet.
  void SignalAll(int signal_number);
  int alive() const { return alive_; }
  int busy() const;
  int idle() const { return static_cast<int>(idle_.size()); }

  // --- waiting connections ---
  // Queues `serial` (waiting since now) and starts the fence timer.
  void Enqueue(uint64_t serial);
  // A waiting connection left (it closed).
  void Leave(uint64_t serial);
  bool has_waiting() const { return !queue_.empty(); }
  int waiting() const { return static_cast<int>(queue_.size()); }
  // Admits waiting connections in arrival order while workers are free.
  void AdmitWaiting();

 private:
  using Clock = std::chrono::steady_clock;
  struct Waiter {
    uint64_t serial;
    Clock::time_point since;
  };

  static void OnTimer(int fd, short what, void* arg);
  void Timeouts();
  // Moves a done worker out of procs_ into done_ (its pid may be reused at
  // once) and has it freed after the loop turn.
  void Done(WorkerProc* proc);
  static void OnFreeDone(int fd, short what, void* arg);

  const ListenerConfig& config_;
  ListenerStats* stats_;
  Owner* owner_;
  std::unordered_map<pid_t, std::unique_ptr<WorkerProc>> procs_;
  // Asked of the fork server, pid not known yet (few: at most
  // max_concurrent).
  std::vector<std::unique_ptr<WorkerProc>> pending_;
  std::vector<std::unique_ptr<WorkerProc>> done_;  // freed after the turn
  event* free_done_ = nullptr;   // activated while done_ is not empty
  int alive_ = 0;                // procs_ not reaped yet: what the fence counts
  std::list<WorkerProc*> idle_;  // kIdle, oldest first
  std::deque<Waiter> queue_;     // waiting connections, in arrival order
  event* timer_ = nullptr;       // the oldest waiter's fence_timeout
  bool admitting_ = false;       // AdmitWaiting is dispatching a waiter
  bool open_ = true;             // set_open
};

}  // namespace qd

// WorkerPool: the master's worker slots 0..N-1 and the processes in them.
//
// Owns one WorkerSlot per slot: the worker's pid, the master's end of its
// channel (a libevent read event in the master's loop), its respawn backoff
// and timers. It forks workers, reads their reports, reaps them (the
// Supervisor forwards SIGCHLD results), and applies the lifecycle rules of
// docs/architecture.md:
//   - crash (signal or unknown exit code): respawn into the same slot after
//     the slot's RespawnBackoff delay (100 ms for the first 30 crashes
//     within 10 s, then doubling to 30 s; reset after a worker lived 60 s);
//   - kExitRecycle: replace at once;
//   - kExitShutdown (over the soft limit at birth): park the slot, log it
//     loudly, try again after the backoff cap;
//   - RSS over daemon.memory_limit (checked every second from
//     /proc/PID/statm): TERM, then KILL after daemon.kill_grace.
// Resize() grows or shrinks the pool; RollOver() replaces every worker, one
// slot at a time, each replacement waiting for the previous one to be ready
// (SIGHUP). DrainAll() stops respawning and asks every worker to drain.
// Single-threaded: used from the master's loop only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "core/config/config.h"
#include "core/monitor/monitor_snapshot.h"
#include "core/os/channel.h"
#include "core/supervisor/worker_slot.h"

struct event;
struct event_base;

namespace qd {

class SlotBoard;

// The pool is each slot's WorkerSlot::Owner: a slot asks it to spawn and
// reports readiness and exits, and the pool keeps the totals.
class WorkerPool : private WorkerSlot::Owner {
 public:
  // Runs in the forked child and returns its exit code. The child has
  // already closed every inherited descriptor but the channel.
  using ChildMain =
      std::function<int(int slot, int incarnation, Channel channel)>;

  WorkerPool(event_base* base, ChildMain child_main);
  ~WorkerPool() override;

  // The config every new worker starts with. REQUIRES: outlives the pool or
  // the next SetConfig.
  void SetConfig(const Config* config) { config_ = config; }
  const Config& config() const { return *config_; }

  // Starts slots up to `n`; drains (without replacing) slots >= n.
  void Resize(int n);
  // Replaces every running worker with one started on the current config,
  // one slot at a time.
  void RollOver();
  // Stops respawning; asks every worker to drain.
  void DrainAll();
  // SIGKILL to every worker (shutdown_timeout passed).
  void KillAll();
  // Sends a message to every live worker; returns how many could not be
  // sent (channel full: the worker is busy in a long handler).
  int Broadcast(const nlohmann::json& message);

  // Called by the Supervisor for every reaped child; returns false if `pid`
  // is not one of the pool's workers.
  bool OnExit(pid_t pid, int wait_status);

  int live() const;   // worker processes alive (any state)
  int ready() const;  // workers that reported ready
  int size() const { return static_cast<int>(slots_.size()); }
  // Since the pool started: replacement processes started into a slot
  // (after a crash, recycle or roll-over), recycles, unexpected exits.
  struct Counters {
    int64_t respawned = 0;
    int64_t recycled = 0;
    int64_t crashed = 0;
    int64_t jobs = 0;    // jobs finished by processes that have exited
    int64_t failed = 0;  // of those, failed
  };
  const Counters& counters() const { return counters_; }
  // Every slot of the current size and every slot still running, by slot.
  std::vector<WorkerSnapshot> Snapshot() const;
  // The slot's shared board (null when it has none); the worker side.
  SlotBoard* board(int slot) const;
  // Called once every slot of the current size is ready (start-up timing).
  void OnAllReady(std::function<void()> cb) { on_all_ready_ = std::move(cb); }

 private:
  // WorkerSlot::Owner.
  void Spawn(int slot) override;
  void SlotReady(int slot) override;
  void SlotExited(int slot, WorkerSlot::Exit how, int64_t jobs,
                  int64_t failed) override;

  void RollNext();
  static void MemoryTick(int fd, short what, void* arg);
  void CheckMemory();

  event_base* base_;
  ChildMain child_main_;
  const Config* config_ = nullptr;
  std::vector<std::unique_ptr<WorkerSlot>> slots_;
  int target_ = 0;
  bool draining_ = false;
  int generation_ = 0;
  int rolling_slot_ = -1;
  std::function<void()> on_all_ready_;
  event* memory_timer_ = nullptr;
  Counters counters_;
};

}  // namespace qd

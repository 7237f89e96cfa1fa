// Worker: the body of one worker process, from just after the fork to exit.
//
// Owns the process's IoMaster and the framework's own IoManagers: the link
// to the master (MasterLink) and the soft memory limit (MemoryGuard); later
// subsystems add theirs (queues, polls, XMPP, stats). Run() returns the exit
// code that tells the master what to do with the slot (core/util/exit_codes.h).
//
// Stop rules: a drain from the master, SIGTERM, or EOF from the master (it
// died) make the worker stop taking work, finish what it holds and exit 0;
// passing the soft limit does the same with kExitRecycle; being over the soft
// limit before taking any work exits kExitShutdown at once.
//
// Test hook (only read on a slot's first start, so a replacement is clean):
// The worker's consumer name in every site's group is HOST:ID:SLOT, so the
// worker that replaces it in its slot replays what it held.
//
// QD_TEST_ALLOC="SLOT:MIB:WHEN" makes worker SLOT allocate and touch MIB MiB,
// WHEN = "start" (before the first memory check: born over the limit),
// "later" (200 ms after ready: recycled) or "block" (then block the loop, so
// only the master's hard limit can stop it). QD_TEST_FDS=N makes every
// worker hold N extra descriptors (XMPP over descriptor numbers > 1024).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "core/config/config.h"
#include "core/os/channel.h"
#include "core/os/memory_usage.h"
#include "core/worker/io_master.h"

namespace qd {

class HandlerSet;
class MemoryGuard;
class QueueManager;
class XmppManager;
class SlotBoard;
class WorkerStats;

class Worker {
 public:
  // `slot` numbers the worker 0..N-1; `incarnation` counts starts of this
  // slot (1 = first). `channel` may be invalid (--no-fork: no master).
  // `handlers` (built by the master before the fork) must outlive Run().
  // `board` (may be null) is the slot's memory shared with the master.
  Worker(const Config& config, const HandlerSet& handlers, int slot,
         int incarnation, Channel channel, SlotBoard* board = nullptr);

  // How many slots the daemon runs (the XMPP accounts are spread over
  // them); 1 unless set. REQUIRES: before Run().
  void set_slots(int slots) { slots_ = slots; }
  // Adds a plugin's IoManager. REQUIRES: before Run().
  void AddManager(std::unique_ptr<IoManager> manager);
  ~Worker();

  // REQUIRES: called once, in the worker process, after the fork.
  int Run();

  // Stop taking work; exit with `code` once idle. The first reason wins.
  void BeginStop(int code, const std::string& why);
  // Stops (or restarts) fetching the jobs of `site` ("*" = every site)
  // without stopping the worker: `queuectl drain` / `resume`.
  void SetPaused(const std::string& site, bool paused);
  // Tells the master this worker's state and memory.
  void Report(const std::string& state, const MemoryUsage& memory);

  IoMaster& io() { return io_; }
  const Config& config() const { return config_; }
  SlotBoard* board() const { return board_; }
  int slot() const { return slot_; }
  Channel& channel() { return channel_; }

 private:
  struct TestAlloc {
    size_t mib = 0;
    std::string when;
  };
  // SIGTERM drains (and SIGINT too without a master); the rest is ignored.
  void HandleSignals();
  // The master link, the memory guard, the queues, XMPP and stats.
  void AddFrameworkManagers();
  TestAlloc ReadTestHook() const;
  void AllocateForTest(size_t mib);
  // The XmppManager and, per site whose xmpp queue it holds, the
  // confirmation poller.
  void AddXmppManagers();
  void OpenTestDescriptors();
  static void OnSignal(int fd, short what, void* arg);

  std::string ConsumerName() const;

  const Config& config_;
  const HandlerSet& handlers_;
  SlotBoard* board_;
  MemoryGuard* memory_guard_ = nullptr;
  WorkerStats* stats_ = nullptr;
  QueueManager* queues_ = nullptr;
  std::map<std::string, bool> paused_;  // SetPaused before Run()
  const int slot_;
  int slots_ = 1;
  const int incarnation_;
  Channel channel_;
  IoMaster io_;
  int signal_fd_ = -1;
  struct event* signal_event_ = nullptr;
  bool stopping_ = false;
  int exit_code_ = 0;
};

}  // namespace qd

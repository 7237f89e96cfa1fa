// IoManager: the base class of everything that does I/O inside a worker.
//
// A worker runs one IoMaster (one libevent event_base, created after the
// fork) and any number of IoManagers added to it: the framework's own
// (queues, polls, XMPP, stats) and those a plugin adds. The IoMaster wakes a
// manager in three ways, each a virtual method to override:
//   - socket input: WatchReadable(fd) -> OnReadable(fd) whenever fd is
//     readable, until Unwatch(fd);
//   - timers: WakeAfter(d) -> OnTimer() once, d from now (a new call moves
//     the deadline);
//   - polling: StartPolling(interval) -> Poll(); the manager answers with
//     PollDone(hit). After a hit the next Poll() comes at once (on the next
//     loop turn); after a miss it comes after 1, 2, 4 ... seconds (the first
//     step is `first_delay`), capped at `interval`: the original daemon's
//     poll backoff.
// Lifecycle: Start() once the loop exists; Drain() when the worker is asked
// to stop taking work (master drain, soft memory limit, master gone); the
// worker exits once every manager's Busy() is false. A manager belongs to
// one worker process and is only ever called from its loop: no locking.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

struct event;
struct event_base;

namespace qd {

class IoMaster;

class IoManager {
 public:
  explicit IoManager(std::string name);
  virtual ~IoManager();
  IoManager(const IoManager&) = delete;
  IoManager& operator=(const IoManager&) = delete;

  const std::string& name() const { return name_; }

  // Called once, from the loop, after the manager was added to a running
  // IoMaster (or when the IoMaster starts running).
  virtual void Start() {}
  // Stop taking new work; finish what is held. May be called more than once.
  virtual void Drain() {}
  // True while work is in flight: the worker waits for false before exiting.
  virtual bool Busy() const { return false; }

 protected:
  // The worker's event_base, for the manager's own libevent events.
  // REQUIRES: the manager was added to an IoMaster.
  event_base* base() const;

  void WatchReadable(int fd);
  void Unwatch(int fd);
  virtual void OnReadable(int fd) { (void)fd; }

  void WakeAfter(std::chrono::milliseconds delay);
  void CancelWake();
  virtual void OnTimer() {}

  void StartPolling(
      std::chrono::milliseconds interval,
      std::chrono::milliseconds first_delay = std::chrono::milliseconds(1000));
  void StopPolling();
  // Called by the manager exactly once per Poll(), possibly later (after an
  // asynchronous reply): `hit` = the poll found work.
  void PollDone(bool hit);
  virtual void Poll() {}

 private:
  friend class IoMaster;
  static void FdCallback(int fd, short what, void* arg);
  static void TimerCallback(int fd, short what, void* arg);
  static void PollCallback(int fd, short what, void* arg);

  std::string name_;
  IoMaster* io_ = nullptr;
  std::map<int, event*> fd_events_;
  event* timer_ = nullptr;
  event* poll_timer_ = nullptr;
  struct PollState;
  std::unique_ptr<PollState> poll_;
};

}  // namespace qd

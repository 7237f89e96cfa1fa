// IoMaster: a worker's event loop and the IoManagers attached to it.
//
// Owns the process's one libevent event_base (created here, so construct it
// after the fork) and the managers added to it. Run() starts every manager
// and dispatches until Stop(). Drain() asks every manager to stop taking
// work and reports back once none is Busy(). Single-threaded: every method
// is called from the loop's own thread.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "queuedaemon/io_manager.h"

struct event;
struct event_base;

namespace qd {

class IoMaster {
 public:
  IoMaster();
  ~IoMaster();
  IoMaster(const IoMaster&) = delete;
  IoMaster& operator=(const IoMaster&) = delete;

  event_base* base() const { return base_; }

  // Takes ownership. Started at once if the loop is running.
  void Add(std::unique_ptr<IoManager> manager);
  size_t size() const { return managers_.size(); }

  // Dispatches until Stop(); returns 0, or -1 if libevent failed.
  int Run();
  void Stop();

  // Asks every manager to drain; calls `on_idle` (once, from the loop) as
  // soon as no manager is Busy(). Later calls replace the callback.
  void Drain(std::function<void()> on_idle);
  bool draining() const { return draining_; }
  bool Busy() const;

 private:
  static void IdleCheck(int fd, short what, void* arg);
  void CheckIdle();

  event_base* base_;
  std::vector<std::unique_ptr<IoManager>> managers_;
  bool running_ = false;
  bool draining_ = false;
  std::function<void()> on_idle_;
  event* idle_timer_ = nullptr;
};

}  // namespace qd

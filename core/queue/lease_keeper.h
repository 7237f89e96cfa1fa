// LeaseKeeper: keeps a worker's jobs from being claimed by others while a
// long handler runs.
//
// A running handler blocks the worker's loop, so the loop cannot renew
// anything. This keeper is one thread per worker with its own synchronous
// Redis connections. The loop brackets each handler call with Begin/End
// (a mutex each, no syscall, no allocation). Every
// kTick the thread looks: when a handler is running and the site's jobs
// were last renewed a quarter of the queue's visibility_timeout ago (a
// quarter, so that a late tick on a loaded machine still comes in time), it
// asks Redis which entries of the site's streams are pending for this
// consumer (XPENDING: the running job, the ones fetched but not started,
// and any a read still in flight delivered) and sends XCLAIM ... 0 IDS
// JUSTID for them, which resets their idle time without counting a
// delivery; then again every quarter. The concurrency slots the worker
// holds under the site's limits are renewed with them (LimitGate).
// Thread safety: between Begin and End the loop does not touch the site's
// queue list (it is inside the handler), and End takes the mutex, so the
// thread reads them only while they are stable.
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace qd {

class SiteConsumer;

class LeaseKeeper {
 public:
  LeaseKeeper();
  ~LeaseKeeper();
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  // Around one handler call. REQUIRES: `site` outlives the call.
  void Begin(SiteConsumer* site, int queue);
  void End();

 private:
  using Clock = std::chrono::steady_clock;
  void Loop();
  void Renew(SiteConsumer* site);
  void RenewLimits(SiteConsumer* site, redisContext* c, std::string* error);
  // The site's connection, made (and logged in) on first use; null with
  // *why when it cannot be made.
  redisContext* Connection(SiteConsumer* site, std::string* why);

  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  SiteConsumer* site_ = nullptr;  // null: no handler running
  int queue_ = 0;
  Clock::time_point started_;
  // By RedisUrl::Key(); thread-owned.
  std::map<std::string, redisContext*> connections_;
  // When each site's held jobs were last renewed (first seen: its first
  // job's start).
  std::map<SiteConsumer*, Clock::time_point> renewed_at_;  // thread-owned
  std::thread thread_;
};

}  // namespace qd

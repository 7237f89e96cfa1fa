// LimitSweep: moves the waiters of a site's limits back to their streams
// when time frees their budget (a start leaving its window, the lease of a
// worker that died): kLimitSweepScript (limit_scripts.h), which says when
// the next bucket is due. Every worker of a site with limited queues runs
// one; the script makes that safe. Runs again when the script says, between
// 10 ms and 1 s (1 s when nothing waits, or after an error): never a spin.
// Loop thread only.
#pragma once

#include <chrono>

#include "core/config/config.h"
#include "core/queue/limit_call.h"
#include "core/redis/redis_client.h"

struct event;
struct event_base;

namespace qd {

class LimitSweep {
 public:
  // `writer` belongs to the caller and outlives this.
  LimitSweep(event_base* base, const SiteConfig& site, RedisClient& writer);
  ~LimitSweep();
  LimitSweep(const LimitSweep&) = delete;
  LimitSweep& operator=(const LimitSweep&) = delete;

  // Sweeps now, then as the script says. No-op once stopped.
  void Start();
  // For good (the site drains).
  void Stop();

 private:
  void Sweep();
  void OnSwept(redisReply* reply);
  void Later(std::chrono::milliseconds delay);

  RedisClient& writer_;
  LimitCall call_;
  bool stopped_ = false;
  event* timer_ = nullptr;
};

}  // namespace qd

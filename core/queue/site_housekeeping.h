// SiteHousekeeping: the periodic work one worker does in Redis for one site,
// beside fetching: taking over entries that sat idle past their queue's
// visibility_timeout (XAUTOCLAIM: a dead worker on any host held them),
// deleting the consumers of workers that are gone (ConsumerSweep),
// promoting delayed jobs that are due (the promoter script), and trimming
// the entries this worker acked from their streams (StreamTrim).
//
// Owned by the site's SiteConsumer, which starts it once the start-up
// replay is done, and uses the consumer's writer connection and queue list.
// Claims run every quarter of the shortest visibility_timeout (between
// 0.1 s and 5 s), with the sweep riding on them now and then; a promotion
// every 500 ms; a trim of each queue this worker acked in once a second,
// and of every queue at Start and every 10 s (what a worker before it or on
// another host left acked, a trim whose reply a lost connection took, what
// another program's group has read since). Claimed entries go back to
// the consumer (with their
// delivery counts) to be held; a queue whose fetch gate is closed is not
// claimed, nor is anything while paused. Single-threaded: the worker's loop.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "core/config/config.h"
#include "core/queue/site_queue.h"
#include "core/redis/redis_client.h"
#include "core/util/subject_log_limiter.h"

struct event;
struct event_base;

namespace qd {

class SiteHousekeeping {
 public:
  // Takes claimed entries (the last XPENDING reply filled in their delivery
  // counts); may move them out.
  using Claimed = std::function<void(std::vector<HeldJob>* claimed)>;

  // `site`, `writer`, `queues` and `consumer` (HOST:ID:SLOT) belong to the
  // caller and must outlive this. Only the trim writes to `queues` (their
  // `untrimmed` counts).
  SiteHousekeeping(event_base* base, const SiteConfig& site,
                   RedisClient& writer, std::vector<SiteQueue>& queues,
                   const std::string& consumer, Claimed claimed);
  ~SiteHousekeeping();
  SiteHousekeeping(const SiteHousekeeping&) = delete;
  SiteHousekeeping& operator=(const SiteHousekeeping&) = delete;

  // Promotes and trims every queue now, claims after one period; again (a
  // replay after a reconnect finished) restarts all three. No-op once
  // stopped.
  void Start();
  // Promotes at once (the writer connected again). No-op once stopped.
  void PromoteNow();
  // Paused: no claims (nor sweeps); promotions go on.
  void set_paused(bool paused) { paused_ = paused; }
  // For good (the site drains): no more ticks.
  void Stop();

 private:
  void ClaimTick();
  void OnClaimed(size_t queue, redisReply* reply);  // XAUTOCLAIM's
  void SweepTick();
  void PromoteTick();
  void OnPromoted(redisReply* reply);
  // `all`: every queue, else those with untrimmed entries.
  void TrimTick(bool all);

  const SiteConfig& site_;
  RedisClient& writer_;
  std::vector<SiteQueue>& queues_;
  const std::string& consumer_;
  Claimed claimed_;
  std::string tag_;  // PREFIX:{SITE}:
  std::string delayed_key_;
  bool stopped_ = false;
  bool paused_ = false;
  event* claim_timer_ = nullptr;
  event* promote_timer_ = nullptr;
  event* trim_timer_ = nullptr;
  int trim_ticks_ = 0;
  std::chrono::milliseconds claim_every_{5000};
  std::chrono::steady_clock::time_point next_sweep_;
  SubjectLogLimiter log_limiter_{std::chrono::minutes(1)};
  SubjectLogLimiter trim_log_{std::chrono::minutes(1)};
};

}  // namespace qd
